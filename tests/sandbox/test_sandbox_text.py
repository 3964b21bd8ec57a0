"""Bad text is the program's failure, not the platform's (issue 20): what a program says (its
decision's reasoning, its prints, its errors) is made storable where it enters the parent, and
non-ASCII identifiers work. The hostile variants (forged and garbage result lines, exits without
a result) are in the escape corpus."""

from __future__ import annotations

import time
from typing import Any

from sandbox import protocol
from sandbox.process import ChildRun
from sandbox.runner import SandboxLimits, _interpret, run_program

LIMITS = SandboxLimits(wall_seconds=10.0, cpu_seconds=5, memory_mb=384)


def strategy(body: str) -> str:
    lines = "\n".join("        " + line for line in body.strip().splitlines())
    return f"class Strategy:\n    def should_trade(self, data):\n{lines}\n"


async def test_a_lone_surrogate_or_nul_in_reasoning_is_replaced(snapshot: dict[str, Any]) -> None:
    code = strategy('return Decision(operation="hold", reasoning="a\\ud800b\\x00c")')
    result = await run_program(code, snapshot, LIMITS)
    assert result.ok, result
    assert result.decision is not None and result.decision["reasoning"] == "a\ufffdb\ufffdc"


async def test_a_lone_surrogate_or_nul_in_prints_is_replaced(snapshot: dict[str, Any]) -> None:
    code = strategy('print("x\\udfff\\x00y")\nreturn Decision(operation="hold")')
    result = await run_program(code, snapshot, LIMITS)
    assert result.ok, result
    assert result.logs == "x\ufffd\ufffdy\n"


async def test_non_ascii_identifiers_work(snapshot: dict[str, Any]) -> None:
    """The child compiles after the zygote dropped privileges: the parser's `unicodedata` must
    already be loaded (it was not, so this was a SANDBOX_FAILURE in fork mode)."""
    code = "α = 0.5\n" + strategy(
        'größe = α * 2\nreturn Decision(operation="hold", reasoning=f"{größe}")'
    )
    result = await run_program(code, snapshot, LIMITS)
    assert result.ok, result
    assert result.decision is not None and result.decision["reasoning"] == "1.0"


def test_before_the_program_starts_a_missing_result_is_the_platforms() -> None:
    """Only after the marker is the channel the program's: a child that dies before it (a
    broken install, a failed jail) is still a SANDBOX_FAILURE, which the worker may retry."""
    started = time.monotonic()
    nothing = _interpret(ChildRun(returncode=70, stderr=b"boom"), LIMITS, started)
    assert nothing.error_code == protocol.SANDBOX_FAILURE and "boom" in (nothing.error or "")
    failure = b'{"ok": false, "error_code": "SANDBOX_FAILURE", "error": "isolation failed"}\n'
    reported = _interpret(ChildRun(stdout=failure, returncode=0), LIMITS, started)
    assert (reported.error_code, reported.error) == (protocol.SANDBOX_FAILURE, "isolation failed")

    marker = b'{"program_started": true, "isolation": {}}\n'
    after = _interpret(ChildRun(stdout=marker + failure, returncode=0), LIMITS, started)
    assert after.error_code == protocol.PROGRAM_ERROR and "result of its own" in (after.error or "")
    silent = _interpret(ChildRun(stdout=marker, returncode=0), LIMITS, started)
    assert silent.error_code == protocol.PROGRAM_ERROR, silent
    assert silent.error == "the program ended without a result (exit code 0)"
