"""The worker collects its cyclic garbage once it goes quiet after work, and only then."""

from __future__ import annotations

import asyncio
import gc
import time
from typing import Any

from runtime.gc_policy import collect_when_idle


def _burn(cpu_s: float) -> None:
    end = time.process_time() + cpu_s
    while time.process_time() < end:
        pass


async def test_collects_once_quiet_after_work() -> None:
    full: list[float] = []

    def seen(phase: str, info: dict[str, Any]) -> None:
        if phase == "stop" and info["generation"] == 2:
            full.append(time.monotonic())

    gc.callbacks.append(seen)
    gc.disable()  # only the policy's own collections count here
    task = asyncio.create_task(collect_when_idle(every_s=0.1, quiet_cpu_s=0.05, busy_cpu_s=0.2))
    try:
        await asyncio.sleep(0.35)
        assert full == []  # quiet, but no work since the start: nothing to collect
        _burn(0.3)
        await asyncio.sleep(0.35)  # one busy interval, then quiet ones
        assert len(full) == 1
        await asyncio.sleep(0.35)
        assert len(full) == 1  # no work since: no further collection
    finally:
        task.cancel()
        gc.enable()
        gc.callbacks.remove(seen)


def test_a_slow_pause_is_logged(caplog: Any) -> None:
    import logging

    from runtime.gc_policy import _log_slow_pauses

    caplog.set_level(logging.INFO, logger="hyperoru.gc")
    _log_slow_pauses("start", {"generation": 2})
    _log_slow_pauses("stop", {"generation": 2, "collected": 3})  # fast: not logged
    _log_slow_pauses("start", {"generation": 2})
    time.sleep(0.06)
    _log_slow_pauses("stop", {"generation": 2, "collected": 7})
    assert len(caplog.records) == 1
    assert "generation 2, 7 collected" in caplog.records[0].getMessage()
