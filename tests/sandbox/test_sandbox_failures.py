"""Every way a program can fail maps to a stable error code, within the limits."""

from __future__ import annotations

import time
from typing import Any

import pytest

from sandbox.runner import SandboxLimits, run_program, validate_program

FAST = SandboxLimits(wall_seconds=2.5, cpu_seconds=2, memory_mb=384)
# For failures that are not about time: slack for a loaded CI machine.
ROOMY = SandboxLimits(wall_seconds=10.0, cpu_seconds=5, memory_mb=384)


def strategy(body: str, prelude: str = "") -> str:
    lines = "\n".join("        " + line for line in body.strip().splitlines())
    return f"{prelude}\nclass Strategy:\n    def should_trade(self, data):\n{lines}\n"


async def test_exception_reports_user_traceback_only(snapshot: dict[str, Any]) -> None:
    code = """
def helper(x):
    return 1 / x

class Strategy:
    def should_trade(self, data):
        print("about to fail")
        return helper(0)
"""
    result = await run_program(code, snapshot, FAST)
    assert not result.ok and result.error_code == "PROGRAM_ERROR"
    error = result.error or ""
    assert 'File "<program>", line 8, in should_trade' in error
    assert 'File "<program>", line 3, in helper' in error
    assert "return 1 / x" in error  # source lines are shown
    assert error.rstrip().endswith("ZeroDivisionError: division by zero")
    assert "boot.py" not in error and "sandbox/" not in error
    assert result.logs == "about to fail\n"


async def test_error_at_module_level(snapshot: dict[str, Any]) -> None:
    code = "x = undefined_name\n" + strategy('return Decision(operation="hold")')
    result = await run_program(code, snapshot, FAST)
    assert result.error_code == "PROGRAM_ERROR"
    assert 'File "<program>", line 1, in <module>' in (result.error or "")
    assert "NameError" in (result.error or "")


@pytest.mark.parametrize(
    "body", ["while True:\n    pass", "x = 0\nwhile True:\n    x += 1"], ids=["pass", "count"]
)
@pytest.mark.serial  # measures latency: runs alone (make test)
async def test_infinite_loop_is_stopped(snapshot: dict[str, Any], body: str) -> None:
    start = time.monotonic()
    result = await run_program(strategy(body), snapshot, FAST)
    elapsed = time.monotonic() - start
    assert result.error_code in ("TIMEOUT", "CPU_LIMIT"), result
    assert elapsed < FAST.wall_seconds + 1.5


async def test_cpu_limit_before_wall_clock(snapshot: dict[str, Any]) -> None:
    limits = SandboxLimits(wall_seconds=6.0, cpu_seconds=1)
    result = await run_program(strategy("while True:\n    pass"), snapshot, limits)
    assert result.error_code == "CPU_LIMIT", result
    assert result.duration_ms < 6000
    assert "CPU limit of 1 s" in (result.error or "")


async def test_wall_clock_timeout_while_idle(snapshot: dict[str, Any]) -> None:
    # A sleeping program burns no CPU: only the wall clock can stop it.
    body = """
for k in ().__class__.__base__.__subclasses__():
    if k.__name__ == "_wrap_close":
        k.__init__.__globals__["sys"].modules["time"].sleep(60)
"""
    result = await run_program(strategy(body), snapshot, FAST)
    assert result.error_code == "TIMEOUT", result
    assert result.duration_ms < (FAST.wall_seconds + 1.5) * 1000


@pytest.mark.parametrize(
    ("body", "prelude"),
    [
        ("x = bytearray(10**10)", ""),
        ("x = []\nwhile True:\n    x.append(bytearray(1 << 20))", ""),
        ("while True:\n    HOARD.append(' ' * (1 << 20))", "HOARD = []"),  # kept alive
    ],
    ids=["one-big", "list-growth", "global-hoard"],
)
async def test_memory_limit(snapshot: dict[str, Any], body: str, prelude: str) -> None:
    result = await run_program(strategy(body, prelude), snapshot, ROOMY)
    assert result.error_code == "MEMORY_LIMIT", result
    assert "memory limit (384 MB)" in (result.error or "")


@pytest.mark.parametrize(
    ("ret", "message"),
    [
        ('{"operation": "long"}', "must return Decision(...), got dict"),
        ("None", "got None (did you forget a return?)"),
        ('Decision(operation="long", symbol="BTC", size_usd=-1)', "size_usd"),
        ('Decision(operation="moon")', "operation"),
        ('Decision(operation="long", symbol="BTC")', "long needs size_usd"),
        ('Decision(operation="close")', "close needs symbol"),
        ('Decision(operation="long", symbol="BTC", size_usd=float("nan"))', "size_usd"),
        ('Decision(operation="long", symbol="BTC", size_usd=True)', "got bool"),
        ('Decision(operation="hold", reasoning=42)', "reasoning must be a string"),
        ('Decision(operation="hold", reasoning="x" * 5000)', "reasoning"),
    ],
)
async def test_invalid_decisions(snapshot: dict[str, Any], ret: str, message: str) -> None:
    result = await run_program(strategy(f"return {ret}"), snapshot, FAST)
    assert result.error_code == "INVALID_DECISION", result
    assert message in (result.error or "")


async def test_unknown_decision_field_is_a_program_error(snapshot: dict[str, Any]) -> None:
    result = await run_program(strategy('return Decision(operation="hold", foo=1)'), snapshot)
    assert result.error_code == "PROGRAM_ERROR"
    assert "unexpected keyword argument 'foo'" in (result.error or "")


async def test_large_print_is_truncated(snapshot: dict[str, Any]) -> None:
    body = 'print("x" * 100_000)\nreturn Decision(operation="hold")'
    result = await run_program(strategy(body), snapshot, FAST)
    assert result.ok, result
    assert len(result.logs) < 10_000
    assert "truncated" in result.logs


async def test_too_much_output(snapshot: dict[str, Any]) -> None:
    body = """
try:
    while True:
        print("y" * 10_000)
except BaseException:
    pass  # swallowing the overflow does not help
return Decision(operation="hold")
"""
    result = await run_program(strategy(body), snapshot, FAST)
    assert result.error_code == "OUTPUT_TOO_LARGE", result
    assert len(result.logs) < 10_000


async def test_syntax_error_is_invalid_program(snapshot: dict[str, Any]) -> None:
    code = "class Strategy:\n    def should_trade(self, data):\n        return (\n"
    problems = validate_program(code)
    assert len(problems) == 1 and "line 3" in problems[0]
    result = await run_program(code, snapshot, FAST)
    assert result.error_code == "INVALID_PROGRAM"
    assert "line 3" in (result.error or "")


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("x = 1\n", "must define a top-level `class Strategy`"),
        ("class Strategy:\n    pass\n", "should_trade(self, data)"),
        ("class Strategy:\n    async def should_trade(self, data):\n        pass\n", "async"),
        ("class Strategy:\n    def should_trade(self):\n        pass\n", "(self, data)"),
        ("class Strategy:\n    def should_trade(self, data, x):\n        pass\n", "default values"),
        ("return 1\n", "syntax error at line 1"),
        ("", "empty"),
        ("x = '\0'\n", "null"),
    ],
)
async def test_validate_program(snapshot: dict[str, Any], code: str, message: str) -> None:
    problems = validate_program(code)
    assert problems and message in problems[0], problems
    result = await run_program(code, snapshot, FAST)
    assert result.error_code == "INVALID_PROGRAM"


def test_validate_program_accepts_valid_code() -> None:
    ok = "class Strategy:\n    def should_trade(self, data, extra=1):\n        return None\n"
    assert validate_program(ok) == []
    # validation never executes anything
    assert validate_program("raise SystemExit\n" + ok) == []


@pytest.mark.parametrize(
    ("body", "prelude", "message"),
    [
        ('return Decision(operation="hold")', "import os", "import of 'os' is not allowed"),
        ('open("/etc/passwd")', "", "name 'open' is not defined"),
        ('__import__("socket")', "", "import of 'socket' is not allowed"),
        ('eval("1+1")', "", "name 'eval' is not defined"),
        ('return Decision(operation="hold")', "from . import x", "relative imports"),
        ('return Decision(operation="hold")', "import talib", "import of 'talib'"),
    ],
)
async def test_blocked_builtins_and_imports(
    snapshot: dict[str, Any], body: str, prelude: str, message: str
) -> None:
    result = await run_program(strategy(body, prelude), snapshot, FAST)
    assert result.error_code == "PROGRAM_ERROR", result
    assert message in (result.error or "")


async def test_allowed_imports_work(snapshot: dict[str, Any]) -> None:
    prelude = (
        "import math, statistics, datetime, json, collections, itertools, functools, decimal\n"
        "import re, random, numpy as np, numpy.linalg\nfrom numpy import random as nr\n"
        "from dataclasses import dataclass\nfrom __future__ import annotations"
    )
    body = """
rng = nr.default_rng(1)
v = float(np.linalg.norm(rng.normal(size=10))) + np.median([1.0, 2.0, 3.0])
d = datetime.datetime.strptime("2026-11-24", "%Y-%m-%d")
return Decision(operation="hold", reasoning=f"{v:.3f} {d.year} {decimal.Decimal('1.5')}")
"""
    # `from __future__` must come first: move it to the top.
    code = "from __future__ import annotations\n" + strategy(
        body, prelude.replace("\nfrom __future__ import annotations", "")
    )
    result = await run_program(code, snapshot, FAST)
    assert result.ok, result.error
    assert (result.decision or {})["reasoning"].endswith("2026 1.5")
