"""What `data.get_factor` costs a program run: bench.sandbox_modes' program (one RSI) against
the same with every factor on every symbol (27 get_factor calls), on the same snapshot.

`python -m bench.sandbox_factors [--runs N] [--mode fork|spawn]`: wall and CPU ms per run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any

from bench import sandbox_modes
from sandbox import zygote_client

WITH_FACTORS = """
class Strategy:
    def should_trade(self, data):
        rsi = data.get_indicator("BTC", "rsi", 14)
        names = ("momentum", "volatility", "volume_zscore", "funding_zscore", "oi_change",
                 "ema_distance", "atr_pct", "price_zscore", "range_position")
        values = [data.get_factor(s, n) for s in data.symbols for n in names]
        known = sum(v is not None for v in values)
        return Decision(operation="long", symbol="BTC", size_usd=10, leverage=1,
                        reasoning=f"rsi {rsi:.1f}, {known} factors")
"""


async def main(runs: int, mode: str) -> dict[str, Any]:
    out: dict[str, Any] = {"runs": runs, "mode": mode}
    programs = {"without_factors": sandbox_modes.PROGRAM, "with_factors": WITH_FACTORS}
    for label, program in programs.items():
        sandbox_modes.PROGRAM = program  # measure() runs the module's PROGRAM
        result = await sandbox_modes.measure(mode, runs, 2)
        out[label] = {k: v for k, v in result.items() if not k.startswith("runs_per_s")}
    zygote_client.shutdown()
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--mode", default="fork", choices=("fork", "spawn"))
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.runs, args.mode)), indent=2))
