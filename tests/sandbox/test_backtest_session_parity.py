"""A backtest session's decisions equal `run_program` on the full snapshot of each step (the
same 100-candle windows, the same account part, the same backtest context), for programs that
read several intervals, the account and the (simulated) clock and randomness."""

from __future__ import annotations

from typing import Any

from sandbox.backtest_session import BacktestSession
from sandbox.runner import BacktestContext, SandboxLimits, run_program
from strategies.backtest.contract import StepInput
from strategies.backtest.session_decider import ProgramSessionDecider
from tests.sandbox.backtest_history import account, full_snapshot, history, step_time

LIMITS = SandboxLimits(wall_seconds=10.0, cpu_seconds=3)
STEPS = 40
SEED = 11

# Reads every interval of both symbols (count, first and last candle, a close sum), an
# indicator per interval, the account part, the clock and the generators.
READS_EVERYTHING = """
import datetime, random
import numpy as np

class Strategy:
    def should_trade(self, data):
        parts = [data.now, str(data.symbols), str(data.balance), str(data.trigger)]
        parts.append(str(data.get_positions()))
        for symbol in ("BTC", "eth"):
            parts.append(f"{symbol} {data.get_price(symbol)!r}")
            for interval in ("1m", "15m", "1h", None):
                k = data.get_klines(symbol, interval, limit=5000)
                closes = sum(c["close"] for c in k)
                first, last = k[0]["timestamp"], k[-1]["timestamp"]
                parts.append(f"{interval} {len(k)} {first} {last} {closes!r}")
                parts.append(repr(data.get_indicator(symbol, "rsi", 14, interval)))
        parts.append(repr(data.get_indicator("BTC", "macd", interval="15m")))
        parts.append(f"{random.random()!r} {np.random.rand()!r} {datetime.datetime.now()}")
        rsi = data.get_indicator("BTC", "rsi", 14, "15m")
        side = "long" if rsi < 50 else "short"
        if data.get_positions():
            side = "close"
        return Decision(operation=side, symbol="BTC", size_usd=round(data.get_balance() / 50, 2),
                        leverage=3, reasoning=" | ".join(parts))
"""


def _candles() -> Any:
    return history(hours=100 + STEPS + 1)


async def _full(candles: Any, step: int) -> Any:
    acct = account(candles, step)
    context = BacktestContext(seed=SEED, step=step, now_ms=step_time(step))
    return await run_program(READS_EVERYTHING, full_snapshot(candles, step, acct), LIMITS,
                             backtest=context)  # fmt: skip


async def test_session_steps_equal_full_snapshot_runs() -> None:
    candles = _candles()
    async with BacktestSession(READS_EVERYTHING, candles, LIMITS, SEED) as session:
        for step in range(STEPS):
            got = await session.step(step, step_time(step), account(candles, step))
            want = await _full(candles, step)
            assert got.ok and want.ok, (got.error, want.error)
            assert got.decision == want.decision, step


async def test_decider_answers_as_the_full_snapshot_run() -> None:
    """ProgramSessionDecider implements the engine's Decide on StepInput.account/at_ms/step."""
    candles = _candles()
    seen: list[Any] = []
    async with ProgramSessionDecider(READS_EVERYTHING, candles, LIMITS, SEED) as decide:
        for step in range(0, STEPS, 7):
            acct = account(candles, step)
            snapshot = full_snapshot(candles, step, acct)
            outcome = await decide(StepInput(step, step_time(step), acct, lambda s=snapshot: s))
            want = await _full(candles, step)
            assert outcome.error_code is None, outcome.error
            assert outcome.decision is not None and want.decision is not None
            assert outcome.decision.model_dump(mode="json") == want.decision
            assert outcome.run_ms is not None
            seen.append(outcome.decision.operation)
    assert {"long", "short", "close"} & set(seen)


async def test_windows_hold_at_most_100_closed_candles() -> None:
    """At each step: no candle closing after the decision time, 100 per interval at most."""
    code = """
class Strategy:
    def should_trade(self, data):
        import datetime
        now = datetime.datetime.fromisoformat(data.now).timestamp() * 1000
        widths = {"1m": 60000, "15m": 900000, "1h": 3600000}
        out = []
        for iv, ms in widths.items():
            k = data.get_klines("BTC", iv, limit=5000)
            closed = k[-1]["timestamp"] + ms
            out.append(f"{len(k)} {closed <= now} {closed == now}")
        return Decision(operation="hold", reasoning=", ".join(out))
"""
    candles = _candles()
    async with BacktestSession(code, candles, LIMITS, SEED) as session:
        for step in (0, STEPS - 1):
            result = await session.step(step, step_time(step), account(candles, step))
            assert result.decision is not None, result.error
            assert result.decision["reasoning"] == ", ".join(["100 True True"] * 3)
