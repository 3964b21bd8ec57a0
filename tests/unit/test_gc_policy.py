"""The worker collects its cyclic garbage once it goes quiet after work, and only then.

The policy reads CPU time and sleeps through runtime/gc_policy.Clock: here a scripted clock
says how much CPU each interval used, so no CPU is burnt and no interval is waited for."""

from __future__ import annotations

import gc
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from runtime.gc_policy import _log_slow_pauses, collect_when_idle
from tests.support.clocks import ScriptedIntervals, ScriptEnded


@pytest.fixture(autouse=True)
def only_the_policy_collects() -> Iterator[None]:
    gc.disable()
    yield
    gc.enable()


async def _collections(cpu_per_interval: list[float]) -> list[int]:
    """The intervals (numbered from 1) after which the policy ran a full collection."""
    worker = ScriptedIntervals(cpu_per_interval)
    collected: list[int] = []

    def seen(phase: str, info: dict[str, Any]) -> None:
        if phase == "stop" and info["generation"] == 2:
            collected.append(worker.interval)

    gc.callbacks.append(seen)
    try:
        with pytest.raises(ScriptEnded):
            await collect_when_idle(every_s=10, quiet_cpu_s=0.2, busy_cpu_s=1.0, clock=worker.clock)
    finally:
        gc.callbacks.remove(seen)
    return collected


async def test_collects_once_quiet_after_work() -> None:
    # 1: quiet, but no work since the start; 2: busy; 3: quiet after work; 4-5: no work since.
    assert await _collections([0.0, 1.5, 0.1, 0.1, 0.1]) == [3]


async def test_work_spread_over_quiet_intervals_still_counts() -> None:
    # Every interval is quiet; the work adds up past busy_cpu_s during the seventh.
    assert await _collections([0.15] * 8) == [7]


async def test_never_collects_while_busy() -> None:
    assert await _collections([1.5, 1.5, 1.5]) == []


def test_a_slow_pause_is_logged(caplog: Any) -> None:
    caplog.set_level(logging.INFO, logger="hyperoru.gc")
    _log_slow_pauses("start", {"generation": 2}, clock=lambda: 10.0)
    _log_slow_pauses("stop", {"generation": 2, "collected": 3}, clock=lambda: 10.01)  # fast
    _log_slow_pauses("start", {"generation": 2}, clock=lambda: 20.0)
    _log_slow_pauses("stop", {"generation": 2, "collected": 7}, clock=lambda: 20.06)
    assert len(caplog.records) == 1
    assert "paused the worker 60 ms (generation 2, 7 collected)" in caplog.records[0].getMessage()
