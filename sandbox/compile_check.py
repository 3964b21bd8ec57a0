"""Checking a program's text without stalling the process that asks (the API, the worker).

Parsing and compiling hold the GIL, and hostile text makes them slow: a 198 KB f-string with
66,000 fields takes ~3 s to compile, a `match` with a few thousand captures gigabytes. So the
compile happens in a separate helper process (sandbox/compile_helper.py: started on first use,
kept, replaced when it dies or overruns), under a time budget (SandboxLimits.compile_seconds)
and the helper's own memory and CPU limits; the caller's event loop only waits. Each program
version is compiled once per process: answers are cached by the SHA-256 of the text and the
budget, and a check already in flight for the same text is shared.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import select
import subprocess
import sys
import threading
import time
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from sandbox.protocol import ERROR_KEEP_CHARS, child_env, clean_text
from sandbox.validate import precheck

logger = logging.getLogger(__name__)

__all__ = ["CheckerUnavailableError", "check_program", "helper_pids", "shutdown", "stats"]

HELPER_SCRIPT = Path(__file__).resolve().with_name("compile_helper.py")
DEFAULT_BUDGET_SECONDS = 2.0
# Helpers (and so checks) at once: one pathological program holds one of them for its budget
# while the other keeps serving.
POOL_SIZE = 2
_CACHE_SIZE = 4096  # answers are small: a hash and (mostly no) problems
_START_TIMEOUT = 30.0  # a fresh interpreter on a possibly loaded machine
_MAX_REPLY = 1 << 20


class CheckerUnavailableError(RuntimeError):
    """The helper process cannot be started: a platform fault, not the program's."""


class _Died(Exception):
    pass


class _Overran(Exception):
    pass


Analysis = tuple[tuple[str, ...], tuple[str, ...]]  # (forbidden imports, other problems)


async def check_program(
    code: object, *, check_imports: bool = False, budget_seconds: float = DEFAULT_BUDGET_SECONDS
) -> list[str]:
    """sandbox.validate.validate_program's answer, computed in the helper process within
    `budget_seconds` (past it, the one problem says the program is too complex to compile)."""
    early = precheck(code)
    if early:
        return early
    assert isinstance(code, str)
    key = (hashlib.sha256(code.encode("utf-8", "surrogatepass")).digest(), budget_seconds)
    found = _lookup_or_start(key, code)
    if isinstance(found, Future):
        # shield: a caller that gives up must not cancel a check that others may share
        found = await asyncio.shield(asyncio.wrap_future(found))
    imports, problems = found
    return [*imports, *problems] if check_imports else list(problems)


def stats() -> dict[str, int]:
    """Counters for tests and diagnostics: compiles sent to helpers, helpers started."""
    with _state.lock:
        return dict(_state.counters)


def helper_pids() -> set[int]:
    """The process ids of the helpers not yet reaped (idle or busy)."""
    with _state.lock:
        return {h.proc.pid for h in _state.live}


def shutdown() -> None:
    """Stop the idle helpers (busy ones stop when their check ends) and forget the cache."""
    with _state.lock:
        idle, _state.idle = _state.idle, []
        _state.cache.clear()
    for helper in idle:
        helper.kill()


class _State:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.cache: OrderedDict[tuple[bytes, float], Analysis] = OrderedDict()
        self.inflight: dict[tuple[bytes, float], Future[Analysis]] = {}
        self.idle: list[_Helper] = []
        self.live: set[_Helper] = set()
        self.counters = {"compiles": 0, "helpers_started": 0}
        self.executor: ThreadPoolExecutor | None = None


_state = _State()


def _lookup_or_start(key: tuple[bytes, float], code: str) -> Analysis | Future[Analysis]:
    """The cached answer, else the check in flight for this text, else a new one."""
    with _state.lock:
        hit = _state.cache.get(key)
        if hit is not None:
            _state.cache.move_to_end(key)
            return hit
        future = _state.inflight.get(key)
        if future is None or future.done():
            if _state.executor is None:
                _state.executor = ThreadPoolExecutor(POOL_SIZE, "program-check")
            future = _state.executor.submit(_check, key, code)
            _state.inflight[key] = future
        return future


def _check(key: tuple[bytes, float], code: str) -> Analysis:
    """In a pool thread: ask a helper, retrying once on a fresh one if it dies mid-check."""
    budget = key[1]
    try:
        for attempt in (1, 2):
            helper = _take_helper()
            try:
                reply = helper.ask(code, budget)
            except _Overran:
                helper.kill()
                result: Analysis = ((), (f"program is too complex to compile within {budget:g} s",))
                break
            except _Died as exc:
                helper.kill()
                logger.warning("program checker died during a check (attempt %d): %s", attempt, exc)
                if attempt == 2:  # twice on the same text: the text is the cause; not cached
                    return ((), ("program could not be compiled: the checker failed on it",))
                continue
            if reply.get("retire") is True:
                helper.kill()
            else:
                _give_back(helper)
            result = (_texts(reply["imports"]), _texts(reply["problems"]))
            break
        with _state.lock:
            _state.cache[key] = result
            while len(_state.cache) > _CACHE_SIZE:
                _state.cache.popitem(last=False)
        return result
    finally:
        with _state.lock:
            _state.inflight.pop(key, None)


def _texts(problems: list[Any]) -> tuple[str, ...]:
    return tuple(clean_text(str(problem), ERROR_KEEP_CHARS) for problem in problems)


def _take_helper() -> _Helper:
    dead: list[_Helper] = []
    with _state.lock:
        while _state.idle and _state.idle[-1].proc.poll() is not None:
            dead.append(_state.idle.pop())  # died while idle (killed from outside, say)
        helper = _state.idle.pop() if _state.idle else None
        if helper is None:
            _state.counters["helpers_started"] += 1
    for gone in dead:
        gone.kill()  # reaps it and forgets it
    return helper or _Helper()


def _give_back(helper: _Helper) -> None:
    with _state.lock:
        _state.idle.append(helper)


class _Helper:
    def __init__(self) -> None:
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-I", str(HELPER_SCRIPT)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=child_env(),  # exec, not fork: no secret of this process is in its memory
                cwd="/",
                close_fds=True,
                start_new_session=True,  # terminal signals go to the API or worker, not here
            )
        except OSError as exc:
            raise CheckerUnavailableError(f"could not start the program checker: {exc!r}") from exc
        try:
            ready = self._read_reply(_START_TIMEOUT)
        except (_Died, _Overran) as exc:
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.wait()
            assert self.proc.stderr is not None
            err = self.proc.stderr.read(4000).decode("utf-8", "replace")
            self.kill()
            raise CheckerUnavailableError(
                f"the program checker did not start: {exc}\n{err}"
            ) from exc
        if ready != {"ready": True}:
            self.kill()
            raise CheckerUnavailableError(f"the program checker did not start: {ready!r}")
        with _state.lock:
            _state.live.add(self)

    def ask(self, code: str, budget: float) -> dict[str, Any]:
        assert self.proc.stdin is not None
        request = json.dumps({"code": code, "budget": budget}).encode() + b"\n"
        with _state.lock:
            _state.counters["compiles"] += 1
        try:
            self.proc.stdin.write(request)
            self.proc.stdin.flush()
        except OSError as exc:  # BrokenPipeError: it is gone
            raise _Died(repr(exc)) from exc
        reply = self._read_reply(budget)
        if not isinstance(reply.get("imports"), list) or not isinstance(
            reply.get("problems"), list
        ):
            raise _Died(f"malformed answer {reply!r:.200}")
        return reply

    def _read_reply(self, timeout: float) -> dict[str, Any]:
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        data = b""
        while not data.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise _Overran(f"no answer within {timeout:g} s")
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                raise _Died(f"exited with {self.proc.wait()}")
            data += chunk
            if len(data) > _MAX_REPLY:
                raise _Died("answer too large")
        try:
            reply = json.loads(data)
        except ValueError as exc:
            raise _Died(f"unreadable answer {data[:200]!r}") from exc
        if not isinstance(reply, dict):
            raise _Died(f"unreadable answer {data[:200]!r}")
        return reply

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        with _state.lock:
            _state.live.discard(self)
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()
