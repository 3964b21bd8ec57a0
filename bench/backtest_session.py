"""The sandbox's part of a program backtest: per-step cost of the README's RSI program on hourly
candles, `run_program` with the full snapshot per step vs a backtest session (the candles sent
once, each step only its account part; sandbox/backtest_session.py).

`python -m bench.backtest_session [--steps N] [--mode fork|spawn]`; `make bench` runs it too
(results["backtest_sandbox"]). Candles: 1m, 5m, 15m and 1h for BTC, as a live snapshot holds
(100 of each per step). Both paths run in backtest mode (seeded, simulated clock), one step at a
time as a backtest does. Per path: wall ms per step, steps/s, CPU ms per step (this process
plus the sandbox processes: the backtest zygote's reaped children, i.e. the session parents and
their steps, or the runs), and the sandbox time of a year of hourly steps (8,760) at that rate.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sandbox import zygote_client
from sandbox.backtest_candles import Candles, klines_at
from sandbox.backtest_session import BacktestSession
from sandbox.runner import BacktestContext, SandboxLimits, default_mode, run_program

# README "Program strategies" quickstart program, as is.
README_RSI = """
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
HOUR = 3_600_000
START_MS = 1_735_689_600_000  # 2025-01-01T00:00:00Z
INTERVALS = {"1m": 60_000, "5m": 300_000, "15m": 900_000, "1h": HOUR}
YEAR_STEPS = 8_760
LIMITS = SandboxLimits()
_TICK = os.sysconf("SC_CLK_TCK")


def candles(hours: int, seed: int = 1) -> Candles:
    """A random walk of 1m candles over `hours` hours, and the 5m/15m/1h candles built from it."""
    rng = random.Random(seed)
    price, minutes = 60_000.0, []
    for i in range(hours * 60):
        close = price * (1 + rng.gauss(0, 0.001))
        high, low = max(price, close) * 1.0003, min(price, close) * 0.9997
        minutes.append([START_MS + i * 60_000, price, high, low, close, rng.uniform(1, 9)])
        price = close
    out: dict[tuple[str, str], tuple[list[int], list[list[float]]]] = {}
    for interval, step in INTERVALS.items():
        per = step // 60_000
        rows = [
            [g[0][0], g[0][1], max(r[2] for r in g), min(r[3] for r in g), g[-1][4],
             sum(r[5] for r in g)]
            for g in (minutes[i : i + per] for i in range(0, len(minutes), per))
        ]  # fmt: skip
        out[("BTC", interval)] = ([int(r[0]) + step for r in rows], rows)
    return out


def account(history: Candles, step: int, at_ms: int) -> dict[str, Any]:
    close = history[("BTC", "1h")][1][100 + step][4]
    held = step % 4 == 3  # now and then in a position, so the program takes both branches
    positions = (
        [{"symbol": "BTC", "side": "long", "size": "0.003", "entry_price": str(close),
          "mark_price": str(close), "leverage": "3", "unrealized_pnl": "0"}]
        if held else []
    )  # fmt: skip
    return {
        "symbols": ["BTC"],
        "now": datetime.fromtimestamp(at_ms / 1000, UTC).isoformat(),
        "default_interval": "1h",
        "prices": {"BTC": str(close)},
        "positions": positions,
        "balance": {"available": "10000", "equity": "10000", "cash": "10000"},
        "trigger": {"type": "schedule"},
    }


def step_time(step: int) -> int:
    return START_MS + (100 + step + 1) * HOUR  # after 100 closed hourly candles


def _sandbox_cpu_seconds(mode: str) -> float:
    import resource

    if mode == "spawn":
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime
    pid = zygote_client.zygote_pid("backtest")
    if pid is None:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(x) for x in fields[11:15]) / _TICK  # utime stime cutime cstime


def _figures(steps: int, wall: float, cpu: float, worker_cpu: float) -> dict[str, float]:
    per_step = wall / steps
    return {
        "steps": steps,
        "wall_ms_per_step": round(per_step * 1000, 2),
        "steps_per_s": round(1 / per_step, 1),
        "cpu_ms_per_step": round(cpu / steps * 1000, 2),
        "worker_cpu_ms_per_step": round(worker_cpu / steps * 1000, 2),
        "year_of_hourly_steps_s": round(YEAR_STEPS * per_step, 1),
    }


async def full_snapshot_runs(history: Candles, steps: int, mode: str) -> dict[str, float]:
    async def one(step: int) -> None:
        at = step_time(step)
        snapshot = {**account(history, step, at), "klines": klines_at(history, at)}
        context = BacktestContext(seed=0, step=step, now_ms=at)
        result = await run_program(README_RSI, snapshot, LIMITS, mode=mode, backtest=context)
        assert result.ok, result

    await one(0)  # warm: the backtest zygote starts
    worker0, sandbox0 = time.process_time(), _sandbox_cpu_seconds(mode)
    start = time.monotonic()
    for step in range(steps):
        await one(step)
    wall = time.monotonic() - start
    worker = time.process_time() - worker0
    return _figures(steps, wall, worker + _sandbox_cpu_seconds(mode) - sandbox0, worker)


async def session_steps(history: Candles, steps: int, mode: str) -> dict[str, float]:
    await zygote_client.get_zygote("backtest")  # warm, as above (not counted in either)
    worker0, sandbox0 = time.process_time(), _sandbox_cpu_seconds(mode)
    start = time.monotonic()
    async with BacktestSession(README_RSI, history, LIMITS, seed=0, mode=mode) as session:
        opened = time.monotonic() - start
        for step in range(steps):
            at = step_time(step)
            result = await session.step(step, at, account(history, step, at))
            assert result.ok, result
    wall = time.monotonic() - start
    worker = time.process_time() - worker0
    await asyncio.sleep(0.2)  # the session parent reaped by the zygote: its CPU counted
    figures = _figures(steps, wall, worker + _sandbox_cpu_seconds(mode) - sandbox0, worker)
    figures["open_s"] = round(opened, 2)
    return figures


async def run_backtest_bench(steps: int = 2000, mode: str | None = None) -> dict[str, Any]:
    mode = mode or default_mode()
    history = candles(hours=steps + 102)
    out: dict[str, Any] = {"program": "README RSI", "mode": mode, "cores": os.cpu_count()}
    out["full_snapshot"] = await full_snapshot_runs(history, steps, mode)
    out["session"] = await session_steps(history, steps, mode)
    out["speedup"] = round(
        out["full_snapshot"]["wall_ms_per_step"] / out["session"]["wall_ms_per_step"], 2
    )
    zygote_client.shutdown()
    return out


def summary(result: dict[str, Any]) -> str:
    """One line for `make bench`'s table."""
    full, session = result["full_snapshot"], result["session"]
    return (
        f"backtest sandbox ({result['program']}, {session['steps']} hourly steps, "
        f"{result['mode']}): full snapshot {full['wall_ms_per_step']} ms/step "
        f"({full['steps_per_s']}/s), session {session['wall_ms_per_step']} ms/step "
        f"({session['steps_per_s']}/s, CPU {session['cpu_ms_per_step']} ms); a year of hourly "
        f"steps: {full['year_of_hourly_steps_s']} s vs {session['year_of_hourly_steps_s']} s"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--mode", choices=("fork", "spawn"), default=None)
    args = parser.parse_args()
    figures = asyncio.run(run_backtest_bench(args.steps, args.mode))
    print(json.dumps(figures, indent=2))
    print(summary(figures))
