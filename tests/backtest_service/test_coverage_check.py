"""The API's coverage check (strategies/backtest/coverage_check.py, open times only) names
exactly the ranges the run's own load_history would refuse, for the layouts a user meets: all
there, a hole in the range, no warm-up, and two sources of which the fuller one is read.

Why: the API answers 422 DATA_COVERAGE from this check without loading the candles; if it
disagreed with the run, a run would start and then fail on the gap, or be refused for none."""

from __future__ import annotations

from sqlalchemy import delete

from db.candles import store_candles
from db.models import CandleRecord
from db.session import Sessions
from domain.market import Interval
from strategies.backtest.contract import CoverageError
from strategies.backtest.coverage_check import missing_candles
from strategies.backtest.history import load_history
from tests.backtest.support import (
    HOUR,
    START,
    T0,
    candle,
    config,
    database,
    store_bars,
    store_hourly,
)


async def _engine_missing(sessions: Sessions, steps: int) -> list[tuple[str, str, int, int]]:
    try:
        await load_history(sessions, config(steps))
    except CoverageError as err:
        return err.missing
    return []


async def test_complete_candles_miss_nothing(sqlite_url: str) -> None:
    async with database(sqlite_url) as sessions:
        await store_hourly(sessions, ["100"] * 10)
        assert await missing_candles(sessions, config(10)) == []
        assert await _engine_missing(sessions, 10) == []


async def test_a_hole_in_the_range(sqlite_url: str) -> None:
    async with database(sqlite_url) as sessions:
        await store_hourly(sessions, ["100"] * 10)
        async with sessions() as s, s.begin():
            await s.execute(
                delete(CandleRecord).where(
                    CandleRecord.open_time_ms.in_([START + 2 * HOUR, START + 3 * HOUR])
                )
            )
        expected = [("BTC", "1h", START + 2 * HOUR, START + 4 * HOUR)]
        assert await missing_candles(sessions, config(10)) == expected
        assert await _engine_missing(sessions, 10) == expected


async def test_no_warm_up(sqlite_url: str) -> None:
    async with database(sqlite_url) as sessions:
        await store_bars(sessions, ["100"] * 10, first_open=START - HOUR)
        expected = [("BTC", "1h", T0, START - HOUR)]
        assert await missing_candles(sessions, config(10)) == expected
        assert await _engine_missing(sessions, 10) == expected


async def test_the_fuller_source_is_the_one_checked(sqlite_url: str) -> None:
    """`test` holds the run's 10 bars only; `other` the warm-up too but one bar short: the run
    reads `other` (more bars in the range), so that one bar is what is missing."""
    async with database(sqlite_url) as sessions:
        await store_bars(sessions, ["100"] * 10, first_open=START - HOUR)
        hole = START + 5 * HOUR
        opens = [T0 + i * HOUR for i in range(109) if T0 + i * HOUR != hole]
        candles = [candle(t, "100") for t in opens]
        await store_candles(sessions, "other", "BTC", Interval.H1, candles)
        expected = [("BTC", "1h", hole, hole + HOUR)]
        assert await missing_candles(sessions, config(10)) == expected
        assert await _engine_missing(sessions, 10) == expected
