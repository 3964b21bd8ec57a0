"""The loop's bookkeeping around the fills: denials and rejections recorded like live, progress
reported on schedule, and a step interrupted part way (a cancellation) leaving no trace."""

from __future__ import annotations

import asyncio
from decimal import Decimal as D
from typing import Any

import pytest

from domain.decision import Decision
from domain.market import Interval
from strategies.backtest.contract import DEFAULT_LIMITS, StepInput, StepOutcome
from strategies.backtest.engine import BacktestEngine
from strategies.backtest.history import MarketHistory, Series
from tests.backtest.support import HOUR, T0, Script, candle, config, in_memory, long, short


def wavy(n: int) -> list[tuple[str, str, str, str]]:
    return [
        (str(100 + i % 5), str(102 + i % 5), str(98 + i % 5), str(100 + (i + 1) % 5))
        for i in range(n)
    ]


async def test_a_denied_decision_is_recorded_with_its_code() -> None:
    """The same risk gate as live: 2000 USD against a 1000 USD notional limit."""
    cfg = config(3, limits=DEFAULT_LIMITS)
    engine = BacktestEngine(cfg, in_memory(cfg, ["100"] * 3))
    await engine.run(Script({0: long("2000")}))
    report = engine.report()
    assert [(d["status"], d["code"]) for d in report.decisions] == [
        ("denied", "NOTIONAL_EXCEEDS_MAX")
    ]
    assert report.metrics["denied_by_code"] == {"NOTIONAL_EXCEEDS_MAX": 1}
    assert report.metrics["decisions"]["denied"] == 1 and report.trades == []


async def test_a_fill_the_paper_account_refuses_is_recorded_rejected() -> None:
    """1000 USD at 1x on a 1000 USD account passes the gate (margin 1000 <= 1000) but not the
    paper fill, which also needs the fee: INSUFFICIENT_MARGIN, as live paper answers."""
    cfg = config(3, initial_balance=D(1000))
    engine = BacktestEngine(cfg, in_memory(cfg, ["100"] * 3))
    await engine.run(Script({0: long("1000")}))
    report = engine.report()
    assert [(d["status"], d["code"]) for d in report.decisions] == [
        ("rejected", "INSUFFICIENT_MARGIN")
    ]
    assert report.metrics["decisions"]["rejected"] == 1 and report.trades == []


async def test_progress_is_reported_every_250_steps_and_at_the_end() -> None:
    cfg = config(600)
    engine = BacktestEngine(cfg, in_memory(cfg, wavy(600)))
    calls: list[tuple[int, int]] = []

    async def progress(done: int, total: int, equity: D) -> None:
        calls.append((done, total))

    await engine.run(Script(), progress=progress)
    assert (250, 600) in calls and (500, 600) in calls and calls[-1] == (600, 600)


async def test_progress_is_reported_at_least_every_second() -> None:
    """Slow steps (a slow program): the activity's heartbeat must not wait for 250 of them."""
    cfg = config(8)
    engine = BacktestEngine(cfg, in_memory(cfg, wavy(8)))
    calls: list[int] = []

    async def slow(step: StepInput) -> StepOutcome:
        await asyncio.sleep(0.35)
        return StepOutcome(Decision(operation="hold"))

    async def progress(done: int, total: int, equity: D) -> None:
        calls.append(done)

    await engine.run(slow, progress=progress)
    assert len([c for c in calls if c < 8]) >= 2, calls


def busy(k: int) -> Decision:
    if k % 6 == 0:
        return long(leverage=D(3), take_profit_pct=D(2), stop_loss_pct=D(1))
    if k % 6 == 3:
        return short(leverage=D(2), stop_loss_pct=D(3))
    return Decision(operation="close", symbol="BTC")


async def test_a_cancellation_in_a_step_leaves_the_engine_as_before_the_step() -> None:
    """Cancelled while deciding (after that step's funding, fills and triggers ran): the step
    is undone, so running on gives exactly the uninterrupted report."""
    cfg = config(30, funding=True)
    rates = {cfg.start_ms + i * 3_600_000: "0.0002" for i in range(30)}
    history = in_memory(cfg, wavy(30), rates)

    async def decide(step: StepInput) -> StepOutcome:
        return StepOutcome(busy(step.step))

    straight = BacktestEngine(cfg, history)
    await straight.run(decide)
    cancelled_once: set[int] = set()

    async def interrupted(step: StepInput) -> StepOutcome:
        if step.step in (7, 19) and step.step not in cancelled_once:
            cancelled_once.add(step.step)
            raise asyncio.CancelledError
        return await decide(step)

    engine = BacktestEngine(cfg, history)
    for _ in range(2):
        with pytest.raises(asyncio.CancelledError):
            await engine.run(interrupted)
        assert engine.steps_done in (7, 19)
        assert len(engine.report().equity) == engine.steps_done
    await engine.run(interrupted)
    assert engine.report() == straight.report()


async def test_a_cancellation_in_progress_propagates_after_a_whole_step() -> None:
    cfg = config(300)
    engine = BacktestEngine(cfg, in_memory(cfg, wavy(300)))

    async def progress(done: int, total: int, equity: D) -> None:
        raise asyncio.CancelledError

    with pytest.raises(asyncio.CancelledError):
        await engine.run(Script(), progress=progress)
    assert engine.steps_done >= 1 and len(engine.report().equity) == engine.steps_done


async def test_two_symbols_share_one_account() -> None:
    """BTC (10 at 100, fee 1) then ETH (0.5 at 2000, fee 1) on one account, both closed at the
    end: BTC at 101 (fee 1.01), ETH at 2010 (fee 1.005), in symbol order."""
    cfg = config(3, symbols=("BTC", "ETH"))
    btc = in_memory(cfg, ["100", "100", "101"]).series[("BTC", Interval.H1)]
    eth_bars: list[Any] = ["2000"] * 101 + [("2000", "2010", "2000", "2010")]
    eth = Series(Interval.H1, [candle(T0 + i * HOUR, b) for i, b in enumerate(eth_bars)])
    history = MarketHistory(
        cfg, {("BTC", Interval.H1): btc, ("ETH", Interval.H1): eth}, {}, {"BTC": "t", "ETH": "t"}
    )
    eth_long = Decision(operation="long", symbol="ETH", size_usd=D(1000))
    engine = BacktestEngine(cfg, history)
    await engine.run(Script({0: long(), 1: eth_long}))
    report = engine.report()
    assert [(t["symbol"], t["size"], t["net_pnl"]) for t in report.trades] == [
        ("BTC", "10", "7.99"),
        ("ETH", "0.5", "2.995"),
    ]
    # c1: 9999; c2 before the closes 9998 + 10 x 1 + 0.5 x 10 = 10013, after: - 2.015
    assert [p[1] for p in report.equity] == ["10000", "9999", "10010.985"]
    assert report.metrics["market_change_pct"] == "0.75"  # (1 % + 0.5 %) / 2
