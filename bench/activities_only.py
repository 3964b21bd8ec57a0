"""`python -m bench.activities_only`: a decision's activities without Temporal, on real SQLite.

The worker's CPU per decision splits into the Temporal SDK's share and the activities' own
(context gathering, program run, risk check, order intents, paper order, finish: the registered
activity functions, called in the workflow's order through temporalio's ActivityEnvironment,
against a migrated SQLite database in a temp dir). This measures the second share: CPU of this
process per decision (the sandbox's forked children are not counted), with --concurrency
decisions in flight over --traders paper traders running the bench's program.

`--starts`: a trader start's activities instead (load configuration, account sync, status),
for each of --traders new paper traders, --concurrency at a time; CPU per start.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select
from temporalio.testing import ActivityEnvironment

from bench.workloads import PROGRAM, TRADER
from config.settings import Settings
from db.migrate import upgrade
from db.models import Account, Binding, Program
from db.session import make_engine, make_sessionmaker
from domain.contracts import (
    FinishDecisionInput,
    GatherContextInput,
    LoadConfigInput,
    RecordIntentsInput,
    RecordStatusInput,
    RunProgramInput,
    SyncAccountInput,
)
from domain.decision import Operation
from domain.ids import decision_id, trader_workflow_id
from domain.orders import OrderOutcome, OrderStatus, intents_for
from domain.risk import RiskCheckInput
from domain.trader import TraderStatus, TriggerType
from domain.vocabulary import AccountType, DecisionStatus, Exchange
from runtime.deps import default_deps
from runtime.wiring import build_activities


async def _seed(sessions: Any, traders: int) -> dict[int, int]:
    async with sessions() as s, s.begin():
        program = Program(name="bench", code=PROGRAM)
        s.add(program)
        await s.flush()
        for i in range(traders):
            acct = Account(
                name=f"t{i}", account_type=AccountType.PROGRAM, exchange=Exchange.PAPER,
                status=TraderStatus.ACTIVE,
                initial_capital=Decimal(TRADER["initial_capital"]),
                max_leverage=Decimal(TRADER["max_leverage"]),
                max_position_notional_usd=Decimal(TRADER["max_position_notional_usd"]),
                max_concurrent_positions=TRADER["max_concurrent_positions"],
                symbols=list(TRADER["symbols"]), trading_enabled=True,
            )  # fmt: skip
            s.add(acct)
            await s.flush()
            s.add(Binding(account_id=acct.id, program_id=program.id))
    async with sessions() as s:
        return {b.account_id: b.id for b in (await s.scalars(select(Binding))).all()}


@asynccontextmanager
async def _database(traders: int) -> AsyncIterator[tuple[dict[int, int], dict[str, Any]]]:
    """A migrated SQLite file in a temp dir, seeded, with the registered activities over it;
    the dir is removed afterwards."""
    data = tempfile.mkdtemp(prefix="hyperoru-bench-activities-")
    try:
        url = f"sqlite+aiosqlite:///{data}/hyperoru.db"
        upgrade(url)
        engine = make_engine(url)
        try:
            settings = Settings(database_url=url, data_dir=Path(data))
            sessions = make_sessionmaker(engine)
            bindings = await _seed(sessions, traders)
            acts = {
                f.__temporal_activity_definition.name: f  # type: ignore[attr-defined]
                for f in build_activities(default_deps(settings, sessions))
            }
            yield bindings, acts
        finally:
            await engine.dispose()
    finally:
        shutil.rmtree(data, ignore_errors=True)


async def run_starts(traders: int, concurrency: int) -> dict[str, Any]:
    """A start's activities, in the workflow's order, for each trader: the first half warms
    up (imports, statement caches), the second half is measured."""
    async with _database(traders) as (bindings, acts):
        return await _starts(bindings, acts, concurrency)


async def _starts(
    bindings: dict[int, int], acts: dict[str, Any], concurrency: int
) -> dict[str, Any]:
    env = ActivityEnvironment()
    gate = asyncio.Semaphore(concurrency)
    statuses: list[int] = []

    async def start(acct: int) -> None:
        async with gate:
            cfg = await env.run(
                acts["load_trader_config"], LoadConfigInput(account_id=acct, run_id=f"r{acct}")
            )
            assert cfg.found and cfg.paper, cfg
            synced = await env.run(
                acts["sync_account"], SyncAccountInput(account_id=acct, reason="start")
            )
            statuses.append(synced.open_positions)
            await env.run(
                acts["record_trader_status"],
                RecordStatusInput(account_id=acct, status=TraderStatus.ACTIVE.value),
            )

    ids = list(bindings)
    warm, measured = ids[: len(ids) // 2], ids[len(ids) // 2 :]
    await asyncio.gather(*(start(a) for a in warm))
    cpu0, t0 = time.process_time(), time.monotonic()
    await asyncio.gather(*(start(a) for a in measured))
    cpu, wall = time.process_time() - cpu0, time.monotonic() - t0
    return {
        "starts": len(measured),
        "concurrency": concurrency,
        "starts_per_s": round(len(measured) / wall, 1),
        "cpu_ms_per_start": round(cpu / len(measured) * 1000, 2),
        "open_positions": sum(statuses),
    }


async def run(traders: int, decisions: int, concurrency: int) -> dict[str, Any]:
    async with _database(traders) as (bindings, acts):
        return await _decisions(bindings, acts, decisions, concurrency)


async def _decisions(
    bindings: dict[int, int], acts: dict[str, Any], decisions: int, concurrency: int
) -> dict[str, Any]:
    env = ActivityEnvironment()
    seqs = dict.fromkeys(bindings, 0)
    locks = {a: asyncio.Lock() for a in bindings}
    statuses: dict[str, int] = {}

    async def decide(acct: int) -> None:
        async with locks[acct]:  # one decision at a time per trader, as in its workflow
            seqs[acct] += 1
            seq, did, bid = seqs[acct], decision_id(acct, seqs[acct]), bindings[acct]
            ctx = await env.run(
                acts["gather_context"],
                GatherContextInput(
                    account_id=acct,
                    decision_id=did,
                    seq=seq,
                    binding_id=bid,
                    trigger_type=TriggerType.SIGNAL.value,
                    trigger_context={},
                    workflow_id=trader_workflow_id(acct),
                    run_id="bench",
                ),
            )
            out = await env.run(
                acts["run_program"], RunProgramInput(decision_id=did, binding_id=bid)
            )
            assert out.decision is not None and ctx.limits is not None, out
            verdict = await env.run(
                acts["check_risk"],
                RiskCheckInput(
                    decision=out.decision,
                    limits=ctx.limits,
                    symbols=ctx.symbols,
                    positions=ctx.positions,
                    prices=ctx.prices,
                    available_usd=ctx.available_usd,
                ),
            )
            orders: list[OrderOutcome] = []
            if verdict.approved and out.decision.operation is not Operation.HOLD:
                intents = intents_for(out.decision, acct, did, seq, ctx.positions)
                await env.run(
                    acts["record_order_intents"],
                    RecordIntentsInput(decision_id=did, intents=intents),
                )
                orders = [await env.run(acts["place_order"], i) for i in intents]
            filled = bool(orders) and all(o.status is OrderStatus.FILLED for o in orders)
            status = (
                DecisionStatus.EXECUTED
                if filled
                else DecisionStatus.DENIED
                if not verdict.approved
                else DecisionStatus.FAILED
            )
            done = await env.run(
                acts["finish_decision"],
                FinishDecisionInput(
                    account_id=acct,
                    decision_id=did,
                    seq=seq,
                    binding_id=bid,
                    trigger_type=TriggerType.SIGNAL.value,
                    trigger_context={},
                    status=status,
                    risk_verdict=verdict,
                    orders=orders,
                    decision=out.decision,
                    trader_status=TraderStatus.ACTIVE.value,
                ),
            )
            statuses[done.status] = statuses.get(done.status, 0) + 1

    ids = list(bindings)
    gate = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        async with gate:
            await decide(ids[i % len(ids)])

    await asyncio.gather(*(one(i) for i in range(len(ids))))  # warm: every trader once
    cpu0, t0 = time.process_time(), time.monotonic()
    await asyncio.gather(*(one(i) for i in range(decisions)))
    cpu, wall = time.process_time() - cpu0, time.monotonic() - t0
    return {
        "traders": len(bindings),
        "decisions": decisions,
        "concurrency": concurrency,
        "decisions_per_s": round(decisions / wall, 1),
        "cpu_ms_per_decision": round(cpu / decisions * 1000, 2),
        "statuses": statuses,
    }


def cli() -> None:
    p = argparse.ArgumentParser(prog="python -m bench.activities_only", description=__doc__)
    p.add_argument("--traders", type=int, default=100)
    p.add_argument("--decisions", type=int, default=1000)
    p.add_argument("--concurrency", type=int, default=20)
    p.add_argument("--starts", action="store_true", help="measure trader starts instead")
    args = p.parse_args()
    if args.starts:
        out = asyncio.run(run_starts(args.traders, args.concurrency))
    else:
        out = asyncio.run(run(args.traders, args.decisions, args.concurrency))
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    cli()
    sys.stdout.flush()
    os._exit(0)  # the sandbox's zygote and the writer threads need no orderly shutdown
