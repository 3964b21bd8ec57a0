"""Is the zygote as it started? What a run could change from outside, read by the worker.

A run is kept from reaching its zygote (sandbox/jail.py), but the worker does not take that on
trust: before each run it compares the zygote with the state it had when it became ready:
stopped (SIGSTOP), niced, rescheduled (SCHED_IDLE), pinned to fewer CPUs, or with other resource
limits (a zygote that cannot fork, or carries a value one run wrote for the next). Any change
and the zygote is replaced (sandbox/zygote_client.py).
"""

from __future__ import annotations

import contextlib
import os
import resource
from dataclasses import dataclass
from pathlib import Path

_LIMITS = tuple(
    sorted(
        getattr(resource, name)
        for name in dir(resource)
        if name.startswith("RLIMIT_") and isinstance(getattr(resource, name), int)
    )
)


@dataclass(frozen=True)
class ProcessState:
    stopped: bool
    nice: int
    policy: int
    affinity: frozenset[int]
    limits: tuple[tuple[int, int], ...]


def read_state(pid: int) -> ProcessState | None:
    """The state of process `pid` (None: it is gone, or cannot be read)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        state = stat.rsplit(")", 1)[1].split()[0]
        limits = tuple(resource.prlimit(pid, which) for which in _LIMITS)
        return ProcessState(
            stopped=state in ("T", "t"),
            nice=os.getpriority(os.PRIO_PROCESS, pid),
            policy=os.sched_getscheduler(pid),
            affinity=frozenset(os.sched_getaffinity(pid)),
            limits=limits,
        )
    except (OSError, IndexError):
        return None


def tampered(before: ProcessState, pid: int) -> str | None:
    """What changed in process `pid` since `before` (None: nothing)."""
    now = read_state(pid)
    if now is None:
        return "it is gone"
    if now.stopped:
        return "it is stopped"
    changes = [
        name
        for name, changed in (
            ("priority", now.nice != before.nice),
            ("scheduling policy", now.policy != before.policy),
            ("CPU affinity", now.affinity != before.affinity),
            ("resource limits", now.limits != before.limits),
        )
        if changed
    ]
    return f"its {', '.join(changes)} changed" if changes else None


def kill_quietly(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, 9)
