"""Spawn-mode child entry point: `python -I sandbox/boot.py [UID ROOT]`, one request on stdin,
one result line out (the protocol is in sandbox/serve.py). UID and ROOT: the run's own identity
and the empty directory it chroots into (sandbox/jail.py), given by the worker that started it.
Fork mode uses sandbox/zygote.py instead."""

from __future__ import annotations

import os
import sys

if __name__ == "__main__":  # -I leaves the script's directory off sys.path; add the repo root
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from sandbox import protocol  # noqa: E402 - needs the sys.path entry above
from sandbox.serve import emit, read_all, serve  # noqa: E402


def main() -> None:
    try:
        raw = read_all(0)
        # Heavy and third-party imports only now (and all of them now, see jail.py).
        from sandbox import program

        program.preload()
    except Exception as exc:  # a broken install: the parent's problem
        emit(1, {"ok": False, "error_code": protocol.SANDBOX_FAILURE, "error": f"boot: {exc!r}"})
        return
    from sandbox import jail

    uid, root = (int(sys.argv[1]), sys.argv[2]) if len(sys.argv) == 3 else (None, None)

    def isolate(limits: dict) -> dict:
        return jail.apply(limits["cpu_seconds"], limits["memory_mb"], uid, root).as_dict()

    serve(raw, isolate)


if __name__ == "__main__":
    try:
        main()
    except BaseException:
        import traceback

        traceback.print_exc(file=sys.__stderr__)  # the parent maps e.g. MemoryError from here
        os._exit(70)
    # Skip interpreter teardown: no atexit hooks or finalizers the program may have planted.
    os._exit(0)
