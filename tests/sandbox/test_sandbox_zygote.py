"""Fork mode's zygote: clean and jailed, restarted when it dies, and the mode knob."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import uuid
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from config.settings import Settings
from sandbox import jail, seccomp_bpf, zygote_client
from sandbox.protocol import child_env
from sandbox.runner import SandboxLimits, run_program
from tests.sandbox.procs import sandbox_children

IS_ROOT = os.geteuid() == 0
LIMITS = SandboxLimits(wall_seconds=10.0, cpu_seconds=3)
HOLD = """
class Strategy:
    def should_trade(self, data):
        return Decision(operation="hold", reasoning="fine")
"""
SLEEPS_THEN_HOLDS = """
class Strategy:
    def should_trade(self, data):
        for k in ().__class__.__base__.__subclasses__():
            if k.__name__ == "_wrap_close":
                k.__init__.__globals__["sys"].modules["time"].sleep(1)
        return Decision(operation="hold", reasoning="slept")
"""
RANDOM = """
import random
import numpy as np

class Strategy:
    def should_trade(self, data):
        return Decision(operation="hold", reasoning=f"{random.random()} {np.random.rand()}")
"""


@pytest.fixture
def fork_only(sandbox_mode: str) -> None:
    if sandbox_mode != "fork":
        pytest.skip("about the fork mode's zygote")


async def _zygote_pid() -> int:
    assert (await run_program(HOLD, {}, LIMITS)).ok
    pid = zygote_client.zygote_pid()
    assert pid is not None
    return pid


def _state(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None


@pytest.mark.usefixtures("fork_only")
async def test_zygote_starts_clean(monkeypatch: pytest.MonkeyPatch) -> None:
    """Started by exec with the scrubbed environment after the worker has secrets: none of
    them is in its environment or (checked as root, it is not dumpable) anywhere in its memory;
    it runs in network and PID namespaces of its own (root there: it gives each run a uid and a
    PID namespace of its own, see sandbox/jail.py), and shares no writable memory with its
    children."""
    secret = f"zygote-canary-{uuid.uuid4().hex}"
    monkeypatch.setenv("HYPERORU_ZYGOTE_CANARY", secret)
    in_memory = [secret]  # noqa: F841 - a live object holding it in this (worker) process
    zygote_client.shutdown()
    pid = await _zygote_pid()
    proc = Path(f"/proc/{pid}")
    status = (proc / "status").read_text()
    assert re.search(r"^Seccomp:\s+2$", status, re.M) and re.search(
        r"^NoNewPrivs:\s+1$", status, re.M
    )
    maps = (proc / "maps").read_text() if IS_ROOT else ""
    assert not [m for m in maps.splitlines() if re.match(r"\S+ rw-s ", m)], maps
    if not IS_ROOT:
        pytest.skip("reading a non-dumpable process's environment and memory needs root")
    env = dict(item.split("=", 1) for item in (proc / "environ").read_text().split("\0") if item)
    assert env == child_env()
    assert os.readlink(proc / "ns/net") != os.readlink("/proc/self/ns/net")
    assert os.readlink(proc / "ns/pid") != os.readlink("/proc/self/ns/pid")
    assert re.search(r"^NSpid:\s+\d+\s+1$", status, re.M), status  # pid 1 in its namespace
    needle = secret.encode()
    with open(proc / "mem", "rb", buffering=0) as mem:
        for line in maps.splitlines():
            span, perms = line.split()[:2]
            if not perms.startswith("r"):
                continue
            start, end = (int(x, 16) for x in span.split("-"))
            try:
                mem.seek(start)
                chunk = mem.read(end - start)
            except (OSError, OverflowError, ValueError):
                continue  # e.g. [vvar]
            assert needle not in chunk, line


@pytest.mark.usefixtures("fork_only")
async def test_dead_zygote_is_restarted_between_runs() -> None:
    old = await _zygote_pid()
    os.kill(old, signal.SIGKILL)
    result = await run_program(HOLD, {}, LIMITS)
    assert result.ok, result
    assert zygote_client.zygote_pid() not in (None, old)


@pytest.mark.usefixtures("fork_only")
async def test_run_survives_the_zygote_dying_under_it() -> None:
    old = await _zygote_pid()
    baseline = sandbox_children()  # e.g. a Temporal dev server started by another test
    task = asyncio.create_task(run_program(SLEEPS_THEN_HOLDS, {}, LIMITS))
    while not (children := sandbox_children() - baseline):
        await asyncio.sleep(0.02)
    os.kill(old, signal.SIGKILL)
    result = await task
    assert result.ok and (result.decision or {})["reasoning"] == "slept", result
    assert zygote_client.zygote_pid() not in (None, old)
    # The orphaned child died with its zygote (parent-death signal), it did not run on.
    for pid in children:
        while _state(pid) not in (None, "Z"):
            await asyncio.sleep(0.05)


async def test_runs_get_fresh_random_state(snapshot: dict[str, Any]) -> None:
    first, second = [await run_program(RANDOM, snapshot, LIMITS) for _ in range(2)]
    assert first.ok and second.ok, (first, second)
    assert first.decision != second.decision


async def test_mode_knob(sandbox_mode: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="fork, spawn"):
        await run_program(HOLD, {}, LIMITS, mode="thread")
    assert Settings().sandbox_mode == sandbox_mode  # HYPERORU_SANDBOX_MODE, set by the fixture
    monkeypatch.delenv("HYPERORU_SANDBOX_MODE")
    assert Settings(_env_file=None).sandbox_mode == "fork"  # type: ignore[call-arg]
    assert Settings(sandbox_mode="spawn").sandbox_mode == "spawn"
    with pytest.raises(ValidationError):
        Settings(sandbox_mode="thread")  # type: ignore[arg-type]


@pytest.mark.usefixtures("fork_only")
async def test_many_overlapping_runs(snapshot: dict[str, Any]) -> None:
    """Runs start and finish all the time, so pipe fd numbers are reused at once: each run must
    close its own fds exactly once (a regression: a double close hit another run's pipe)."""
    baseline = sandbox_children()
    slots = asyncio.Semaphore(8)
    code = HOLD.replace('"fine"', "str(data.get_price('BTC'))")

    async def one() -> str:
        async with slots:
            result = await run_program(code, snapshot, LIMITS)
            assert result.ok, result
            return str((result.decision or {})["reasoning"])

    reasons = await asyncio.gather(*(one() for _ in range(120)))
    assert set(reasons) == {str(float(snapshot["prices"]["BTC"]))}
    assert sandbox_children() - baseline == set()


def test_precompiled_seccomp_matches_libseccomp() -> None:
    """The zygote compiles the filter once; a child patches its pid into it. Patched for any
    pid it is byte for byte what libseccomp builds for that pid."""
    jail.preload_pyseccomp()
    compiled = jail.precompile_seccomp()
    assert compiled is not None and compiled.pid_slots
    for pid in (2, 4321, 4_194_303):
        assert compiled.for_pid(pid) == seccomp_bpf.export(jail.build_seccomp_filter(pid))


async def test_signals_to_itself_still_work(snapshot: dict[str, Any]) -> None:
    code = """
class Strategy:
    def should_trade(self, data):
        for k in ().__class__.__base__.__subclasses__():
            if k.__name__ == "_wrap_close":
                os = k.__init__.__globals__["sys"].modules["os"]
        os.kill(os.getpid(), 0)
        return Decision(operation="hold", reasoning="signalled myself")
"""
    result = await run_program(code, snapshot, LIMITS)
    assert result.ok, result
