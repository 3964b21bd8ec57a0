"""Constants shared by the parent runner and the sandboxed child.

Kept free of third-party imports: the child imports this before anything else.
"""

from __future__ import annotations

import re
from typing import Final

# Stable error codes reported in SandboxResult.error_code.
PROGRAM_ERROR: Final = "PROGRAM_ERROR"
TIMEOUT: Final = "TIMEOUT"
CPU_LIMIT: Final = "CPU_LIMIT"
MEMORY_LIMIT: Final = "MEMORY_LIMIT"
INVALID_DECISION: Final = "INVALID_DECISION"
OUTPUT_TOO_LARGE: Final = "OUTPUT_TOO_LARGE"
SANDBOX_FAILURE: Final = "SANDBOX_FAILURE"
INVALID_PROGRAM: Final = "INVALID_PROGRAM"

ERROR_CODES: Final = frozenset(
    {
        PROGRAM_ERROR,
        TIMEOUT,
        CPU_LIMIT,
        MEMORY_LIMIT,
        INVALID_DECISION,
        OUTPUT_TOO_LARGE,
        SANDBOX_FAILURE,
        INVALID_PROGRAM,
    }
)
# Codes the child may report itself; anything else from the child is treated as a forgery/bug.
CHILD_ERROR_CODES: Final = frozenset(
    {
        PROGRAM_ERROR,
        MEMORY_LIMIT,
        INVALID_DECISION,
        OUTPUT_TOO_LARGE,
        INVALID_PROGRAM,
        SANDBOX_FAILURE,
    }
)
# Codes the child reports once user code has started (sandbox/runtime.py): after the
# PROGRAM_STARTED marker, a result claiming any other code was written by the program itself.
RUN_ERROR_CODES: Final = frozenset(
    {PROGRAM_ERROR, MEMORY_LIMIT, INVALID_DECISION, OUTPUT_TOO_LARGE}
)

DECISION_FIELDS: Final = (
    "operation",
    "symbol",
    "size_usd",
    "leverage",
    "take_profit_pct",
    "stop_loss_pct",
    "reasoning",
)
NUMERIC_DECISION_FIELDS: Final = frozenset(
    {"size_usd", "leverage", "take_profit_pct", "stop_loss_pct"}
)

# How much of the program's printed output is kept in SandboxResult.logs.
LOG_KEEP_CHARS: Final = 8_000
# The first line on the result channel once the jail is in place, just before user code runs.
# Before it, anything that goes wrong is the platform's; after it, the program can write on the
# channel too, so an unreadable or missing result, or one claiming a code only the platform may
# report (SANDBOX_FAILURE), is the program's failure. It carries the isolation report.
PROGRAM_STARTED: Final = "program_started"
# Upper bound on error texts (tracebacks) carried back to the caller.
ERROR_KEEP_CHARS: Final = 8_000
# Programs larger than this are rejected before any process is started.
MAX_CODE_CHARS: Final = 200_000

# Thread pools in numpy/OpenBLAS/OpenMP would need clone(); the child forbids new threads.
THREAD_ENV: Final = {
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "NUMEXPR_NUM_THREADS": "1",
    "VECLIB_MAXIMUM_THREADS": "1",
}


def child_env() -> dict[str, str]:
    """The whole environment of the child: nothing from the parent (secrets, DB URLs) leaks."""
    return {"PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8", "TZ": "UTC", **THREAD_ENV}


def truncate(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n... [truncated {len(text) - limit} chars]"


# Characters a program can put in a string that the platform cannot store or send: a lone
# surrogate is not UTF-8 (an API answer or a database write fails on it) and PostgreSQL refuses
# NUL in text and JSON.
_UNSTORABLE = re.compile(r"[\x00\ud800-\udfff]")


def clean_text(text: str, limit: int) -> str:
    """Text from a program made safe to store and send (each unstorable character becomes
    U+FFFD), truncated to about `limit` characters."""
    return truncate(_UNSTORABLE.sub("\ufffd", text), limit)
