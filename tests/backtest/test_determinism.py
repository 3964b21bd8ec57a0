"""Determinism (backtesting.md 8.10, 8.11 test 8): the same inputs give a byte-identical report
and the same `result_hash`, even for a program that draws random numbers and reads the clock,
through either decider (the full snapshot each step, or the sandbox session) and in a fresh
process; a different seed changes the hash of such a program only."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import asdict

from strategies.backtest.contract import BacktestReport
from strategies.backtest.engine import BacktestEngine
from strategies.backtest.history import load_history
from strategies.backtest.session_decider import ProgramSessionDecider
from strategies.backtest.snapshot_decider import ProgramSnapshotDecider
from tests.backtest.support import config, database, store_hourly
from tests.backtest.test_parity import walk

STEPS = 24
# Random size, a coin flip for the side, and the clock in the reasoning: without a seeded
# generator and the simulated clock no two runs would agree.
DICE = """
import random, datetime
class Strategy:
    def should_trade(self, data):
        held = {p["symbol"] for p in data.get_positions()}
        now = datetime.datetime.now().isoformat()
        if "BTC" in held:
            if random.random() < 0.3:
                return Decision(operation="close", symbol="BTC", reasoning=now)
            return Decision(operation="hold", reasoning=now)
        side = "long" if random.random() < 0.5 else "short"
        return Decision(operation=side, symbol="BTC", size_usd=100 + random.randint(0, 400),
                        leverage=2, reasoning=f"{now} {random.random()}")
"""
# Uses neither: its report cannot depend on the seed.
PLAIN = """
class Strategy:
    def should_trade(self, data):
        held = {p["symbol"] for p in data.get_positions()}
        if "BTC" in held:
            return Decision(operation="close", symbol="BTC")
        return Decision(operation="long", symbol="BTC", size_usd=300, leverage=2)
"""


def _payload(report: BacktestReport) -> str:
    """What a stored result holds, less the run times (outside the hash by the contract)."""
    body = asdict(report)
    for d in body["decisions"]:
        d.pop("run_ms", None)
    return json.dumps(body, sort_keys=True)


async def _run(sqlite_url: str, code: str, seed: int, session: bool) -> BacktestReport:
    cfg = config(STEPS, seed=seed)
    async with database(sqlite_url) as sessions:
        history = await load_history(sessions, cfg)
    engine = BacktestEngine(cfg, history)
    if session:
        async with ProgramSessionDecider.for_history(code, history, seed=seed) as decide:
            await engine.run(decide)
    else:
        await engine.run(ProgramSnapshotDecider(code, seed=seed))
    return engine.report()


async def _store(sqlite_url: str) -> None:
    async with database(sqlite_url) as sessions:
        await store_hourly(sessions, walk(STEPS, seed=5))


async def test_a_random_program_gives_the_same_report_twice_and_through_either_decider(
    sqlite_url: str,
) -> None:
    await _store(sqlite_url)
    first = await _run(sqlite_url, DICE, seed=7, session=True)
    again = await _run(sqlite_url, DICE, seed=7, session=True)
    reference = await _run(sqlite_url, DICE, seed=7, session=False)
    assert first.trades, "the dice never traded: the test would prove nothing"
    assert _payload(first) == _payload(again) == _payload(reference)
    assert first.result_hash == again.result_hash == reference.result_hash


async def test_a_fresh_process_gives_the_same_hash(sqlite_url: str) -> None:
    await _store(sqlite_url)
    here = await _run(sqlite_url, DICE, seed=7, session=True)
    script = (
        "import asyncio, sys\n"
        "from tests.backtest.test_determinism import DICE, _run\n"
        "r = asyncio.run(_run(sys.argv[1], DICE, 7, True))\n"
        "print(r.result_hash)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, sqlite_url], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip().splitlines()[-1] == here.result_hash


async def test_the_seed_changes_a_random_programs_result_only(sqlite_url: str) -> None:
    await _store(sqlite_url)
    dice = {seed: (await _run(sqlite_url, DICE, seed, True)).result_hash for seed in (1, 2)}
    plain = {seed: await _run(sqlite_url, PLAIN, seed, True) for seed in (1, 2)}
    assert dice[1] != dice[2]
    # the config (its seed) is part of the hash, so compare what the run produced
    trades, equity = ({s: getattr(plain[s], f) for s in (1, 2)} for f in ("trades", "equity"))
    assert plain[1].trades and trades[1] == trades[2] and equity[1] == equity[2]
    assert plain[1].metrics == plain[2].metrics
