"""A step that fails gives the error code a live run of the same program gives, and the session
goes on with the next step."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import pytest

from sandbox.backtest_session import BacktestSession
from sandbox.runner import BacktestContext, SandboxLimits, run_program
from tests.sandbox.backtest_history import account, full_snapshot, history, step_time

LIMITS = SandboxLimits(wall_seconds=2.0, cpu_seconds=1, memory_mb=256, max_output_bytes=16_000)
# Fails as told on step 1 only (the trigger carries the step); holds otherwise.
TEMPLATE = """
class Strategy:
    def should_trade(self, data):
        if data.trigger["step"] == 1:
            FAILURE
        return Decision(operation="hold", reasoning="fine")
"""
FAILURES = {
    "crash": ("raise RuntimeError('boom')", "PROGRAM_ERROR"),
    "timeout": (
        "[k for k in ().__class__.__base__.__subclasses__() if k.__name__ == "
        "'_wrap_close'][0].__init__.__globals__['sys'].modules['time'].sleep(30)",
        "TIMEOUT",
    ),  # fmt: skip
    "cpu": ("while True: pass", "CPU_LIMIT"),
    "memory": ("x = bytearray(1 << 30)", "MEMORY_LIMIT"),
    "no_decision": ("return None", "INVALID_DECISION"),
    "bad_decision": ("return Decision(operation='buy')", "INVALID_DECISION"),
    "output": ("print('x' * 100_000)", "OUTPUT_TOO_LARGE"),
    "exit": (
        "[k for k in ().__class__.__base__.__subclasses__() if k.__name__ == "
        "'_wrap_close'][0].__init__.__globals__['sys'].modules['os']._exit(3)",
        "PROGRAM_ERROR",
    ),  # fmt: skip
}


@pytest.mark.parametrize("failure", sorted(FAILURES))
async def test_a_failed_step_has_the_live_code_and_the_run_goes_on(failure: str) -> None:
    statement, expected = FAILURES[failure]
    code = TEMPLATE.replace("FAILURE", statement)
    # A second of CPU can take more than 2 s of wall clock on a loaded machine.
    limits = replace(LIMITS, wall_seconds=8.0) if failure == "cpu" else LIMITS
    candles = history(hours=104, symbols=("BTC", "ETH"))
    context = BacktestContext(seed=0, step=1, now_ms=step_time(1))
    live = await run_program(
        code, full_snapshot(candles, 1, account(candles, 1)), limits, backtest=context
    )
    assert live.error_code == expected, live
    async with BacktestSession(code, candles, limits) as session:
        results = [await session.step(s, step_time(s), account(candles, s)) for s in range(3)]
    assert [r.error_code for r in results] == [None, expected, None], results
    assert results[1].error == live.error
    assert results[2].ok and results[2].decision is not None


async def test_an_invalid_program_fails_every_step_without_a_session() -> None:
    candles = history(hours=102, symbols=("BTC", "ETH"))
    async with BacktestSession("class Strategy(:\n", candles, LIMITS) as session:
        results = [await session.step(s, step_time(s), account(candles, s)) for s in range(2)]
        assert session.link is None
    assert [r.error_code for r in results] == ["INVALID_PROGRAM"] * 2


async def test_a_history_that_is_not_one_is_refused(sandbox_mode: str) -> None:
    candles: Any = {("BTC", "1h"): ([2, 1], [[0, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1]])}
    code = "class Strategy:\n    def should_trade(self, data):\n        return None\n"
    if sandbox_mode != "fork":
        pytest.skip("only fork mode sends the history anywhere")
    with pytest.raises(ValueError, match="close times must increase"):
        async with BacktestSession(code, candles, LIMITS):
            pass


async def test_steps_asked_for_at_once_run_one_after_the_other() -> None:
    """A caller that does not wait for one step before the next still gets every answer: the
    session never ends a step that is still running to start the next."""
    code = """
class Strategy:
    def should_trade(self, data):
        for k in ().__class__.__base__.__subclasses__():
            if k.__name__ == "_wrap_close":
                k.__init__.__globals__["sys"].modules["time"].sleep(0.2)
        return Decision(operation="hold", reasoning=str(data.trigger["step"]))
"""
    candles = history(hours=104, symbols=("BTC", "ETH"))
    async with BacktestSession(code, candles, LIMITS) as session:
        results = await asyncio.gather(
            *(session.step(s, step_time(s), account(candles, s)) for s in range(3))
        )
    assert [(r.decision or {}).get("reasoning") for r in results] == ["0", "1", "2"], results
