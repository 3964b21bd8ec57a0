"""Inside the jail, a program's get_indicator uses the shared TA-Lib wrapper (domain.indicators,
preloaded before the jail closes) and its one set of period bounds: a period over the bound is
a clear program error, worded as a signal definition's."""

from __future__ import annotations

from typing import Any

from sandbox.runner import SandboxLimits, run_program

LIMITS = SandboxLimits(wall_seconds=10.0, cpu_seconds=3)

PROGRAM = """
class Strategy:
    def should_trade(self, data):
        ema = data.get_indicator("BTC", "ema", 1)  # the shortest period every caller accepts
        data.get_indicator("BTC", "rsi", 501)
        return Decision(operation="hold")
"""


async def test_a_period_over_the_bound_is_a_clear_program_error(snapshot: dict[str, Any]) -> None:
    result = await run_program(PROGRAM, snapshot, LIMITS)
    assert result.error_code == "PROGRAM_ERROR", result.error
    assert "period for rsi must be between 2 and 500, got 501" in (result.error or "")
    assert 'File "<program>", line 5, in should_trade' in (result.error or "")
