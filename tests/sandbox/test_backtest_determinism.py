"""Backtest mode of `run_program` (spec 8.10): a program that calls `random`, `numpy.random` or
reads the clock gives the same decision for the same backtest context, in both sandbox modes.
Live runs keep fresh entropy and the real clock."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from typing import Any

from sandbox.runner import BacktestContext, SandboxLimits, run_program

LIMITS = SandboxLimits(wall_seconds=10.0, cpu_seconds=3)
NOW_MS = 1_767_225_600_123  # 2026-01-01T00:00:00.123Z

# `time` is not importable by programs; a program can still reach it through the interpreter's
# own objects, and then reads the simulated time too.
READER = """
import datetime, json, random
import numpy as np

def _time_module():
    for k in ().__class__.__base__.__subclasses__():
        if k.__name__ == "_wrap_close":
            return k.__init__.__globals__["sys"].modules["time"]

class Strategy:
    def should_trade(self, data):
        time = _time_module()
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < 0.002:
            pass
        return Decision(operation="hold", reasoning=json.dumps({
            "random": random.random(),
            "numpy": float(np.random.rand()),
            "rng": float(np.random.default_rng().random()),
            "now": datetime.datetime.now().isoformat(),
            "now_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(),
            "utcnow": datetime.datetime.utcnow().isoformat(),
            "today": datetime.datetime.today().isoformat(),
            "date": datetime.date.today().isoformat(),
            "time": time.time(),
            "time_ns": time.time_ns(),
            "perf_moved": time.perf_counter() > t0,
        }))
"""
RANDOM_KEYS = ("random", "numpy", "rng")
CLOCK_KEYS = ("now", "now_utc", "utcnow", "today", "date", "time", "time_ns")


async def _read(snapshot: dict[str, Any], context: BacktestContext | None) -> dict[str, Any]:
    result = await run_program(READER, snapshot, LIMITS, backtest=context)
    assert result.ok, result.error
    assert result.decision is not None
    return dict(json.loads(result.decision["reasoning"]))


async def test_same_context_gives_identical_text(snapshot: dict[str, Any]) -> None:
    """Two runs of one step of one backtest: byte for byte the same decision."""
    context = BacktestContext(seed=1, step=5, now_ms=NOW_MS)
    first = await run_program(READER, snapshot, LIMITS, backtest=context)
    second = await run_program(READER, snapshot, LIMITS, backtest=context)
    assert first.ok and second.ok, (first.error, second.error)
    assert first.decision == second.decision


async def test_other_seed_changes_only_the_random_parts(snapshot: dict[str, Any]) -> None:
    one = await _read(snapshot, BacktestContext(seed=1, step=5, now_ms=NOW_MS))
    two = await _read(snapshot, BacktestContext(seed=2, step=5, now_ms=NOW_MS))
    assert all(one[k] != two[k] for k in RANDOM_KEYS), (one, two)
    assert all(one[k] == two[k] for k in CLOCK_KEYS), (one, two)


async def test_each_step_draws_its_own_numbers(snapshot: dict[str, Any]) -> None:
    """sha256(seed, step): the steps of one run do not repeat one sequence."""
    one = await _read(snapshot, BacktestContext(seed=1, step=5, now_ms=NOW_MS))
    two = await _read(snapshot, BacktestContext(seed=1, step=6, now_ms=NOW_MS))
    assert all(one[k] != two[k] for k in RANDOM_KEYS), (one, two)


async def test_the_clock_reads_the_simulated_time(snapshot: dict[str, Any]) -> None:
    got = await _read(snapshot, BacktestContext(seed=0, step=0, now_ms=NOW_MS))
    at = datetime.fromtimestamp(NOW_MS // 1000, UTC).replace(microsecond=123_000)
    naive = at.replace(tzinfo=None).isoformat()
    assert got["now"] == got["utcnow"] == got["today"] == naive == "2026-01-01T00:00:00.123000"
    assert got["now_utc"] == at.isoformat()
    assert got["date"] == "2026-01-01"
    assert got["time"] == NOW_MS / 1000
    assert got["time_ns"] == NOW_MS * 1_000_000
    assert got["perf_moved"] is True  # durations still measure real time


async def test_live_runs_differ_run_to_run(snapshot: dict[str, Any]) -> None:
    """Without a backtest context: fresh entropy and the real clock, as before."""
    before = datetime.now(UTC).timestamp()
    one = await _read(snapshot, None)
    two = await _read(snapshot, None)
    assert all(one[k] != two[k] for k in RANDOM_KEYS), (one, two)
    assert before - 1 <= one["time"] <= datetime.now(UTC).timestamp() + 1
    assert one["now_utc"] != two["now_utc"]


async def test_datetime_stays_usable_under_the_shim(snapshot: dict[str, Any]) -> None:
    """The shimmed classes still make, compare and recognise ordinary datetimes."""
    code = """
import datetime
from datetime import datetime as dt, timedelta, timezone

class Strategy:
    def should_trade(self, data):
        made = dt(2020, 1, 2, 3, 4, tzinfo=timezone.utc)
        later = dt.now(timezone.utc) + timedelta(hours=1)
        parsed = dt.fromisoformat(data.now)
        checks = [isinstance(made, dt), isinstance(later, datetime.datetime),
                  isinstance(later.date(), datetime.date), later > made,
                  isinstance(parsed, dt), issubclass(type(made), datetime.date)]
        return Decision(operation="hold", reasoning=f"{all(checks)} {later.isoformat()}")
"""
    context = BacktestContext(seed=0, step=0, now_ms=NOW_MS)
    result = await run_program(code, snapshot, LIMITS, backtest=context)
    assert result.ok, result.error
    assert result.decision is not None
    assert result.decision["reasoning"] == "True 2026-01-01T01:00:00.123000+00:00"


async def test_backtest_runs_hash_strings_with_seed_zero(snapshot: dict[str, Any]) -> None:
    """PYTHONHASHSEED=0: a set of strings iterates in the same order in every process."""
    code = """
class Strategy:
    def should_trade(self, data):
        return Decision(operation="hold", reasoning=f"{hash('BTC')} {list({'a', 'b', 'c', 'd'})}")
"""
    probe = "print(f\"{hash('BTC')} {list({'a', 'b', 'c', 'd'})}\", end='')"
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONHASHSEED": "0"}
    expected = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True
    ).stdout
    context = BacktestContext(seed=0, step=0, now_ms=NOW_MS)
    backtest = await run_program(code, snapshot, LIMITS, backtest=context)
    live = await run_program(code, snapshot, LIMITS)
    assert backtest.decision is not None and live.decision is not None
    assert backtest.decision["reasoning"] == expected
    assert live.decision["reasoning"].split()[0] != expected.split()[0]
