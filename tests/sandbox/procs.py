"""The sandbox processes in flight, as seen from /proc (for leak and cleanup checks)."""

from __future__ import annotations

import os
from pathlib import Path

from sandbox import compile_check
from sandbox.zygote_client import zygote_pid


def _parents() -> dict[int, int]:
    parents = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    return parents


def sandbox_children() -> set[int]:
    """Pids (zombies included) of sandbox runs: children of this test process (spawn mode) and
    of the zygote (fork mode); the long-lived zygote (and its launcher) is not a run. Session
    fixtures of other test packages may own long-lived children (database, Temporal), so tests
    compare against a baseline taken at their start. The program checker's helpers are not runs."""
    zygote = zygote_pid()
    parents = _parents()
    owners = {os.getpid()} | ({zygote} if zygote else set())
    # The zygote proper and its launcher (the process this one started) are not runs.
    long_lived = {zygote, parents.get(zygote)} if zygote else set()
    runs = {pid for pid, ppid in parents.items() if ppid in owners} - long_lived
    return runs - compile_check.helper_pids()
