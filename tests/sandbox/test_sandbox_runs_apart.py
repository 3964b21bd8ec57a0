"""Each run is alone (issue 20): its own uid and PID namespace, nothing of it outlives it, and a
zygote harmed anyhow is noticed and replaced, the runs it owes rerun.

The escape corpus (escape_corpus.py, "other runs and the zygote") has the attacks a program can
make; here the test itself (root, outside) does what such an attack would do to the zygote, to
check the worker notices it, and looks at the runs from outside.
"""

from __future__ import annotations

import asyncio
import os
import resource
import signal
from pathlib import Path
from typing import Any

import pytest

from sandbox import jail, zygote_client
from sandbox.runner import SandboxLimits, run_program

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="run identities need root")
LIMITS = SandboxLimits(wall_seconds=4.0, cpu_seconds=3)
# Reports its uid, pid and parent as the run sees them, after a short sleep.
WHO = """
class Strategy:
    def should_trade(self, data):
        for k in ().__class__.__base__.__subclasses__():
            if k.__name__ == "_wrap_close":
                os = k.__init__.__globals__["sys"].modules["os"]
                time = k.__init__.__globals__["sys"].modules["time"]
        time.sleep(SLEEP)
        return Decision(operation="hold", reasoning=f"{os.getuid()} {os.getpid()} {os.getppid()}")
"""


def who(sleep: float = 0.0) -> str:
    return WHO.replace("SLEEP", str(sleep))


def _uid_of(pid: int) -> int | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    line = next(x for x in status.splitlines() if x.startswith("Uid:"))
    return int(line.split()[1])


def _processes_of_runs() -> set[int]:
    """Every live (not zombie) process on the machine running as a run identity."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            uid = _uid_of(int(entry.name))
            if uid is not None and uid >= jail.RUN_UID_FIRST and not _zombie(int(entry.name)):
                found.add(int(entry.name))
    return found


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except OSError:
        return True


async def _gone(pids: set[int]) -> None:
    for _ in range(200):
        if not pids & _processes_of_runs():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"still running: {pids & _processes_of_runs()}")


@pytest.fixture
def fork_only(sandbox_mode: str) -> None:
    if sandbox_mode != "fork":
        pytest.skip("about the fork mode's zygote")


async def test_concurrent_runs_each_have_their_own_uid(snapshot: dict[str, Any]) -> None:
    results = await asyncio.gather(*(run_program(who(0.3), snapshot, LIMITS) for _ in range(6)))
    assert all(r.ok for r in results), results
    uids = [int((r.decision or {})["reasoning"].split()[0]) for r in results]
    assert len(set(uids)) == 6, uids
    assert all(jail.RUN_UID_FIRST <= uid < jail.RUN_UID_FIRST * 2 for uid in uids), uids


@pytest.mark.usefixtures("fork_only")
async def test_a_forked_run_is_alone_in_its_pid_namespace(snapshot: dict[str, Any]) -> None:
    result = await run_program(who(), snapshot, LIMITS)
    assert result.ok, result
    _, pid, ppid = (result.decision or {})["reasoning"].split()
    assert (pid, ppid) == ("1", "0")  # init of its own namespace; no parent in sight


@pytest.mark.usefixtures("fork_only")
@pytest.mark.parametrize(
    "harm",
    ["stop", "nice", "sched_idle", "affinity", "nproc", "rttime", "kill"],
)
async def test_a_harmed_zygote_is_replaced_before_the_next_run(
    snapshot: dict[str, Any], harm: str
) -> None:
    assert (await run_program(who(), snapshot, LIMITS)).ok
    old = zygote_client.zygote_pid()
    assert old is not None
    if harm == "stop":
        os.kill(old, signal.SIGSTOP)
    elif harm == "nice":
        os.setpriority(os.PRIO_PROCESS, old, 19)
    elif harm == "sched_idle":
        os.sched_setscheduler(old, os.SCHED_IDLE, os.sched_param(0))
    elif harm == "affinity":
        os.sched_setaffinity(old, {0})
    elif harm == "nproc":
        resource.prlimit(old, resource.RLIMIT_NPROC, (0, 0))
    elif harm == "rttime":
        resource.prlimit(old, resource.RLIMIT_RTTIME, (4242, resource.RLIM_INFINITY))
    else:
        os.kill(old, signal.SIGKILL)
    result = await run_program(who(), snapshot, LIMITS)
    assert result.ok, result
    new = zygote_client.zygote_pid()
    assert new not in (None, old)
    for _ in range(100):  # the old zygote is gone (killed, then reaped by its launcher)
        if _uid_of(old) is None:
            break
        await asyncio.sleep(0.05)
    assert _uid_of(old) is None


@pytest.mark.usefixtures("fork_only")
async def test_a_run_whose_zygote_is_stopped_under_it_is_rerun(snapshot: dict[str, Any]) -> None:
    """Stopped mid-run, the zygote cannot reap or kill: the run times out, and it is owed a
    rerun on a fresh zygote (not a TIMEOUT of its own)."""
    assert (await run_program(who(), snapshot, LIMITS)).ok
    old = zygote_client.zygote_pid()
    assert old is not None
    task = asyncio.create_task(run_program(who(1.0), snapshot, SandboxLimits(wall_seconds=2.0)))
    await asyncio.sleep(0.3)
    os.kill(old, signal.SIGSTOP)
    result = await task
    assert result.ok, result
    assert zygote_client.zygote_pid() not in (None, old)


@pytest.mark.usefixtures("fork_only")
async def test_a_run_during_which_the_zygote_dies_twice_is_blamed(
    snapshot: dict[str, Any],
) -> None:
    """The run's failure, not the platform's: a SANDBOX_FAILURE would be retried, and a program
    that kills its zygote would take every other run down again on each retry."""
    assert (await run_program(who(), snapshot, LIMITS)).ok
    task = asyncio.create_task(run_program(who(2.0), snapshot, LIMITS))
    for _ in range(2):
        zygote = zygote_client.zygote_pid()
        await asyncio.sleep(0.5)
        assert zygote is not None and zygote_client.zygote_pid() == zygote
        os.kill(zygote, signal.SIGKILL)
        while zygote_client.zygote_pid() in (zygote, None) and not task.done():
            await asyncio.sleep(0.02)
    result = await task
    assert result.error_code == "PROGRAM_ERROR" and "taken to be the cause" in (result.error or "")


async def test_nothing_of_a_run_outlives_it(snapshot: dict[str, Any], sandbox_mode: str) -> None:
    """After a timeout, and after its zygote is killed mid-run, no process runs as that run."""
    baseline = _processes_of_runs()
    task = asyncio.create_task(run_program(who(5.0), snapshot, SandboxLimits(wall_seconds=1.0)))
    while not (runs := _processes_of_runs() - baseline):
        await asyncio.sleep(0.02)
    assert (await task).error_code == "TIMEOUT"
    await _gone(runs)
    if sandbox_mode == "fork":
        task = asyncio.create_task(run_program(who(5.0), snapshot, LIMITS))
        while not (runs := _processes_of_runs() - baseline):
            await asyncio.sleep(0.02)
        zygote = zygote_client.zygote_pid()
        assert zygote is not None
        os.kill(zygote, signal.SIGKILL)  # the kernel ends its PID namespace, runs and all
        await _gone(runs)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    await _gone(_processes_of_runs() - baseline)
