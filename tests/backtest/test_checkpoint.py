"""A run stopped at any step, checkpointed through JSON and restored, ends exactly as one run
straight through: the activity resumes this way after a worker is killed (same result_hash)."""

from __future__ import annotations

import json
import math
from decimal import Decimal as D

from domain.decision import Decision
from strategies.backtest.contract import StepInput, StepOutcome
from strategies.backtest.engine import BacktestEngine
from strategies.backtest.history import load_history
from tests.backtest.support import HOUR, START, config, database, store_funding, store_hourly

STEPS = 40


def wavy(n: int) -> list[tuple[str, str, str, str]]:
    out = []
    for i in range(n):
        mid = D(100) + D(round(6 * math.sin(i / 3), 2))
        out.append((str(mid), str(mid + D("1.5")), str(mid - D("1.7")), str(mid + D("0.3"))))
    return out


async def busy(step: StepInput) -> StepOutcome:
    """Opens, closes, shorts, fails and gets denied on a fixed schedule."""
    k = step.step
    if k % 9 == 4:
        return StepOutcome(None, "PROGRAM_ERROR", "boom")
    if k % 7 == 0:
        return StepOutcome(
            Decision(
                operation="long",
                symbol="BTC",
                size_usd=D(500),
                leverage=D(3),
                take_profit_pct=D("1.5"),
                stop_loss_pct=D(1),
            )  # fmt: skip
        )
    if k % 7 == 3:
        return StepOutcome(Decision(operation="close", symbol="BTC"))
    if k % 7 == 5:
        return StepOutcome(Decision(operation="short", symbol="BTC", size_usd=D(400)))
    if k % 13 == 6:
        return StepOutcome(Decision(operation="long", symbol="ETH", size_usd=D(1)))
    return StepOutcome(Decision(operation="hold"))


async def test_restored_run_gives_the_identical_report(sqlite_url: str) -> None:
    cfg = config(STEPS, funding=True)
    async with database(sqlite_url) as sessions:
        await store_hourly(sessions, wavy(STEPS))
        await store_funding(sessions, {START + i * HOUR: f"0.000{i % 5}" for i in range(STEPS)})
        history = await load_history(sessions, cfg)
    straight = BacktestEngine(cfg, history)
    await straight.run(busy)
    expected = straight.report()
    assert expected.trades and expected.metrics["decisions"]["failed"]  # the run does things
    for k in (1, 17, STEPS - 1):
        first = BacktestEngine(cfg, history)
        await first.run(busy, until_step=k)
        assert first.steps_done == k and not first.report().finished
        saved = json.loads(json.dumps(first.checkpoint()))
        resumed = BacktestEngine.restore(cfg, history, saved)
        await resumed.run(busy)
        got = resumed.report()
        assert got == expected, k
        assert got.result_hash == expected.result_hash
