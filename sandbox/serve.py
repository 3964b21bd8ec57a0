"""Child side, shared by both modes: one request in, one JSON result line out.

Request (JSON): {"code": str, "snapshot": dict, "limits": {"cpu_seconds", "memory_mb",
"max_output_bytes", ...}, "backtest": {"seed", "step", "now_ms"} (optional: backtest mode, see
sandbox/determinism.py)}. On the result fd, one JSON line each: {"program_started": true,
"isolation": {...}} once jailed, just before user code runs (sandbox.protocol.PROGRAM_STARTED),
then the result: {"ok": true, "decision": {...}, "logs": str} or {"ok": false, "error_code",
"error", "logs"}; a failure before user code runs is a result without the first line.
The parent treats everything after the first line as untrusted: a hostile program can write to
the channel too, which is harmless because everything is re-validated (and any failure then
counted as the program's) there.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from types import CodeType
from typing import TYPE_CHECKING, Any

from sandbox import determinism, protocol

if TYPE_CHECKING:
    from sandbox.market_data import MarketData

# Jails the process for one run (given the request's limits); returns the isolation report.
Isolate = Callable[[dict[str, Any]], dict[str, Any]]


def serve(raw: bytes, isolate: Isolate) -> None:
    """Run one request in this (child) process. Never returns early without emitting a result,
    except when the interpreter itself dies (the parent maps the exit status)."""
    try:
        request = json.loads(raw)
        code: str = request["code"]
        snapshot: dict = request["snapshot"]
        limits: dict = request["limits"]
        backtest = request.get("backtest")
        context = None if backtest is None else determinism.BacktestContext.from_json(backtest)
        from sandbox.market_data import MarketData

        data = MarketData(snapshot)
    except Exception as exc:  # a malformed request: the parent's problem
        emit(1, {"ok": False, "error_code": protocol.SANDBOX_FAILURE, "error": f"boot: {exc!r}"})
        return
    try:
        compiled = compile(code, "<program>", "exec", dont_inherit=True)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        # The parent checked it already (sandbox/compile_check.py); this is a second line.
        error = f"program cannot be compiled: {type(exc).__name__}: {exc}"
        emit(1, {"ok": False, "error_code": protocol.INVALID_PROGRAM, "error": error})
        return
    run_jailed(code, compiled, data, limits, context, isolate)


def run_jailed(
    code: str,
    compiled: CodeType,
    data: MarketData,
    limits: dict[str, Any],
    context: determinism.BacktestContext | None,
    isolate: Isolate,
    devnull: int | None = None,
    hang_up: bool = False,
) -> None:
    """Jail this process, then run the program on `data` and emit its result on fd 1 (also a
    backtest session's steps, sandbox/session_host.py, which bring their own /dev/null: they
    start inside an empty root). `hang_up`: close the result channel and stderr once the
    result is out, so that the worker has it before this process has finished exiting."""
    from sandbox.runtime import run_isolated

    # The result channel is a private copy of stdout; fds 0/1 then point at /dev/null so that
    # C-level writes (or a program writing to fd 1) cannot corrupt it by accident.
    result_fd = os.dup(1)
    if devnull is None:
        devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    os.close(devnull)
    try:
        isolation = isolate(limits)
    except Exception as exc:  # fail closed: never run the program half-isolated
        emit(result_fd, {"ok": False, "error_code": protocol.SANDBOX_FAILURE,
                         "error": f"isolation failed: {exc!r}"})  # fmt: skip
        return
    emit(result_fd, {protocol.PROGRAM_STARTED: True, "isolation": isolation})
    if context is not None:  # last, so that nothing of the sandbox's own runs on the shims
        determinism.apply(context)
    outcome = run_isolated(
        code, compiled, data, int(limits["max_output_bytes"]), int(limits["memory_mb"])
    )
    emit(result_fd, outcome)
    if hang_up:
        os.close(result_fd)
        os.close(2)


def read_all(fd: int) -> bytes:
    chunks: list[bytes] = []
    while chunk := os.read(fd, 1 << 16):
        chunks.append(chunk)
    return b"".join(chunks)


def emit(fd: int, payload: dict) -> None:
    line = (json.dumps(payload, default=str) + "\n").encode("utf-8", "replace")
    view = memoryview(line)
    while view:
        written = os.write(fd, view)
        view = view[written:]
