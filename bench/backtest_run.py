"""A program backtest end to end, beside live traders (issue #24 "Speed"): a year of hourly BTC
candles (8,760 decisions, 30 days with --quick) run with the README's RSI program through the
API, the backtest workflow and its worker's sandbox session; how long it took, how often its
progress moved, and the live traders' paced signal-to-order latency while it ran against the
same load just before it, on the same traders."""

from __future__ import annotations

import asyncio
import random
import time
from datetime import UTC, datetime
from typing import Any

from bench.backtest_session import README_RSI
from bench.workloads import Deadline, _post, paced, wait_quiet

HOUR_MS = 3_600_000
START = datetime(2025, 1, 1, tzinfo=UTC)
WARM_UP = 100  # bars before the first decision (the live snapshot's depth)


def _candles(hours: int, first_open_ms: int, seed: int = 3) -> list[dict[str, Any]]:
    rng, level, out = random.Random(seed), 60_000.0, []
    for i in range(hours):
        o, c = level, level * (1 + rng.gauss(0, 0.008))
        h = max(o, c) * (1 + abs(rng.gauss(0, 0.002)))
        low = min(o, c) * (1 - abs(rng.gauss(0, 0.002)))
        out.append(
            {"timestamp": first_open_ms + i * HOUR_MS, "open": f"{o:.2f}", "high": f"{h:.2f}"}
            | {"low": f"{low:.2f}", "close": f"{c:.2f}", "volume": "1"}
        )
        level = float(f"{c:.2f}")
    return out


async def _import(stack: Any, candles: list[dict[str, Any]]) -> None:
    for i in range(0, len(candles), 2000):
        body = {"symbol": "BTC", "interval": "1h", "candles": candles[i : i + 2000]}
        r = await stack.api.post(
            "/api/klines/import", params={"source": "bench"}, json=body, timeout=60
        )
        if r.status_code not in (200, 201):
            raise RuntimeError(f"candle import -> {r.status_code}: {r.text[:300]}")


async def _newest(stack: Any, after: int) -> int:
    """The id of the run the POST in flight started (POST answers only when the run is done or
    after the sync wait, so its progress is followed from the list meanwhile)."""
    while True:
        runs = (await stack.api.get("/api/programs/backtests", params={"limit": 1})).json()
        items = runs["items"] if isinstance(runs, dict) else runs
        if items and items[0]["id"] > after:
            return int(items[0]["id"])
        await asyncio.sleep(0.05)


async def _follow(stack: Any, after: int) -> dict[str, Any]:
    """Poll the run until it ends: its wall time and the longest wait between progress moves."""
    backtest_id = await _newest(stack, after)
    moves: list[float] = []
    seen = -1
    body: dict[str, Any] = {}
    while True:
        r = await stack.api.get(f"/api/programs/backtest/{backtest_id}")
        body = r.json()["backtest"]
        done = body.get("steps_done", -1)
        if done != seen:
            seen = done
            moves.append(time.monotonic())
        if body["status"] not in ("pending", "running"):
            break
        await asyncio.sleep(0.2)
    gaps = [b - a for a, b in zip(moves, moves[1:], strict=False)]
    return {"status": body["status"], "moves": moves, "max_progress_gap_s": max(gaps, default=0)}


async def backtest_beside_live(
    stack: Any, traders: list[int], rate: float, deadline: Deadline, quick: bool = False
) -> dict[str, Any]:
    days = 30 if quick else 365
    steps = days * 24
    first_open = int(START.timestamp() * 1000) - WARM_UP * HOUR_MS
    await _import(stack, _candles(steps + WARM_UP, first_open))
    program = await _post(stack, "/api/programs/", {"name": "bench RSI", "code": README_RSI})
    end = START.timestamp() * 1000 + (steps - 1) * HOUR_MS
    request = {
        "program_id": program["id"],
        "config": {
            "symbols": ["BTC"],
            "start_date": START.isoformat(),
            "end_date": datetime.fromtimestamp(end / 1000, UTC).isoformat(),
            "interval": "1h",
            "funding": False,
        },
    }
    seconds = 10.0 if quick else 20.0
    out: dict[str, Any] = {"steps": steps, "program": "README RSI", "paced_rate_per_s": rate}
    out["paced_alone"] = await paced(stack, traders, rate, seconds, deadline)
    await wait_quiet(stack, max_s=5)
    runs = (await stack.api.get("/api/programs/backtests", params={"limit": 1})).json()
    items = runs["items"] if isinstance(runs, dict) else runs
    last_id = int(items[0]["id"]) if items else 0
    t0 = time.monotonic()
    followed = asyncio.create_task(_follow(stack, last_id))
    posted = asyncio.create_task(
        stack.api.post("/api/programs/backtest", json=request, timeout=120)
    )
    out["paced_during"] = await paced(stack, traders, rate, seconds, deadline)
    r = await posted
    if r.status_code not in (201, 202):
        followed.cancel()
        raise RuntimeError(f"backtest -> {r.status_code}: {r.text[:300]}")
    run = await followed
    out["status"] = run["status"]
    # From the request to the last progress move (the run's end), minus nothing: what a user waits
    out["wall_s"] = round(run["moves"][-1] - t0, 2)
    out["steps_per_s"] = round(steps / out["wall_s"], 1) if out["wall_s"] else None
    out["max_progress_gap_s"] = round(run["max_progress_gap_s"], 2)
    out["paced_ended_before_run"] = out["wall_s"] > seconds
    return out


def summary(result: dict[str, Any]) -> str:
    alone = result["paced_alone"]["signal_to_order"]["p99_ms"]
    during = result["paced_during"]["signal_to_order"]["p99_ms"]
    return (
        f"backtest of {result['steps']} hourly steps: {result['status']} in {result['wall_s']} s "
        f"({result['steps_per_s']} steps/s), progress every <= {result['max_progress_gap_s']} s; "
        f"live paced p99 {alone} ms alone, {during} ms during"
    )
