"""Child entry point: `python -I sandbox/boot.py`, one request on stdin, one result line out.

Request (stdin, JSON): {"code": str, "snapshot": dict, "limits": {"cpu_seconds", "memory_mb",
"max_output_bytes"}}. Result (the original stdout, one JSON line): {"ok": true, "decision":
{...}, "logs": str, "isolation": {...}} or {"ok": false, "error_code", "error", "logs", ...}.
The parent treats the result as untrusted: a hostile program can write to the channel too, which
is harmless because everything is re-validated there.
"""

from __future__ import annotations

import json
import os
import sys

if __name__ == "__main__":  # -I leaves the script's directory off sys.path; add the repo root
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from sandbox import protocol  # noqa: E402 - needs the sys.path entry above


def main() -> None:
    try:
        request = json.loads(sys.stdin.buffer.read())
        code: str = request["code"]
        snapshot: dict = request["snapshot"]
        limits: dict = request["limits"]
        # Heavy and third-party imports only now (and all of them now, see jail.py).
        from sandbox import jail, program
        from sandbox.market_data import MarketData
        from sandbox.runtime import run_isolated

        program.preload()
        data = MarketData(snapshot)
    except Exception as exc:  # a malformed request or broken install: the parent's problem
        _emit(1, {"ok": False, "error_code": protocol.SANDBOX_FAILURE, "error": f"boot: {exc!r}"})
        return
    try:
        compiled = compile(code, "<program>", "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as exc:
        _emit(1, {"ok": False, "error_code": protocol.INVALID_PROGRAM, "error": str(exc)})
        return

    # The result channel is a private copy of stdout; fds 0/1 then point at /dev/null so that
    # C-level writes (or a program writing to fd 1) cannot corrupt it by accident.
    result_fd = os.dup(1)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    os.close(devnull)
    try:
        isolation = jail.apply(int(limits["cpu_seconds"]), int(limits["memory_mb"])).as_dict()
    except Exception as exc:  # fail closed: never run the program half-isolated
        _emit(result_fd, {"ok": False, "error_code": protocol.SANDBOX_FAILURE,
                          "error": f"isolation failed: {exc!r}"})  # fmt: skip
        return
    outcome = run_isolated(
        code, compiled, data, int(limits["max_output_bytes"]), int(limits["memory_mb"])
    )
    outcome["isolation"] = isolation
    _emit(result_fd, outcome)


def _emit(fd: int, payload: dict) -> None:
    line = (json.dumps(payload, default=str) + "\n").encode("utf-8", "replace")
    view = memoryview(line)
    while view:
        written = os.write(fd, view)
        view = view[written:]


if __name__ == "__main__":
    try:
        main()
    except BaseException:
        import traceback

        traceback.print_exc(file=sys.__stderr__)  # the parent maps e.g. MemoryError from here
        os._exit(70)
    # Skip interpreter teardown: no atexit hooks or finalizers the program may have planted.
    os._exit(0)
