"""Worker side of fork mode: one running zygote and its control channel (see sandbox/zygote.py).

Each run gets three fresh pipes; their child-side ends go to the zygote over the control socket,
which forks the child that uses them. The zygote reports each child's exit status tagged with
the run id; the wall clock is enforced here by asking the zygote to SIGKILL the child (only it
can reap it, so only it can kill it without a pid-reuse race).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import os
import socket
import subprocess
from pathlib import Path
from typing import Any

from sandbox.pipes import read_capped, write_all
from sandbox.process import STDERR_KEEP_BYTES, ChildRun, interpreter_command, interpreter_env
from sandbox.result_channel import read_channel
from sandbox.zygote_health import ProcessState, kill_quietly, read_state, tampered

logger = logging.getLogger(__name__)

ZYGOTE_SCRIPT = Path(__file__).resolve().with_name("zygote.py")
_START_TIMEOUT = 60.0  # imports numpy & co on a possibly loaded machine
_REAP_TIMEOUT = 5.0


class ZygoteDiedError(RuntimeError):
    """The zygote exited (or stopped answering) while a run was in flight."""


class RunChannel:
    """The worker's end of a process that forks runs on request (a zygote, or a backtest
    session: sandbox/session_host.py): run messages with the run's pipes, kills, exits."""

    name = "the sandbox zygote"

    def __init__(self, control: socket.socket) -> None:
        self.control = control
        self.loop = asyncio.get_running_loop()
        self.ids = itertools.count(1)
        self.pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.ready: asyncio.Future[dict[str, Any]] = self.loop.create_future()
        self.dead = False
        control.setblocking(False)
        self.loop.add_reader(control.fileno(), self._on_message)

    @property
    def alive(self) -> bool:
        return not self.dead

    def _on_ready(self, msg: dict[str, Any]) -> None:
        self.ready.set_result(msg)

    def close(self) -> None:
        self._mark_dead(f"{self.name} was stopped")
        self.control.close()

    def _on_message(self) -> None:
        try:
            data = self.control.recv(4096)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._mark_dead(f"{self.name} exited")
            return
        try:
            msg = json.loads(data)
            run_id = int(msg.get("id", -1))
        except (ValueError, TypeError, AttributeError):
            self._mark_dead(f"{self.name} sent a malformed message: {data[:200]!r}")
            self.close()
            return
        if msg.get("op") == "ready" and not self.ready.done():
            self._on_ready(msg)
            return
        future = self.pending.pop(run_id, None)
        if future is not None and not future.done():
            future.set_result(msg)

    def _mark_dead(self, reason: str) -> None:
        if self.dead:
            return
        self.dead = True
        with contextlib.suppress(Exception):
            self.loop.remove_reader(self.control.fileno())
        error = ZygoteDiedError(reason)
        for future in [self.ready, *self.pending.values()]:
            if not future.done():
                future.set_exception(error)
                future.exception()  # retrieved: no "never retrieved" noise for the ready one
        self.pending.clear()

    def _send(self, message: dict[str, Any], fds: list[int] | None = None) -> None:
        data = json.dumps(message).encode()
        try:
            socket.send_fds(self.control, [data], fds or [])
        except OSError as exc:  # full or broken channel: this process is no longer usable
            self._mark_dead(f"the channel to {self.name} failed: {exc!r}")
            raise ZygoteDiedError(str(exc)) from exc

    def kill(self, run_id: int) -> None:
        if not self.dead:
            with contextlib.suppress(ZygoteDiedError):
                self._send({"op": "kill", "id": run_id})

    def start_run(self) -> StartedRun:
        """Have a child forked on three fresh pipes; `run` then feeds and reads it."""
        run_id = next(self.ids)
        stdin_r, stdin_w = os.pipe()
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        exited: asyncio.Future[dict[str, Any]] = self.loop.create_future()
        self.pending[run_id] = exited
        try:
            self._send({"op": "run", "id": run_id}, [stdin_r, out_w, err_w])
        except BaseException:
            for fd in (stdin_w, out_r, err_r):
                os.close(fd)
            raise
        finally:
            for fd in (stdin_r, out_w, err_w):  # the zygote has its own copies now
                os.close(fd)
        return StartedRun(run_id, exited, stdin_w, out_r, err_r)

    async def run(
        self,
        request: bytes,
        wall_seconds: float,
        max_output_bytes: int,
        until_answered: bool = False,
        started: StartedRun | None = None,
    ) -> ChildRun:
        """Run one child (`started` ahead of time, or now) and read it to its end; the wall
        clock starts here. `until_answered` (a backtest session's steps): done once the child
        has closed its output with a result line in it, without waiting for its exit (its status
        means nothing then: sandbox/runner.interpret reads the result); the session ends what
        is left of it before it starts the next step."""
        child = started or self.start_run()
        run_id, exited, close = child.run_id, child.exited, child.close

        async def feed() -> None:
            try:
                await write_all(child.stdin_w, request)
            finally:
                close(child.stdin_w)  # end of file for the child

        run = ChildRun()
        answered = False
        try:
            async with asyncio.timeout(wall_seconds):
                # A task group, not gather: if one part fails the others are cancelled and
                # finished (their fds unregistered from the loop) before the fds are closed.
                async with asyncio.TaskGroup() as tasks:
                    tasks.create_task(feed())
                    out = tasks.create_task(
                        read_capped(child.out_r, max_output_bytes, lambda: self.kill(run_id))
                    )
                    err = tasks.create_task(read_capped(child.err_r, STDERR_KEEP_BYTES, None))
                run.stdout, run.output_overflow = out.result()
                run.stderr = err.result()[0]
                answered = until_answered and not run.output_overflow and _answered(run.stdout)
                if not answered:
                    run.returncode = _status(await exited)
        except TimeoutError:
            run.timed_out = True
        finally:
            child.discard()
            if not exited.done() and not answered:  # timeout, overflow, cancellation:
                # never leave a child
                self.kill(run_id)
                try:
                    msg = await asyncio.wait_for(asyncio.shield(exited), _REAP_TIMEOUT)
                    run.returncode = _status(msg)
                except TimeoutError:
                    logger.error("sandbox run %s did not exit after SIGKILL", run_id)
        return run


class StartedRun:
    """A child asked for, and the worker's ends of its pipes (each closed exactly once: a
    number may be reused at once)."""

    def __init__(
        self,
        run_id: int,
        exited: asyncio.Future[dict[str, Any]],
        stdin_w: int,
        out_r: int,
        err_r: int,
    ) -> None:
        self.run_id, self.exited = run_id, exited
        self.stdin_w, self.out_r, self.err_r = stdin_w, out_r, err_r
        self.owned = {stdin_w, out_r, err_r}

    def close(self, fd: int) -> None:
        if fd in self.owned:
            self.owned.discard(fd)
            os.close(fd)

    def discard(self) -> None:
        """Close what is left (a child never fed reads end of file: its run fails)."""
        for fd in list(self.owned):
            self.close(fd)


class Zygote(RunChannel):
    def __init__(self, proc: subprocess.Popen[bytes], control: socket.socket) -> None:
        super().__init__(control)
        self.proc = proc
        self.pid = proc.pid  # the zygote proper, as this process sees it (from `ready`)
        self.baseline: ProcessState | None = None  # its state once ready (zygote_health)

    @classmethod
    async def start(cls, kind: str = "live") -> Zygote:
        """`kind` "backtest": a zygote whose runs hash with seed 0 (sandbox/determinism.py)."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            # exec, not fork: the zygote must start from a clean memory image (no secrets).
            proc = subprocess.Popen(
                [*interpreter_command(kind), str(ZYGOTE_SCRIPT), str(theirs.fileno())],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                env=interpreter_env(kind),
                cwd="/",
                close_fds=True,
                pass_fds=(theirs.fileno(),),
                start_new_session=True,  # terminal signals go to the worker, not the zygote
            )
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        zygote = cls(proc, ours)
        try:
            await asyncio.wait_for(asyncio.shield(zygote.ready), _START_TIMEOUT)
        except BaseException:
            zygote.close()
            raise
        return zygote

    @property
    def alive(self) -> bool:
        return not self.dead and self.proc.poll() is None

    def _on_ready(self, msg: dict[str, Any]) -> None:
        if isinstance(msg.get("pid"), int):
            self.pid = msg["pid"]
        self.baseline = read_state(self.pid)
        self.ready.set_result(msg)

    def health(self) -> str | None:
        """Why this zygote must not take another run (None: it may)."""
        if not self.alive:
            return "it exited"
        if self.baseline is None:
            return None  # its state could not be read at start (not root, say): not checked
        return tampered(self.baseline, self.pid)

    def close(self) -> None:
        """Stop the zygote: it kills its children and exits on end of file; SIGKILL to be sure
        (the zygote proper too: the kernel then ends every run in its PID namespace)."""
        super().close()
        if self.pid != self.proc.pid and self.proc.poll() is None:
            kill_quietly(self.pid)
        with contextlib.suppress(ProcessLookupError):
            self.proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=_REAP_TIMEOUT)

    def start_session(self, fds: list[int]) -> tuple[int, asyncio.Future[dict[str, Any]]]:
        """Ask for a backtest session (sandbox/session_host.py) on `fds` (its setup pipe, its
        control socket, its stderr): the session's id here, and its exit message to come."""
        session_id = next(self.ids)
        exited: asyncio.Future[dict[str, Any]] = self.loop.create_future()
        self.pending[session_id] = exited
        try:
            self._send({"op": "session", "id": session_id}, fds)
        except BaseException:
            self.pending.pop(session_id, None)
            raise
        return session_id, exited


def _answered(stdout: bytes) -> bool:
    return read_channel(stdout).result is not None


def _status(msg: dict[str, Any]) -> int:
    if msg.get("op") == "error":
        raise OSError(f"the sandbox zygote could not start the run: {msg.get('error')}")
    return int(msg["status"])
