"""Checking a program compiles it in a helper process, once per version, within a budget: a
program that takes seconds (or gigabytes) to compile is refused as too complex while the
caller's event loop keeps running, and the helper is replaced when it dies or overruns."""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

import pytest

from sandbox import compile_check
from sandbox.compile_check import check_program
from sandbox.compile_helper import MEMORY_MB
from sandbox.runner import SandboxLimits, run_program

BUDGET = 1.0  # the f-string bomb takes > 2 s here: a wide margin either way


def strategy(prelude: str = "") -> str:
    """A valid program, made unique so that no earlier check answers from the cache."""
    return (
        f"# {uuid.uuid4().hex}\n{prelude}\n"
        "class Strategy:\n"
        "    def should_trade(self, data):\n"
        '        return Decision(operation="hold", reasoning="ok")\n'
    )


def fstring_bomb() -> str:
    """~198 KB: one f-string of 66,000 fields, whose compile time grows with the square of it."""
    return strategy('x = 1\ns = f"' + "{x}" * 66_000 + '"')


def match_bomb() -> str:
    """~50 KB: a sequence pattern of 8,000 captures takes ~2.6 GB to compile."""
    names = ", ".join(f"a{i}" for i in range(8_000))
    return strategy(f"match 1:\n    case [{names}]:\n        pass")


@pytest.fixture
def sandbox_mode() -> str:
    """Overrides the package's two-mode fixture: no program runs here, so once is enough."""
    return "fork"


@pytest.fixture(autouse=True)
def fresh_checker() -> None:
    """No idle helper and no cached answer from an earlier test."""
    compile_check.shutdown()


async def max_loop_lag(work: Awaitable[Any]) -> tuple[Any, float]:
    """Await `work` while measuring the longest the event loop went without running us."""
    worst = 0.0
    task = asyncio.ensure_future(work)
    while not task.done():
        before = time.monotonic()
        await asyncio.sleep(0.02)
        worst = max(worst, time.monotonic() - before - 0.02)
    return task.result(), worst


@pytest.mark.serial  # measures latency: runs alone (make test)
async def test_a_program_too_slow_to_compile_is_refused_without_stalling_the_loop() -> None:
    problems, lag = await max_loop_lag(check_program(fstring_bomb(), budget_seconds=BUDGET))
    assert problems == [f"program is too complex to compile within {BUDGET:g} s"]
    assert lag < 0.5, f"the event loop stalled for {lag:.2f} s"


@pytest.mark.serial  # measures latency: runs alone (make test)
async def test_a_run_of_such_a_program_is_invalid_program(snapshot: dict[str, Any]) -> None:
    limits = SandboxLimits(compile_seconds=BUDGET)
    result, lag = await max_loop_lag(run_program(fstring_bomb(), snapshot, limits))
    assert result.error_code == "INVALID_PROGRAM", result
    assert result.error == f"program is too complex to compile within {BUDGET:g} s"
    assert lag < 0.5, f"the event loop stalled for {lag:.2f} s"


async def test_a_program_too_big_to_compile_is_refused_by_the_helpers_memory_limit() -> None:
    started = time.monotonic()
    problems = await check_program(match_bomb(), budget_seconds=10.0)
    assert problems == ["program is too complex to compile (it needs too much memory)"]
    assert time.monotonic() - started < 10.0


async def test_each_version_is_compiled_once() -> None:
    code, other = strategy(), strategy()
    before = compile_check.stats()["compiles"]
    # At once (one check shared), again later (cached), and with the import check: one compile.
    await asyncio.gather(*(check_program(code) for _ in range(5)))
    assert await check_program(code) == []
    assert await check_program(code, check_imports=True) == []
    assert compile_check.stats()["compiles"] == before + 1
    assert await check_program(other) == []
    assert compile_check.stats()["compiles"] == before + 2


async def test_import_problems_are_answered_from_the_same_compile() -> None:
    code = strategy("import os")
    before = compile_check.stats()["compiles"]
    assert await check_program(code) == []
    problems = await check_program(code, check_imports=True)
    assert len(problems) == 1 and "line 2: import of 'os' is not allowed" in problems[0]
    assert compile_check.stats()["compiles"] == before + 1


async def test_a_killed_helper_is_replaced() -> None:
    assert await check_program(strategy()) == []
    (pid,) = compile_check.helper_pids()
    os.kill(pid, signal.SIGKILL)
    assert await check_program(strategy("import math")) == []
    assert compile_check.helper_pids() and pid not in compile_check.helper_pids()


async def test_a_helper_killed_during_a_check_is_replaced_and_the_check_retried() -> None:
    """The slow program is valid: with time enough, a fresh helper compiles it to the end."""
    before = compile_check.stats()["compiles"]
    check = asyncio.ensure_future(check_program(fstring_bomb(), budget_seconds=30.0))
    while not compile_check.helper_pids():
        await asyncio.sleep(0.01)
    (pid,) = compile_check.helper_pids()
    await asyncio.sleep(0.3)  # it is compiling now
    os.kill(pid, signal.SIGKILL)
    assert await check == []
    assert compile_check.helper_pids() and pid not in compile_check.helper_pids()
    assert compile_check.stats()["compiles"] == before + 2  # the check was asked again


async def test_an_overrun_helper_is_replaced_and_the_next_check_is_prompt() -> None:
    assert await check_program(fstring_bomb(), budget_seconds=BUDGET) != []
    assert compile_check.helper_pids() == set()  # killed at the budget, not left compiling
    started = time.monotonic()
    assert await check_program(strategy(), budget_seconds=BUDGET) == []
    assert time.monotonic() - started < BUDGET


async def test_non_ascii_identifiers_check_fine() -> None:
    assert await check_program(strategy("α = 0.5\nπρόγραμμα = α * 2")) == []


async def test_the_helper_runs_under_memory_and_cpu_limits() -> None:
    assert await check_program(strategy()) == []
    (pid,) = compile_check.helper_pids()
    limits = {
        line[:26].strip(): line[26:].split()
        for line in Path(f"/proc/{pid}/limits").read_text().splitlines()[1:]
    }
    assert limits["Max address space"][:2] == [str(MEMORY_MB << 20)] * 2
    assert limits["Max cpu time"][0] != "unlimited"
    assert limits["Max processes"][:2] == ["0", "0"]
    status = Path(f"/proc/{pid}/status").read_text()
    if os.geteuid() == 0:
        assert "\nUid:\t65534\t65534\t65534\t65534\n" in status


async def test_a_checker_that_cannot_start_is_a_platform_failure(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, snapshot: dict[str, Any]
) -> None:
    """Not the program's fault: an error for the API (500) and SANDBOX_FAILURE for a run."""
    monkeypatch.setattr(compile_check, "HELPER_SCRIPT", tmp_path / "missing.py")
    with pytest.raises(compile_check.CheckerUnavailableError, match="did not start"):
        await check_program(strategy())
    result = await run_program(strategy(), snapshot)
    assert result.error_code == "SANDBOX_FAILURE" and "checker" in (result.error or ""), result


async def test_a_helper_that_needed_much_memory_is_replaced_after_its_answer() -> None:
    """A later, ordinary program must not find a fragmented helper near its memory limit."""
    assert await check_program(strategy()) == []
    (ordinary,) = compile_check.helper_pids()
    assert await check_program(strategy()) == []
    assert compile_check.helper_pids() == {ordinary}  # kept while it stays small
    assert await check_program(match_bomb(), budget_seconds=10.0) != []
    assert compile_check.helper_pids() == set()


async def test_a_helper_started_by_a_large_process_is_kept() -> None:
    """Its peak is its own: the peak of the process it was forked from (a worker of several
    hundred MB) used to count, so every helper retired after its first answer."""
    ballast = bytearray(300 << 20)
    ballast[::4096] = b"x" * len(ballast[::4096])  # touched: resident in this process
    assert await check_program(strategy()) == []
    assert len(compile_check.helper_pids()) == 1
    del ballast
