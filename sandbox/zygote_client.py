"""Worker side of fork mode: one pre-warmed zygote per worker process, many runs at once.

`run_forked()` gives the same ChildRun as spawn mode's `sandbox.process.run_child`. The zygote
is started on first use (or by the worker at start-up). Before each run it is checked against
its state at start (sandbox/zygote_health.py): dead, stopped, niced, rescheduled, pinned or
limited, it is replaced. The runs it owes are rerun once on the fresh one: those it took down
with it, and those that timed out while it was not healthy. A run during which that happens
twice is taken to be the cause: it is recorded as that program's failure (`harmed_sandbox`),
not as a platform failure, which would be retried and would take other runs down again.
"""

from __future__ import annotations

import asyncio
import logging

from sandbox.process import ChildRun
from sandbox.zygote_channel import Zygote, ZygoteDiedError

logger = logging.getLogger(__name__)

__all__ = ["ZygoteDiedError", "get_zygote", "run_forked", "shutdown", "zygote_pid"]


class _Holder:
    zygote: Zygote | None = None
    starting: asyncio.Task[Zygote] | None = None


_holder = _Holder()


async def get_zygote() -> Zygote:
    """The worker's zygote, started on first use (or after it died, or on a new event loop)."""
    loop = asyncio.get_running_loop()
    current = _holder.zygote
    if current is not None and current.loop is loop and current.alive:
        problem = current.health()
        if problem is not None:
            logger.warning("sandbox zygote %s replaced: %s", current.pid, problem)
            _holder.zygote = None
            current.close()
    elif current is not None:
        _holder.zygote = None
        current.close()
    if _holder.zygote is not None:
        return _holder.zygote
    task = _holder.starting
    if task is None or task.get_loop() is not loop or task.done():
        task = _holder.starting = loop.create_task(Zygote.start())
    try:
        zygote = await asyncio.shield(task)
    finally:
        if task.done() and _holder.starting is task:
            _holder.starting = None
    _holder.zygote = zygote
    return zygote


async def run_forked(request: bytes, wall_seconds: float, max_output_bytes: int) -> ChildRun:
    for attempt in (1, 2):
        zygote = await get_zygote()
        try:
            run = await zygote.run(request, wall_seconds, max_output_bytes)
        except ZygoteDiedError:
            if attempt == 2:
                return ChildRun(harmed_sandbox=True)
            logger.warning("sandbox zygote died during a run; retrying on a fresh one")
            continue
        problem = zygote.health() if run.timed_out else None
        if problem is None:
            return run
        # It timed out because its zygote was stopped or slowed: owed a rerun on a fresh one.
        logger.warning("sandbox zygote %s unhealthy after a run timed out: %s", zygote.pid, problem)
        if attempt == 2:
            return ChildRun(harmed_sandbox=True)
    raise AssertionError("unreachable")


def shutdown() -> None:
    """Stop this process's zygote (the worker calls it on exit; the zygote would also exit on
    its own when the worker dies, as its control socket then reaches end of file)."""
    zygote, _holder.zygote = _holder.zygote, None
    if zygote is not None:
        zygote.close()


def zygote_pid() -> int | None:
    """The zygote proper (the runs' parent), not the launcher the worker started."""
    zygote = _holder.zygote
    return zygote.pid if zygote is not None and zygote.alive else None
