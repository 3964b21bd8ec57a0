"""No lookahead (backtesting.md 8.11 test 9): three independent checks that a strategy never
sees a candle or a funding rate from after its decision time, nor a forming candle of a longer
interval, on a 15m run over 1m/5m/15m/1h data."""

from __future__ import annotations

import random
import shutil
from dataclasses import replace
from decimal import Decimal as D
from pathlib import Path
from typing import Any

from db.candles import store_candles
from domain.market import Interval
from strategies.backtest.contract import StepInput
from strategies.backtest.engine import BacktestEngine
from strategies.backtest.history import MarketHistory, Series, load_history
from tests.backtest.lookahead_support import (
    Trend,
    all_intervals,
    decision_content,
    fills,
    minutes,
)
from tests.backtest.support import HOUR, SOURCE, config, database, store_funding

M15 = Interval.M15.ms
START = 1_735_689_600_000 + 101 * HOUR  # 101 hours of warm-up from 2025-01-01
FIRST = START - 101 * HOUR
STEPS = 48  # 12 hours of 15m decisions
N_MINUTES = 101 * 60 + STEPS * 15
RATES = {START - 2 * HOUR + i * HOUR: str(D(i % 7 - 3) / 10000) for i in range(16)}


def cfg(steps: int = STEPS) -> Any:
    end = START + (steps - 1) * M15
    return config(steps, interval=Interval.M15, start_ms=START, end_ms=end, funding=True)


def history(c: Any, candles: dict[Interval, Any], rates: dict[int, str]) -> MarketHistory:
    series = {("BTC", iv): Series(iv, cs) for iv, cs in candles.items()}
    funding = {"BTC": sorted((t, D(r)) for t, r in rates.items())}
    return MarketHistory(c, series, funding, {"BTC": SOURCE})


async def backtest(c: Any, h: MarketHistory, decider: Trend) -> Any:
    engine = BacktestEngine(c, h)
    await engine.run(decider)
    return engine.report()


async def test_a_run_cut_at_t_decides_and_fills_as_the_full_run_up_to_t() -> None:
    """Truncation invariance: for cut points T, everything a run ending at T saw, decided and
    filled before T equals the full run's."""
    data = all_intervals(minutes(FIRST, N_MINUTES, seed=7))
    full_decider = Trend("15m")
    full = await backtest(cfg(), history(cfg(), data, RATES), full_decider)
    assert len(full.trades) >= 3  # the strategy trades: the check has something to compare
    for cut in sorted(random.Random(3).sample(range(2, STEPS), 10)):
        t = START + (cut - 1) * M15
        part_decider = Trend("15m")
        part = await backtest(cfg(cut), history(cfg(cut), data, RATES), part_decider)
        assert part_decider.seen == {k: v for k, v in full_decider.seen.items() if k <= t}
        assert decision_content(part.decisions, t) == decision_content(full.decisions, t)
        assert fills(part.decisions, t) == fills(full.decisions, t)
        assert part.equity[:-1] == [p for p in full.equity if p[0] < t]
        closed = [x for x in full.trades if x["closed_at_ms"] < t - M15]
        assert [x for x in part.trades if x["exit_reason"] != "end_of_backtest"][
            : len(closed)
        ] == closed


async def test_changing_the_future_changes_no_decision_before_it(
    sqlite_url: str, migrated_template: Path
) -> None:
    """Future-perturbation canary: every candle not closed by T multiplied by 10 and every
    funding rate after T negated (stored in the database, read by load_history): the decisions
    up to T and everything they saw are the same."""
    data = all_intervals(minutes(FIRST, N_MINUTES, seed=11))
    t = START + 20 * M15

    def perturbed(iv: Interval, cs: list[Any]) -> list[Any]:
        ten = D(10)
        return [c if c.open_time_ms + iv.ms <= t else replace(
            c, open=c.open * ten, high=c.high * ten, low=c.low * ten, close=c.close * ten)
            for c in cs]  # fmt: skip

    flipped = {f: (r if f <= t else str(-D(r))) for f, r in RATES.items()}
    runs = []
    for candles, rates in (
        (data, RATES),
        ({iv: perturbed(iv, cs) for iv, cs in data.items()}, flipped),
    ):
        url = sqlite_url if not runs else sqlite_url.replace("test.db", "future.db")
        if runs:
            shutil.copyfile(migrated_template, url.removeprefix("sqlite:///"))
        async with database(url) as sessions:
            for iv, cs in candles.items():
                await store_candles(sessions, SOURCE, "BTC", iv, cs)
            await store_funding(sessions, rates)
            decider = Trend("15m")
            engine = BacktestEngine(cfg(), await load_history(sessions, cfg()))
            await engine.run(decider)
        runs.append((decider, engine.report()))
    (a, ra), (b, rb) = runs
    assert {k: v for k, v in a.seen.items() if k <= t} == {
        k: v for k, v in b.seen.items() if k <= t
    }
    assert decision_content(ra.decisions, t) == decision_content(rb.decisions, t)
    assert a.seen != b.seen  # the perturbation is visible after T


def peek(step: StepInput, snap: dict[str, Any]) -> None:
    """What a peeking strategy asserts on every snapshot: only closed candles, at most 100
    intervals back; the price is the close of the 1m candle that closed at the decision."""
    t = step.at_ms
    for name, rows in snap["klines"]["BTC"].items():
        iv = Interval(name).ms
        assert rows, name
        assert all(r[0] + iv <= t for r in rows), f"{name}: a candle closing after {t}"
        assert all(r[0] + iv > t - 100 * iv for r in rows), name
        assert rows[-1][0] + iv > t - iv, f"{name}: the last closed candle is missing"
    one_minute = snap["klines"]["BTC"]["1m"][-1]
    assert one_minute[0] + 60_000 == t and D(snap["prices"]["BTC"]) == D(str(one_minute[4]))
    # settled rates only: those at or before t
    assert len(snap["funding_history"]["BTC"]) == sum(1 for f in RATES if f <= t)
    last = max(f for f in RATES if f <= t)
    assert snap["funding"]["BTC"] == snap["funding_history"]["BTC"][-1] == RATES[last]


async def test_a_peeking_strategy_sees_closed_candles_only() -> None:
    """At 10:15 the 1h candle opened at 10:00 is forming: never shown; the 1h rows end with
    the one that closed at 10:00."""
    data = all_intervals(minutes(FIRST, N_MINUTES, seed=5))
    decider = Trend("15m", check=peek)
    report = await backtest(cfg(), history(cfg(), data, RATES), decider)
    assert len(decider.seen) == STEPS and report.metrics["decisions"]["failed"] == 0
