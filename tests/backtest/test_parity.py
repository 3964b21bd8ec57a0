"""Parity with the live path (backtesting.md 8.11 test 7): the reference decider runs a real
program in the real sandbox on every step's full snapshot, and that snapshot is the one live
code builds at the same time from the same candles (`market_snapshot` over the stored history
as a MarketFeed, `snapshot_dict`, the paper account's view): so the program decides in the
backtest exactly what it would decide live on those candles."""

from __future__ import annotations

import random
from decimal import Decimal as D
from typing import Any

from adapters.exchanges.paper import PaperExchange
from adapters.market.snapshot import market_snapshot, snapshot_dict
from domain.decision import Decision
from domain.paper import account_from_dict
from sandbox.runner import run_program
from strategies.backtest.contract import StepInput, StepOutcome
from strategies.backtest.engine import TRIGGER, BacktestEngine
from strategies.backtest.history import HistoricalFeed, load_history
from strategies.backtest.snapshot_decider import ProgramSnapshotDecider
from tests.backtest.support import config, database, store_hourly

# The README's program.
RSI = """
class Strategy:
    def should_trade(self, data):
        rsi = data.get_indicator("BTC", "rsi", 14)
        held = {p["symbol"] for p in data.get_positions()}
        if "BTC" in held:
            return Decision(operation="hold", reasoning=f"already in BTC, RSI {rsi:.1f}")
        side = "long" if rsi < 50 else "short"   # mean reversion around 50
        return Decision(operation=side, symbol="BTC", size_usd=200, leverage=3,
                        take_profit_pct=5, stop_loss_pct=2, reasoning=f"RSI {rsi:.1f}")
"""
STEPS = 30


def walk(n: int, seed: int) -> list[tuple[str, str, str, str]]:
    rng, level, out = random.Random(seed), 100.0, []
    for _ in range(n):
        o, c = level, level * (1 + rng.gauss(0, 0.015))
        h, low = (
            max(o, c) * (1 + abs(rng.gauss(0, 0.004))),
            min(o, c) * (1 - abs(rng.gauss(0, 0.004))),
        )
        out.append(tuple(f"{x:.2f}" for x in (o, h, low, c)))  # type: ignore[arg-type]
        level = float(f"{c:.2f}")
    return out


class Recording:
    def __init__(self, inner: ProgramSnapshotDecider) -> None:
        self.inner = inner
        self.steps: list[tuple[StepInput, dict[str, Any], StepOutcome]] = []

    async def __call__(self, step: StepInput) -> StepOutcome:
        outcome = await self.inner(step)
        self.steps.append((step, step.snapshot(), outcome))
        return outcome


async def test_the_program_decides_on_the_live_snapshot_and_as_live(sqlite_url: str) -> None:
    cfg = config(STEPS)
    async with database(sqlite_url) as sessions:
        await store_hourly(sessions, walk(STEPS, seed=2), warm="100")
        history = await load_history(sessions, cfg)
    decider = Recording(ProgramSnapshotDecider(RSI))
    engine = BacktestEngine(cfg, history)
    accounts: list[Any] = []
    original = engine._decide

    async def keep_account(*args: Any, **kw: Any) -> None:
        accounts.append(engine.account)  # the paper account the decision is made on
        await original(*args, **kw)

    engine._decide = keep_account  # type: ignore[method-assign]
    await engine.run(decider)
    report = engine.report()
    assert report.metrics["decisions"]["failed"] == 0
    assert report.metrics["decisions"]["long"] + report.metrics["decisions"]["short"] >= 2
    assert report.trades  # it traded, so later snapshots carry positions
    feed = HistoricalFeed(history)
    for (step, snap, _), account in zip(decider.steps, accounts, strict=True):
        prices, klines = await market_snapshot(feed, ["BTC"], step.at_ms)
        view = PaperExchange._view(account, prices)
        live = snapshot_dict(["BTC"], step.at_ms, prices, klines, view, dict(TRIGGER))
        assert snap == live, step.step
        assert {k: v for k, v in snap.items() if k != "klines"} == step.account
    # the program on the live snapshot decides the same as in the backtest (a few steps: the
    # sandbox costs ~10 ms per run)
    for _, snap, outcome in decider.steps[::6]:
        result = await run_program(RSI, snap)
        assert result.ok and Decision.model_validate(result.decision) == outcome.decision


async def test_a_program_that_fails_on_some_bars_is_recorded_failed_and_the_run_goes_on(
    sqlite_url: str,
) -> None:
    """A crash on a bar is that decision's failure (its error code), not the run's."""
    code = """
class Strategy:
    def should_trade(self, data):
        if data.get_price("BTC") > 100:
            raise RuntimeError("too high")
        return Decision(operation="hold")
"""
    cfg = config(4)
    async with database(sqlite_url) as sessions:
        await store_hourly(sessions, ["100", "101", "99", "102"])
        engine = BacktestEngine(cfg, await load_history(sessions, cfg))
    await engine.run(ProgramSnapshotDecider(code))
    report = engine.report()
    assert [(d["step"], d["status"], d["code"]) for d in report.decisions] == [
        (1, "failed", "PROGRAM_ERROR"),
        (3, "failed", "PROGRAM_ERROR"),
    ]
    assert report.metrics["decisions"] | {} == {
        "total": 4, "long": 0, "short": 0, "close": 0, "hold": 2, "denied": 0, "failed": 2,
        "rejected": 0,
    }  # fmt: skip
    assert report.finished and "too high" in (report.decisions[0]["error"] or "")
    assert account_from_dict(engine.checkpoint()["account"]).cash == D(10000)
