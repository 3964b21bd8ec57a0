"""Worker side of fork mode: one pre-warmed zygote per worker process, many runs at once.

`run_forked()` gives the same ChildRun as spawn mode's `sandbox.process.run_child`. The zygote
is started on first use (or by the worker at start-up). Before each run it is checked against
its state at start (sandbox/zygote_health.py): dead, stopped, niced, rescheduled, pinned or
limited, it is replaced. The runs it owes are rerun once on the fresh one: those it took down
with it, and those that timed out while it was not healthy. A run during which that happens
twice is taken to be the cause: it is recorded as that program's failure (`harmed_sandbox`),
not as a platform failure, which would be retried and would take other runs down again.

There is one zygote per kind: "live" for the traders' runs, "backtest" (started only when a
backtest first needs it) for backtest runs and sessions, which hash strings with seed 0
(sandbox/determinism.py): the live zygote is left exactly as it was.
"""

from __future__ import annotations

import asyncio
import logging

from sandbox.process import ChildRun
from sandbox.zygote_channel import Zygote, ZygoteDiedError

logger = logging.getLogger(__name__)

__all__ = ["ZygoteDiedError", "get_zygote", "run_forked", "shutdown", "zygote_pid"]

KINDS = ("live", "backtest")


class _Holder:
    def __init__(self) -> None:
        self.zygote: Zygote | None = None
        self.starting: asyncio.Task[Zygote] | None = None


_holders = {kind: _Holder() for kind in KINDS}


async def get_zygote(kind: str = "live") -> Zygote:
    """The worker's zygote of `kind`, started on first use (or after it died, or on a new event
    loop)."""
    holder = _holders[kind]
    loop = asyncio.get_running_loop()
    current = holder.zygote
    if current is not None and current.loop is loop and current.alive:
        problem = current.health()
        if problem is not None:
            logger.warning("sandbox zygote %s replaced: %s", current.pid, problem)
            holder.zygote = None
            current.close()
    elif current is not None:
        holder.zygote = None
        current.close()
    if holder.zygote is not None:
        return holder.zygote
    task = holder.starting
    if task is None or task.get_loop() is not loop or task.done():
        task = holder.starting = loop.create_task(Zygote.start(kind))
    try:
        zygote = await asyncio.shield(task)
    finally:
        if task.done() and holder.starting is task:
            holder.starting = None
    holder.zygote = zygote
    return zygote


async def run_forked(
    request: bytes, wall_seconds: float, max_output_bytes: int, kind: str = "live"
) -> ChildRun:
    for attempt in (1, 2):
        zygote = await get_zygote(kind)
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
    """Stop this process's zygotes (the worker calls it on exit; a zygote would also exit on
    its own when the worker dies, as its control socket then reaches end of file)."""
    for holder in _holders.values():
        zygote, holder.zygote = holder.zygote, None
        if zygote is not None:
            zygote.close()


def zygote_pid(kind: str = "live") -> int | None:
    """The zygote proper (the runs' parent), not the launcher the worker started."""
    zygote = _holders[kind].zygote
    return zygote.pid if zygote is not None and zygote.alive else None
