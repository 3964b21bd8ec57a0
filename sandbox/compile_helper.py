"""The program checker's helper process: `python -I sandbox/compile_helper.py`.

Started by sandbox/compile_check.py (with the minimal child environment, so it holds no secret)
and kept for many requests. It only parses and compiles program text, never runs it, but the
text is hostile: a few hundred kilobytes can take seconds and gigabytes to compile. So it runs
under its own address-space limit, drops to user `nobody` when started as root, and before each
request sets its CPU limit a little past that request's budget (the parent kills it at the
budget itself; the CPU limit is the backstop should the parent not).

Protocol, one JSON line each way (ASCII: the text travels \\u-escaped):
  parent -> helper: {"code": str, "budget": seconds}
  helper -> parent: {"ready": true} once at start, then per request
                    {"imports": [problem, ...], "problems": [problem, ...], "retire": bool}
                    (retire: it used a lot of memory; the parent replaces it)
End of file on stdin: exit.
"""

from __future__ import annotations

import json
import math
import os
import resource
import sys
import warnings
from typing import Any

if __name__ == "__main__":  # -I leaves the script's directory off sys.path; add the repo root
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import unicodedata  # noqa: E402, F401 - the parser imports it for non-ASCII identifiers

from sandbox.validate import analyse  # noqa: E402 - needs the sys.path entry above

# Address space of the helper: the interpreter takes ~15 MB; the largest legitimate programs
# (MAX_CODE_CHARS) compile in well under 200 MB.
MEMORY_MB = 512
# A helper whose peak memory passed this asks to be replaced after its answer: what a huge
# compile leaves fragmented must not make a later, ordinary program look too big.
RETIRE_MB = 256
# At most this many problems of each kind are reported (20,000 forbidden imports would
# otherwise make a 6 MB answer).
MAX_PROBLEMS = 50
NOBODY = 65534


def confine() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_MB << 20, MEMORY_MB << 20))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
    if os.geteuid() == 0:
        try:
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
        except OSError:
            pass  # e.g. no CAP_SETUID in a container: the limits still hold
    # No new processes; counted per uid and root is exempt, hence after the drop.
    resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))
    # Compiling emits SyntaxWarnings (e.g. for "\\d"): a program full of them must not fill
    # a stderr pipe nobody reads and stall the helper.
    warnings.simplefilter("ignore")


def set_cpu_budget(budget: float) -> None:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    soft = math.ceil(usage.ru_utime + usage.ru_stime + budget) + 1
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


def capped(problems: list[str]) -> list[str]:
    if len(problems) <= MAX_PROBLEMS:
        return problems
    more = len(problems) - MAX_PROBLEMS
    return [*problems[:MAX_PROBLEMS], f"... and {more} more problems of this kind"]


def answer(line: bytes) -> dict[str, Any]:
    request = json.loads(line)
    set_cpu_budget(float(request["budget"]))
    imports, problems = analyse(str(request["code"]))
    return {
        "imports": capped(imports),
        "problems": capped(problems),
        "retire": peak_mb() > RETIRE_MB,
    }


def peak_mb() -> int:
    """This process's own peak resident memory. Not getrusage's ru_maxrss: that keeps the peak
    of the process it was forked from (a large worker or API), so every helper would retire."""
    try:
        with open("/proc/self/status", "rb") as status:
            for line in status:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1]) // 1024  # kB
    except (OSError, ValueError, IndexError):
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


def reply(message: dict) -> None:
    sys.stdout.buffer.write(json.dumps(message).encode() + b"\n")
    sys.stdout.buffer.flush()


def main() -> None:
    confine()
    reply({"ready": True})
    while line := sys.stdin.buffer.readline():
        reply(answer(line))


if __name__ == "__main__":
    main()
