"""Child side, shared by both modes: one request in, one JSON result line out.

Request (JSON): {"code": str, "snapshot": dict, "limits": {"cpu_seconds", "memory_mb",
"max_output_bytes", ...}}. Result (one JSON line on the result fd): {"ok": true, "decision":
{...}, "logs": str, "isolation": {...}} or {"ok": false, "error_code", "error", "logs", ...}.
The parent treats the result as untrusted: a hostile program can write to the channel too, which
is harmless because everything is re-validated there.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

from sandbox import protocol

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
        from sandbox.market_data import MarketData

        data = MarketData(snapshot)
    except Exception as exc:  # a malformed request: the parent's problem
        emit(1, {"ok": False, "error_code": protocol.SANDBOX_FAILURE, "error": f"boot: {exc!r}"})
        return
    try:
        compiled = compile(code, "<program>", "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as exc:
        emit(1, {"ok": False, "error_code": protocol.INVALID_PROGRAM, "error": str(exc)})
        return

    from sandbox.runtime import run_isolated

    # The result channel is a private copy of stdout; fds 0/1 then point at /dev/null so that
    # C-level writes (or a program writing to fd 1) cannot corrupt it by accident.
    result_fd = os.dup(1)
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
    outcome = run_isolated(
        code, compiled, data, int(limits["max_output_bytes"]), int(limits["memory_mb"])
    )
    outcome["isolation"] = isolation
    emit(result_fd, outcome)


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
