"""Parent side: start the jailed child, feed it, read capped output, always kill and reap it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sandbox import jail
from sandbox.pipes import CappedBuffer
from sandbox.protocol import child_env

logger = logging.getLogger(__name__)

BOOT_SCRIPT = Path(__file__).resolve().with_name("boot.py")
STDERR_KEEP_BYTES = 16_000
_READ_CHUNK = 64 * 1024
_REAP_TIMEOUT = 5.0


@dataclass
class ChildRun:
    stdout: bytes = b""
    stderr: bytes = b""
    returncode: int | None = None
    timed_out: bool = False
    output_overflow: bool = False
    # Fork mode: the zygote died (or was harmed) twice while this run was in flight, and the run
    # is taken to be the cause (sandbox/zygote_client.py).
    harmed_sandbox: bool = False


def interpreter_command(kind: str = "live") -> list[str]:
    """The interpreter of a sandbox process. -I: ignore PYTHON* variables and user
    site-packages, keep the script dir off sys.path. The venv's site-packages (numpy, talib)
    still load, as they come from pyvenv.cfg. Backtest children ("backtest") need one PYTHON*
    variable, PYTHONHASHSEED (see interpreter_env), so they get -s -P (what -I means besides
    ignoring the environment, which is ours entirely anyway)."""
    if kind == "backtest":
        return [sys.executable, "-s", "-P"]
    return [sys.executable, "-I"]


def interpreter_env(kind: str = "live") -> dict[str, str]:
    """The whole environment of a sandbox process: backtests hash strings with seed 0, so
    that a program iterating a set of strings does so in the same order in every process."""
    if kind == "backtest":
        return {**child_env(), "PYTHONHASHSEED": "0"}
    return child_env()


def child_command(uid: int | None = None, root: str | None = None, kind: str = "live") -> list[str]:
    jail_args = [] if uid is None or root is None else [str(uid), root]
    return [*interpreter_command(kind), str(BOOT_SCRIPT), *jail_args]


class _Identities:
    """Run uids of this process (spawn mode): one each for the runs in flight (sandbox/jail.py)."""

    def __init__(self) -> None:
        self.taken: set[int] = set()
        self.root: str | None = None

    def take(self) -> tuple[int | None, str | None]:
        if not jail.is_root():
            return None, None
        free = set(range(1, jail.UIDS_PER_OWNER)) - self.taken
        if not free:
            raise OSError("no free run identity: too many sandbox runs at once")
        slot = min(free)
        self.taken.add(slot)
        if self.root is None:
            self.root = jail.empty_root()
        return jail.run_uid(os.getpid(), slot), self.root

    def give_back(self, uid: int | None) -> None:
        if uid is not None:
            self.taken.discard((uid - jail.RUN_UID_FIRST) % jail.UIDS_PER_OWNER)


_identities = _Identities()


async def run_child(
    request: bytes, wall_seconds: float, max_output_bytes: int, kind: str = "live"
) -> ChildRun:
    uid, root = _identities.take()
    try:
        return await _run_child(request, wall_seconds, max_output_bytes, uid, root, kind)
    finally:
        _identities.give_back(uid)  # the run's process is gone (reaped, or killed and reaped)


async def _run_child(
    request: bytes,
    wall_seconds: float,
    max_output_bytes: int,
    uid: int | None,
    root: str | None,
    kind: str,
) -> ChildRun:
    run = ChildRun()
    proc = await asyncio.create_subprocess_exec(
        *child_command(uid, root, kind),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=interpreter_env(kind),
        cwd="/",
        close_fds=True,
        start_new_session=True,  # own process group: killpg reaches anything it could start
    )
    try:
        async with asyncio.timeout(wall_seconds):
            assert proc.stdout is not None and proc.stderr is not None
            _, (run.stdout, run.output_overflow), (run.stderr, _) = await asyncio.gather(
                _feed(proc, request),
                _read_capped(proc.stdout, max_output_bytes, lambda: _kill_group(proc)),
                _read_capped(proc.stderr, STDERR_KEEP_BYTES, None),
            )
            await proc.wait()
    except TimeoutError:
        run.timed_out = True
    finally:
        # Also on cancellation by the caller: never leave a child behind.
        _kill_group(proc)
        await _reap(proc)
    run.returncode = proc.returncode
    return run


async def _feed(proc: asyncio.subprocess.Process, request: bytes) -> None:
    assert proc.stdin is not None
    try:
        proc.stdin.write(request)
        await proc.stdin.drain()
    except (BrokenPipeError, ConnectionResetError):
        pass  # the child died early; its exit status tells the story
    finally:
        proc.stdin.close()


async def _read_capped(
    stream: asyncio.StreamReader,
    cap: int,
    on_overflow: Callable[[], None] | None,
) -> tuple[bytes, bool]:
    """Read until EOF (or the cap, see CappedBuffer), keeping at most `cap` bytes."""
    buf = CappedBuffer(cap, on_overflow)
    while True:
        chunk = await stream.read(_READ_CHUNK)
        if not chunk or buf.add(chunk):
            break
    return buf.result()


def _kill_group(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is not None:
        return  # already reaped: its pid (and group id) may belong to someone else by now
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    except PermissionError:  # should not happen (we are root or the same uid); be thorough
        with contextlib.suppress(ProcessLookupError):
            proc.kill()


async def _reap(proc: asyncio.subprocess.Process) -> None:
    try:
        await asyncio.wait_for(asyncio.shield(proc.wait()), _REAP_TIMEOUT)
    except TimeoutError:
        logger.error("sandbox child %s did not exit after SIGKILL", proc.pid)
