"""Child side: execute the (already jailed) program and turn what happens into a result dict."""

from __future__ import annotations

import mmap
import sys
from types import CodeType
from typing import Any

from sandbox import protocol
from sandbox.capture import CappedOutput, OutputTooLargeError, format_program_error, register_source
from sandbox.market_data import MarketData
from sandbox.program import (
    InvalidDecisionError,
    decision_to_wire,
    find_should_trade,
    program_globals,
)

# Released when the program hits MemoryError so the sandbox can still format and send the
# error even if the program keeps its huge allocation alive (e.g. in a global). An anonymous
# mapping never touched: it holds address space (what RLIMIT_AS counts) without faulting in
# 1024 zeroed pages on every run, as a bytearray would.
_EMERGENCY_RESERVE_BYTES = 4 << 20


def run_isolated(
    code: str, compiled: CodeType, data: MarketData, max_output_bytes: int, memory_mb: int
) -> dict[str, Any]:
    output = CappedOutput(max_output_bytes)
    register_source(code)
    saved = sys.stdout, sys.stderr
    sys.stdout = sys.stderr = output  # prints and warnings go to the capped log buffer
    try:
        outcome = _run(compiled, data, output, memory_mb)
    finally:
        sys.stdout, sys.stderr = saved
    outcome["logs"] = output.text()
    return outcome


def _fail(code: str, error: str) -> dict[str, Any]:
    return {"ok": False, "error_code": code, "error": error}


def _run(
    compiled: CodeType, data: MarketData, output: CappedOutput, memory_mb: int
) -> dict[str, Any]:
    reserve = mmap.mmap(-1, _EMERGENCY_RESERVE_BYTES)
    try:
        namespace = program_globals()
        exec(compiled, namespace)
        should_trade = find_should_trade(namespace)
        result = should_trade(data)
        if output.overflowed:  # the program caught OutputTooLargeError and carried on
            raise OutputTooLargeError
        wire = decision_to_wire(result)
    except MemoryError as exc:
        reserve.close()
        return _fail(
            protocol.MEMORY_LIMIT,
            f"program exceeded the memory limit ({memory_mb} MB)\n" + format_program_error(exc),
        )
    except OutputTooLargeError:
        return _fail(
            protocol.OUTPUT_TOO_LARGE,
            f"program printed {output.total} chars, more than the {output.max_chars} allowed",
        )
    except InvalidDecisionError as exc:
        return _fail(protocol.INVALID_DECISION, str(exc))
    except BaseException as exc:  # everything the program raises, SystemExit included
        return _fail(protocol.PROGRAM_ERROR, format_program_error(exc))
    return {"ok": True, "decision": wire}
