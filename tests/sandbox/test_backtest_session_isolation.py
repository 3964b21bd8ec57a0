"""A backtest session's steps are alone as live runs are: a fresh process each, its own PID
namespace, the session's own run identity (another backtest has another), nothing left once the
backtest ends, and none of the backtest's history in a step's memory."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import numpy as np
import pytest

from sandbox import jail, zygote_client
from sandbox.backtest_session import BacktestSession
from sandbox.runner import SandboxLimits
from tests.sandbox.backtest_history import account, history, step_time

LIMITS = SandboxLimits(wall_seconds=5.0, cpu_seconds=3)
CANDLES = history(hours=104, symbols=("BTC", "ETH"))
# Reports its uid, pid and parent as the step sees them, after sleeping `data.trigger["step"]`
# tenths of a second.
WHO = """
class Strategy:
    def should_trade(self, data):
        for k in ().__class__.__base__.__subclasses__():
            if k.__name__ == "_wrap_close":
                os = k.__init__.__globals__["sys"].modules["os"]
                time = k.__init__.__globals__["sys"].modules["time"]
        time.sleep(data.trigger["step"] / 10)
        return Decision(operation="hold", reasoning=f"{os.getuid()} {os.getpid()} {os.getppid()}")
"""


@pytest.fixture
def fork_as_root(sandbox_mode: str) -> None:
    if sandbox_mode != "fork":
        pytest.skip("about the fork mode's session parent")
    if os.geteuid() != 0:
        pytest.skip("run identities need root")


async def test_each_step_is_a_fresh_process() -> None:
    """State a step leaves in its interpreter (a module attribute) is not there for the next."""
    code = """
import random

class Strategy:
    def should_trade(self, data):
        random.visits = getattr(random, "visits", 0) + 1
        return Decision(operation="hold", reasoning=str(random.visits))
"""
    async with BacktestSession(code, CANDLES, LIMITS) as session:
        results = [await session.step(s, step_time(s), account(CANDLES, s)) for s in range(3)]
    assert [(r.decision or {}).get("reasoning") for r in results] == ["1", "1", "1"], results


@pytest.mark.usefixtures("fork_as_root")
async def test_a_step_is_alone_under_the_sessions_identity() -> None:
    async with BacktestSession(WHO, CANDLES, LIMITS) as session:
        results = [await session.step(s, step_time(s), account(CANDLES, s)) for s in range(2)]
    seen = [(r.decision or {})["reasoning"].split() for r in results]
    assert [(pid, ppid) for _, pid, ppid in seen] == [("1", "0")] * 2  # its own PID namespace
    uids = {int(uid) for uid, _, _ in seen}
    assert len(uids) == 1 and jail.RUN_UID_FIRST <= uids.pop() < 2 * jail.RUN_UID_FIRST


@pytest.mark.usefixtures("fork_as_root")
async def test_two_backtests_run_under_different_identities() -> None:
    async def uid_of_a_step() -> int:
        async with BacktestSession(WHO, CANDLES, LIMITS) as session:
            result = await session.step(3, step_time(3), account(CANDLES, 3))
        return int((result.decision or {})["reasoning"].split()[0])

    first, second = await asyncio.gather(uid_of_a_step(), uid_of_a_step())
    assert first != second


def _children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[1]) == pid and stat[0] not in ("Z", "X"):
                found.add(int(entry.name))
    return found


@pytest.mark.usefixtures("fork_as_root")
async def test_the_session_ends_with_its_backtest() -> None:
    """Closing the session ends its parent and its step, even one still running."""
    session = BacktestSession(WHO, CANDLES, LIMITS)
    await session.open()
    zygote = zygote_client.zygote_pid("backtest")
    assert zygote is not None
    parents = _children(zygote)
    assert len(parents) == 1
    step = asyncio.create_task(session.step(30, step_time(30), account(CANDLES, 30)))
    await asyncio.sleep(0.5)
    assert len(_children(parents.pop())) == 1  # the step, sleeping
    step.cancel()
    await session.close()
    for _ in range(100):
        if not _children(zygote):
            break
        await asyncio.sleep(0.05)
    assert not _children(zygote)


@pytest.mark.usefixtures("fork_as_root")
async def test_a_step_whose_session_died_is_rerun_on_a_fresh_one() -> None:
    async with BacktestSession(WHO, CANDLES, LIMITS) as session:
        zygote = zygote_client.zygote_pid("backtest")
        assert zygote is not None
        (parent,) = _children(zygote)
        step = asyncio.create_task(session.step(5, step_time(5), account(CANDLES, 5)))
        await asyncio.sleep(0.2)
        os.kill(parent, signal.SIGKILL)
        result = await step
        assert result.ok, result
        assert _children(zygote) - {parent}
        again = await session.step(1, step_time(1), account(CANDLES, 1))
        assert again.ok, again


async def test_the_history_is_not_in_a_steps_memory() -> None:
    """112 MB of 1m candles, a 256 MB memory limit: a step holds only its own windows, so the
    program has the room a live run has (the history would leave it none)."""
    rows = 2_000_000
    opens = 1_500_000_000_000 + np.arange(rows, dtype=np.int64) * 60_000
    table = np.ones((rows, 6))
    table[:, 0] = opens
    candles = {("BTC", "1m"): (opens + 60_000, table)}
    code = """
import numpy as np

class Strategy:
    def should_trade(self, data):
        room = np.ones(8_000_000)  # 64 MB
        return Decision(operation="hold", reasoning=str(len(data.get_klines("BTC", "1m"))))
"""
    limits = SandboxLimits(wall_seconds=10.0, cpu_seconds=3, memory_mb=256)
    at = int(opens[-1]) + 60_000
    acct = account(CANDLES, 0, symbols=("BTC", "ETH"))
    async with BacktestSession(code, candles, limits) as session:  # type: ignore[arg-type]
        result = await session.step(0, at, acct)
    assert result.ok, result
    assert result.decision is not None and result.decision["reasoning"] == "100"


WORKER = """
import asyncio, sys
sys.path.insert(0, ".")
from sandbox import zygote_client
from sandbox.backtest_session import BacktestSession
from sandbox.runner import SandboxLimits
from tests.sandbox.backtest_history import account, history, step_time
from tests.sandbox.test_backtest_session_isolation import WHO

async def main():
    candles = history(hours=104, symbols=("BTC", "ETH"))
    async with BacktestSession(WHO, candles, SandboxLimits(wall_seconds=60)) as session:
        sleeper = {**account(candles, 3), "trigger": {"type": "schedule", "step": 300}}
        step = asyncio.create_task(session.step(3, step_time(3), sleeper))
        await asyncio.sleep(0.5)
        print(zygote_client.zygote_pid("backtest"), flush=True)
        await step

asyncio.run(main())
"""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


@pytest.mark.usefixtures("fork_as_root")
async def test_the_session_ends_with_the_worker() -> None:
    """The worker killed mid-step: its backtest zygote, the session parent and the step go."""
    worker = await asyncio.create_subprocess_exec(
        sys.executable, "-c", WORKER, cwd=Path(__file__).parents[2], stdout=asyncio.subprocess.PIPE
    )
    assert worker.stdout is not None
    zygote = int(await asyncio.wait_for(worker.stdout.readline(), 30))
    (parent,) = _children(zygote)
    (step,) = _children(parent)
    worker.kill()
    await worker.wait()
    for _ in range(100):
        if not any(_alive(pid) for pid in (zygote, parent, step)):
            break
        await asyncio.sleep(0.05)
    assert not any(_alive(pid) for pid in (zygote, parent, step))
