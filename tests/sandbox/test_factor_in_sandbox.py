"""A program calls `data.get_factor` inside the real sandbox (both modes: domain.factors is
loaded before the jail closes) and gets the value the formula gives on its snapshot; its
errors reach the program like get_indicator's."""

from __future__ import annotations

import json
import math
import statistics
from typing import Any

from sandbox.runner import SandboxLimits, run_program

LIMITS = SandboxLimits(wall_seconds=10.0, cpu_seconds=3)

PROGRAM = """
import json

class Strategy:
    def should_trade(self, data):
        values = {
            "momentum": data.get_factor("BTC", "momentum", 10),
            "volatility": data.get_factor("eth", "volatility", 30, interval="15m"),
            "funding_zscore": data.get_factor("BTC", "funding_zscore"),
        }
        return Decision(operation="hold", reasoning=json.dumps(values))
"""

UNKNOWN = """
class Strategy:
    def should_trade(self, data):
        data.get_factor("BTC", "alpha")
        return Decision(operation="hold")
"""


async def test_a_program_gets_the_factors_value(snapshot: dict[str, Any]) -> None:
    result = await run_program(PROGRAM, snapshot, LIMITS)
    assert result.ok, result.error
    got = json.loads(result.decision["reasoning"])  # type: ignore[index]
    btc = [row[4] for row in snapshot["klines"]["BTC"]["1h"]]
    eth = [row[4] for row in snapshot["klines"]["ETH"]["15m"]]
    returns = [math.log(b / a) for a, b in zip(eth[-31:-1], eth[-30:], strict=True)]
    assert got["momentum"] == btc[-1] / btc[-11] - 1
    assert math.isclose(
        got["volatility"], statistics.stdev(returns) * math.sqrt(365 * 96), rel_tol=1e-9
    )
    assert got["funding_zscore"] is None  # the snapshot has no funding history


async def test_an_unknown_factor_is_a_program_error_listing_the_factors(
    snapshot: dict[str, Any],
) -> None:
    result = await run_program(UNKNOWN, snapshot, LIMITS)
    assert result.error_code == "PROGRAM_ERROR", result.error
    assert "unknown factor 'alpha'; available: momentum, volatility" in (result.error or "")
