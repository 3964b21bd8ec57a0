"""Many sandboxes from one event loop: correct results, a responsive loop, no leftover processes."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import pytest

from sandbox.runner import SandboxLimits, run_program
from tests.sandbox.procs import sandbox_children as _children

GOOD = """
class Strategy:
    def should_trade(self, data):
        rsi = data.get_indicator("BTC", "rsi", 14)
        return Decision(operation="long", symbol="BTC", size_usd=SIZE, reasoning=f"rsi={rsi:.2f}")
"""
RAISES = """
class Strategy:
    def should_trade(self, data):
        raise ValueError("bad SIZE")
"""
INVALID = """
class Strategy:
    def should_trade(self, data):
        return Decision(operation="long", symbol="BTC", size_usd=-SIZE)
"""
LOOPS = """
class Strategy:
    def should_trade(self, data):
        while True:
            pass
"""
EXPECTED = {GOOD: None, RAISES: "PROGRAM_ERROR", INVALID: "INVALID_DECISION"}


@pytest.mark.serial  # measures latency: runs alone (make test)
async def test_twenty_concurrent_runs(snapshot: dict[str, Any]) -> None:
    # Generous wall clock: 20 interpreters start at once on possibly 2 cores. The loops are
    # stopped by their 1 s CPU budget.
    baseline = _children()
    limits = SandboxLimits(wall_seconds=20.0, cpu_seconds=1)
    kinds = [GOOD, RAISES, INVALID, LOOPS, GOOD] * 4
    codes = [kind.replace("SIZE", str(i + 1)) for i, kind in enumerate(kinds)]

    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.02)
            ticks += 1

    tick_task = asyncio.create_task(ticker())
    start = time.monotonic()
    results = await asyncio.gather(*(run_program(c, snapshot, limits) for c in codes))
    elapsed = time.monotonic() - start
    tick_task.cancel()

    for i, (kind, result) in enumerate(zip(kinds, results, strict=True)):
        if kind is LOOPS:
            assert result.error_code in ("CPU_LIMIT", "TIMEOUT"), (i, result)
        elif kind is GOOD:
            assert result.ok, (i, result)
            assert result.decision is not None and result.decision["size_usd"] == str(i + 1)
        else:
            assert result.error_code == EXPECTED[kind], (i, result)
    # The event loop kept running while the children worked.
    assert ticks >= elapsed / 0.02 * 0.5
    assert _children() - baseline == set()


async def test_timeouts_reap_children(snapshot: dict[str, Any]) -> None:
    baseline = _children()
    limits = SandboxLimits(wall_seconds=1.0, cpu_seconds=5)
    results = await asyncio.gather(*(run_program(LOOPS, snapshot, limits) for _ in range(4)))
    assert [r.error_code for r in results] == ["TIMEOUT"] * 4
    assert _children() - baseline == set()


async def test_cancellation_kills_the_child(snapshot: dict[str, Any]) -> None:
    baseline = _children()
    limits = SandboxLimits(wall_seconds=30.0, cpu_seconds=20)
    task = asyncio.create_task(run_program(LOOPS, snapshot, limits))
    while not _children() - baseline:  # the run has started (the zygote may start first)
        await asyncio.sleep(0.05)
    assert len(_children() - baseline) == 1
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert _children() - baseline == set()
