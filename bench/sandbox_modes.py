"""Micro benchmark of the program sandbox: fork mode (pre-warmed zygote) vs spawn mode.

`python -m bench.sandbox_modes [--runs N] [--concurrency C]`. For each mode: wall ms per run
when runs go one at a time, runs/s with C at once, and CPU ms per run: this process plus
everything the sandbox used (spawn: the reaped children; fork: the zygote and its reaped
children, from /proc/<zygote>/stat). The snapshot has the worker's shape: 3 symbols x 4
intervals x 100 candles.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import time
from pathlib import Path
from typing import Any

from sandbox import zygote_client
from sandbox.runner import SANDBOX_MODES, SandboxLimits, run_program

PROGRAM = """
class Strategy:
    def should_trade(self, data):
        rsi = data.get_indicator("BTC", "rsi", 14)
        if rsi < 101:
            return Decision(operation="long", symbol="BTC", size_usd=10, leverage=1,
                            reasoning=f"rsi {rsi:.1f}")
        return Decision(operation="hold")
"""
LIMITS = SandboxLimits()
_TICK = os.sysconf("SC_CLK_TCK")


def snapshot(seed: int = 1) -> dict[str, Any]:
    rng = random.Random(seed)
    steps = {"1m": 60_000, "5m": 300_000, "15m": 900_000, "1h": 3_600_000}
    klines: dict[str, dict[str, list[list[float]]]] = {}
    for sym, base in {"BTC": 65000.0, "ETH": 3000.0, "SOL": 150.0}.items():
        klines[sym] = {}
        for iv, step in steps.items():
            price, rows = base, []
            for i in range(100):
                close = price * (1 + rng.gauss(0, 0.01))
                hi, lo = max(price, close) * 1.002, min(price, close) * 0.998
                rows.append([1_795_000_000_000 + i * step, price, hi, lo, close, rng.uniform(1, 9)])
                price = close
            klines[sym][iv] = rows
    prices = {sym: str(round(by_iv["1m"][-1][4], 2)) for sym, by_iv in klines.items()}
    return {"symbols": list(klines), "now": "2026-11-24T10:00:00Z", "prices": prices,
            "klines": klines, "positions": [], "balance": {"available": "10000"}}  # fmt: skip


def _sandbox_cpu_seconds(mode: str) -> float:
    if mode == "spawn":
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime
    pid = zygote_client.zygote_pid()
    if pid is None:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(x) for x in fields[11:15]) / _TICK  # utime stime cutime cstime


async def measure(mode: str, runs: int, concurrency: int) -> dict[str, float]:
    snap = snapshot()
    assert (await run_program(PROGRAM, snap, LIMITS, mode=mode)).ok  # warm (starts the zygote)
    cpu0 = time.process_time() + _sandbox_cpu_seconds(mode)
    start = time.monotonic()
    for _ in range(runs):
        result = await run_program(PROGRAM, snap, LIMITS, mode=mode)
        assert result.ok, result
    sequential = time.monotonic() - start
    cpu = time.process_time() + _sandbox_cpu_seconds(mode) - cpu0

    slots = asyncio.Semaphore(concurrency)

    async def one() -> None:
        async with slots:
            assert (await run_program(PROGRAM, snap, LIMITS, mode=mode)).ok

    start = time.monotonic()
    await asyncio.gather(*(one() for _ in range(runs)))
    parallel = time.monotonic() - start
    return {
        "wall_ms_per_run": round(sequential / runs * 1000, 2),
        "cpu_ms_per_run": round(cpu / runs * 1000, 2),
        f"runs_per_s_at_{concurrency}": round(runs / parallel, 1),
    }


async def main(runs: int, concurrency: int) -> dict[str, Any]:
    out: dict[str, Any] = {"runs": runs, "cores": os.cpu_count()}
    for mode in SANDBOX_MODES:
        out[mode] = await measure(mode, runs, concurrency)
    zygote_client.shutdown()
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.runs, args.concurrency)), indent=2))
