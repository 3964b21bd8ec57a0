"""Stored history must cover the run: a missing decision bar (warm-up included) refuses it with
the exact missing range, the API's 422 DATA_COVERAGE; with allow_gaps the bars without data
are skipped (no decision, no fill) and counted."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from db.candles import store_candles
from db.session import Sessions
from domain.market import Interval
from strategies.backtest.contract import CoverageError
from strategies.backtest.history import load_history
from tests.backtest.support import (
    HOUR,
    START,
    T0,
    Script,
    candle,
    config,
    database,
    long,
    run,
    store_bars,
)


async def _store_with_hole(sessions: Sessions, hole: set[int]) -> None:
    """Flat 100 bars for the warm-up and 6 run bars, without the bars at the `hole` indexes."""
    candles = [candle(T0 + i * HOUR, "100") for i in range(105) if i not in hole]
    await store_candles(sessions, "test", "BTC", Interval.H1, candles)


async def test_a_missing_bar_in_the_range_refuses_the_run_with_the_range(sqlite_url: str) -> None:
    """Bars 101 and 102 (opens START + 1h and + 2h) missing: [START + 1h, START + 3h)."""
    async with database(sqlite_url) as sessions:
        await _store_with_hole(sessions, {101, 102})
        with pytest.raises(CoverageError) as err:
            await load_history(sessions, config(6))
    assert err.value.missing == [("BTC", "1h", START + HOUR, START + 3 * HOUR)]


async def test_a_missing_warm_up_bar_refuses_the_run_too(sqlite_url: str) -> None:
    """The first decision needs the 100 bars before it, as live shows 100 closed candles."""
    async with database(sqlite_url) as sessions:
        await _store_with_hole(sessions, {0})
        with pytest.raises(CoverageError) as err:
            await load_history(sessions, config(6))
    assert err.value.missing == [("BTC", "1h", T0, T0 + HOUR)]


async def test_no_candles_at_all_is_one_missing_range(sqlite_url: str) -> None:
    async with database(sqlite_url) as sessions:
        with pytest.raises(CoverageError) as err:
            await load_history(sessions, config(6))
    assert err.value.missing == [("BTC", "1h", T0, START + 5 * HOUR)]


async def test_allow_gaps_skips_the_bars_without_data(sqlite_url: str) -> None:
    """Bar 2 (open START + 1h) missing: its close (step 2) is no decision and it holds no fill;
    the long decided at c1 waits for bar 3 and fills at its open, START + 2h."""
    async with database(sqlite_url) as sessions:
        await _store_with_hole(sessions, {101})
        script = Script({1: long()})
        report = await run(sessions, config(6, allow_gaps=True), script)
    assert [s.step for s in script.seen] == [0, 1, 3, 4, 5]
    assert report.metrics["data_gaps"] == 1
    assert [p[0] for p in report.equity] == [START + k * HOUR for k in (0, 1, 3, 4, 5)]
    assert report.trades[0]["opened_at_ms"] == START + 2 * HOUR
    assert any("1 bars without data" in w for w in report.metrics["warnings"])


async def test_a_missing_snapshot_interval_is_a_warning(sqlite_url: str) -> None:
    """Only 1h stored: the run goes on, showing no 1m/5m/15m candles, and says so."""
    async with database(sqlite_url) as sessions:
        await store_bars(sessions, ["100"] * 105)
        report = await run(sessions, config(6), Script())
    assert report.metrics["warnings"][:3] == [
        f"no stored {iv} candles for BTC: none shown" for iv in ("1m", "5m", "15m")
    ]
    assert D(report.equity[-1][1]) == D(10000)
