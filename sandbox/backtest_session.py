"""Worker side of a backtest session: one program over one backtest's candles, step by step.

`BacktestSession(code, candles, limits, seed)` (an async context manager) answers
`step(step, at_ms, account)` with the same `SandboxResult` that `run_program` gives for the
full snapshot at that step (the rows of sandbox/backtest_candles.py's window rule, plus
`account`), in backtest mode (sandbox/determinism.py), at a fraction of the cost: the candles
go to the session once, and each step sends only its small part.

Fork mode: the backtest zygote forks a session parent for the run (sandbox/session_host.py,
where the isolation is argued), which forks a fresh, jailed child per step. The worker drives
each step as it drives a live run (the same pipes, wall-clock limit, output cap, and the same
reading of the result, sandbox/runner.interpret), so a crash, timeout, memory blow-up or bad
output gives the same error code as live, and the session goes on with the next step. If the
session parent dies during a step (or stops answering), the step is rerun once on a fresh
session; if that happens again the program is taken to be the cause (`PROGRAM_ERROR`), as
live runs on a zygote do. Closing the session (or the worker dying) ends it and its step.

Spawn mode (HYPERORU_SANDBOX_MODE=spawn) has no parent to hold anything: each step falls back to
`run_program` with the full snapshot, a fresh interpreter per step.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from dataclasses import asdict
from types import TracebackType
from typing import Any

import orjson

from sandbox import protocol as p
from sandbox.backtest_candles import Candles, encode_setup, klines_at
from sandbox.compile_check import CheckerUnavailableError, check_program
from sandbox.pipes import read_capped, write_all
from sandbox.process import STDERR_KEEP_BYTES, ChildRun
from sandbox.runner import (
    BacktestContext,
    SandboxLimits,
    SandboxResult,
    default_mode,
    failure,
    interpret,
    run_program,
)
from sandbox.zygote_channel import RunChannel, StartedRun, ZygoteDiedError
from sandbox.zygote_client import get_zygote

logger = logging.getLogger(__name__)

_READY_TIMEOUT = 60.0  # reading a long history on a loaded machine
_EXIT_TIMEOUT = 5.0


class _SessionLink(RunChannel):
    """The worker's end of one session parent (its runs are the backtest's steps)."""

    name = "the backtest session"

    def __init__(self, control: socket.socket, stop: Any) -> None:
        super().__init__(control)
        self.stop = stop  # ends the session parent for good (the zygote kills it)

    def close(self) -> None:
        super().close()
        self.stop()


class BacktestSession:
    def __init__(
        self,
        code: str,
        candles: Candles,
        limits: SandboxLimits = SandboxLimits(),
        seed: int = 0,
        *,
        mode: str | None = None,
    ) -> None:
        self.code, self.candles, self.limits, self.seed = code, candles, limits, seed
        self.mode = mode or default_mode()
        self.setup: bytes | None = None
        self.problem: SandboxResult | None = None  # every step's answer (an invalid program)
        self.link: _SessionLink | None = None
        self.next: StartedRun | None = None  # the next step's process, forked ahead
        # Steps run one at a time (a backtest's steps follow each other anyway): a session
        # parent ends what is left of a step when the next one starts.
        self.one_at_a_time = asyncio.Lock()
        self.stderr_task: asyncio.Task[tuple[bytes, bool]] | None = None

    async def __aenter__(self) -> BacktestSession:
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def open(self) -> None:
        """Check the program once; in fork mode start the session parent. ValueError for a
        history that is not one (sandbox/backtest_candles.encode_setup)."""
        started = time.monotonic()
        try:
            problems = await check_program(self.code, budget_seconds=self.limits.compile_seconds)
        except CheckerUnavailableError as exc:
            problems, code = [str(exc)], p.SANDBOX_FAILURE
        else:
            code = p.INVALID_PROGRAM
        if problems:
            self.problem = failure(code, "\n".join(problems), started)
            return
        if self.mode == "fork":
            self.setup = encode_setup(self.code, asdict(self.limits), self.seed, self.candles)
            await self._start()

    async def step(self, step: int, at_ms: int, account: dict[str, Any]) -> SandboxResult:
        """The program's answer at the close `at_ms` of bar `step`; never raises for anything
        the program does."""
        if self.problem is not None:
            return self.problem
        context = BacktestContext(seed=self.seed, step=step, now_ms=at_ms)
        if self.mode != "fork":
            snapshot = {**account, "klines": klines_at(self.candles, at_ms)}
            return await run_program(
                self.code, snapshot, self.limits, mode=self.mode, backtest=context
            )
        started = time.monotonic()
        message = {"step": step, "at_ms": at_ms, "seed": self.seed, "account": account}
        try:
            request = orjson.dumps(message, option=orjson.OPT_NON_STR_KEYS)
        except TypeError as exc:
            return failure(p.SANDBOX_FAILURE, f"account is not JSON-serialisable: {exc}", started)
        try:
            async with self.one_at_a_time:
                run = await self._run(request)
        except Exception as exc:  # e.g. fork failure (EAGAIN/ENOMEM): a platform fault
            logger.exception("could not run a backtest step")
            return failure(p.SANDBOX_FAILURE, f"could not start the sandbox: {exc!r}", started)
        return interpret(run, self.limits, started)

    async def _run(self, request: bytes) -> ChildRun:
        for attempt in (1, 2):
            if self.link is None or not self.link.alive:
                await self._start()
            link = self.link
            assert link is not None
            started, self.next = self.next, None
            try:
                run = await link.run(
                    request, self.limits.wall_seconds, self.limits.max_output_bytes, True, started
                )
            except ZygoteDiedError:
                logger.warning("backtest session died during a step; rerunning it on a fresh one")
                self._drop()
                if attempt == 2:
                    return ChildRun(harmed_sandbox=True)
                continue
            if run.timed_out and run.returncode is None:
                # The step was killed but the session never reported its exit: it is not
                # answering (it may be stopped). Not the program's doing as far as we know: a
                # fresh session for the next step, and this one's TIMEOUT stands.
                self._drop()
            else:
                self._fork_ahead()
            return run
        raise AssertionError("unreachable")

    def _fork_ahead(self) -> None:
        """Have the next step's process forked (and jailed) now, while the caller works out
        the next step's input: only its input and its run are left for the next step."""
        if self.link is not None and self.link.alive and self.next is None:
            with contextlib.suppress(ZygoteDiedError):
                self.next = self.link.start_run()

    async def _start(self) -> None:
        """A session parent from the backtest zygote, loaded with the setup."""
        assert self.setup is not None
        self._drop()
        zygote = await get_zygote("backtest")
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        setup_r, setup_w = os.pipe()
        err_r, err_w = os.pipe()
        try:
            session_id, exited = zygote.start_session([setup_r, theirs.fileno(), err_w])
        except BaseException:
            for fd in (setup_w, err_r):
                os.close(fd)
            ours.close()
            raise
        finally:
            for fd in (setup_r, err_w):
                os.close(fd)
            theirs.close()

        def stop() -> None:
            zygote.kill(session_id)

        link = self.link = _SessionLink(ours, stop)
        exited.add_done_callback(lambda _: link._mark_dead("the backtest session exited"))
        self.stderr_task = asyncio.get_running_loop().create_task(
            read_capped(err_r, STDERR_KEEP_BYTES, None)
        )
        self.stderr_task.add_done_callback(lambda _: os.close(err_r))
        try:
            await write_all(setup_w, self.setup)
        finally:
            os.close(setup_w)
        try:
            await asyncio.wait_for(asyncio.shield(link.ready), _READY_TIMEOUT)
        except (TimeoutError, ZygoteDiedError) as exc:
            self._drop()
            raise ZygoteDiedError(f"the backtest session did not start: {exc!r}") from exc
        self._fork_ahead()

    def _drop(self) -> None:
        started, self.next = self.next, None
        if started is not None:
            started.discard()
        link, self.link = self.link, None
        if link is not None:
            link.close()
        task, self.stderr_task = self.stderr_task, None
        if task is not None and task.done() and not task.cancelled():
            stderr = task.result()[0]
            if stderr:
                logger.warning("backtest session stderr: %s", stderr[-2000:])

    async def close(self) -> None:
        task = self.stderr_task
        self._drop()
        if task is not None:  # the session's stderr reaches end of file once it is gone
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(task), _EXIT_TIMEOUT)
