"""Backtest runs and their results (db/backtest_models.py): create one within the concurrency
limits, move it through its statuses, store its progress and checkpoint while it runs, and its
results together with its final status when it ends."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from db.backtest_models import (
    BacktestDecisionRecord,
    BacktestEquityRecord,
    BacktestRecord,
    BacktestTradeRecord,
)
from db.base import utcnow
from db.models import Program
from db.prompt_backtests import PromptBacktestTask
from domain.backtest import ACTIVE, BacktestStatus, workflow_id
from domain.decision import Operation
from domain.prompt_backtest import TaskStatus
from domain.vocabulary import DecisionStatus

Sessions = async_sessionmaker[AsyncSession]
# Any constant: the key of the PostgreSQL advisory lock that serialises starting backtests.
START_LOCK = 24_0019
PROMPT_ACTIVE = (TaskStatus.PENDING.value, TaskStatus.RUNNING.value)


class BacktestBusy(Exception):
    """Starting one more would pass a concurrency limit (429 BACKTEST_BUSY)."""

    def __init__(self, scope: str, limit: int) -> None:
        self.scope, self.limit = scope, limit
        super().__init__(f"at most {limit} backtest(s) run at once {scope}")


@dataclass(frozen=True)
class Results:
    """What a run ends with: the engine's report, JSON-ready (strategies/backtest/contract.py
    BacktestReport's parts)."""

    trades: Sequence[dict[str, Any]]
    equity: Sequence[Sequence[Any]]  # [at_ms, equity, equity_low]
    decisions: Sequence[dict[str, Any]]
    metrics: dict[str, Any]
    result_hash: str


async def create_backtest(
    sessions: Sessions, *, max_per_user: int, max_total: int, **fields: Any
) -> BacktestRecord:
    """Insert a pending run, unless the owner already has `max_per_user` runs pending or
    running, or the instance `max_total` (BacktestBusy; nothing is stored)."""
    async with sessions() as s, s.begin():
        # Why insert before counting: on SQLite the insert takes the database's write lock, so
        # the count below sees every other run already started (PostgreSQL: active_runs locks).
        row = BacktestRecord(status=BacktestStatus.PENDING.value, **fields)
        s.add(row)
        await s.flush()
        row.workflow_id = workflow_id(row.id)
        owner = row.owner_id
        mine, total = await s.run_sync(lambda x: active_runs(x, owner))
        if mine > max_per_user:
            await s.rollback()
            raise BacktestBusy("per user", max_per_user)
        if total > max_total:
            await s.rollback()
            raise BacktestBusy("on this instance", max_total)
    return row


def active_runs(s: Session, owner_id: int) -> tuple[int, int]:
    """Backtests of either kind pending or running: the owner's and the instance's (the
    limits are over both: a prompt task and a program run take the same worker's slots). On
    PostgreSQL it first takes the lock `create_backtest` takes, so two starts of either kind
    cannot both see room for one more."""
    if s.get_bind().dialect.name == "postgresql":
        s.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": START_LOCK})
    counts = []
    kinds = (
        (BacktestRecord, BacktestRecord.owner_id, BacktestRecord.status, ACTIVE),
        (PromptBacktestTask, PromptBacktestTask.owner_id, PromptBacktestTask.status, PROMPT_ACTIVE),
    )
    for table, owner, status, active in kinds:
        running = select(func.count()).select_from(table).where(status.in_(active))
        mine = s.scalar(running.where(owner == owner_id))
        counts.append((mine or 0, s.scalar(running) or 0))
    return sum(m for m, _ in counts), sum(t for _, t in counts)


async def load_backtest(
    sessions: Sessions, backtest_id: int, owner_id: int | None = None
) -> BacktestRecord | None:
    async with sessions() as s:
        row = await s.get(BacktestRecord, backtest_id)
    if row is None or (owner_id is not None and row.owner_id != owner_id):
        return None
    return row


async def list_backtests(
    sessions: Sessions, owner_id: int, program_id: int | None, limit: int, offset: int
) -> list[BacktestRecord]:
    q = select(BacktestRecord).where(BacktestRecord.owner_id == owner_id)
    if program_id is not None:
        q = q.where(BacktestRecord.program_id == program_id)
    async with sessions() as s:
        return list(
            await s.scalars(q.order_by(BacktestRecord.id.desc()).limit(limit).offset(offset))
        )


async def set_status(
    sessions: Sessions, backtest_id: int, status: BacktestStatus, error: str | None = None
) -> BacktestRecord | None:
    """Move a run to `status` unless it has ended already (a cancelled run stays cancelled
    whatever its workflow reports after); the run as it is now."""
    async with sessions() as s, s.begin():
        row = await s.get(BacktestRecord, backtest_id)
        if row is None or BacktestStatus(row.status).final:
            return row
        row.status = status.value
        if status == BacktestStatus.RUNNING and row.started_at is None:
            row.started_at = utcnow()
        if status.final:
            row.finished_at = utcnow()
            row.error = error
            row.checkpoint = None
    return row


async def save_progress(
    sessions: Sessions,
    backtest_id: int,
    steps_done: int,
    total_steps: int,
    checkpoint: dict[str, Any] | None = None,
) -> bool:
    """Record how far a running run is (and, when given, where to resume it); False when the
    run is no longer running (cancelled meanwhile, or gone)."""
    values: dict[str, Any] = {
        "steps_done": steps_done,
        "total_steps": total_steps,
        "progress": progress_of(steps_done, total_steps),
    }
    if checkpoint is not None:
        values["checkpoint"] = checkpoint
    async with sessions() as s, s.begin():
        done = await s.execute(
            update(BacktestRecord)
            .where(
                BacktestRecord.id == backtest_id,
                BacktestRecord.status == BacktestStatus.RUNNING.value,
            )
            .values(**values)
        )
    return bool(getattr(done, "rowcount", 0))


def progress_of(steps_done: int, total_steps: int) -> Decimal:
    if total_steps <= 0:
        return Decimal(0)
    return (Decimal(min(steps_done, total_steps)) / Decimal(total_steps)).quantize(
        Decimal("0.0001")
    )


async def store_results(
    sessions: Sessions,
    backtest_id: int,
    status: BacktestStatus,
    results: Results,
    steps_done: int,
    total_steps: int,
) -> BacktestRecord | None:
    """Store a run's results and its final status in one transaction. A run that has ended
    keeps what it has, except a run cancelled before it could store its partial results: it
    gets them, and stays cancelled. The run as it is now."""
    async with sessions() as s, s.begin():
        row = await s.get(BacktestRecord, backtest_id, with_for_update=True)
        if row is None:
            return None
        if BacktestStatus(row.status).final:
            if row.status != BacktestStatus.CANCELLED or row.metrics is not None:
                return row
            status = BacktestStatus.CANCELLED
        for table in (BacktestTradeRecord, BacktestEquityRecord, BacktestDecisionRecord):
            await s.execute(delete(table).where(table.backtest_id == backtest_id))
        s.add_all(_trade_rows(backtest_id, results.trades))
        s.add_all(_equity_rows(backtest_id, results.equity))
        s.add_all(_decision_rows(backtest_id, results.decisions))
        m = results.metrics
        row.status = status.value
        row.metrics = m
        row.total_pnl = Decimal(str(m["total_pnl"])) if m.get("total_pnl") is not None else None
        row.total_trades = m.get("total_trades")
        row.win_rate = None if m.get("win_rate") is None else str(m["win_rate"])
        row.result_hash = results.result_hash
        row.steps_done, row.total_steps = steps_done, total_steps
        row.progress = progress_of(steps_done, total_steps)
        row.checkpoint = None
        if row.started_at is None:
            row.started_at = utcnow()
        row.finished_at = row.finished_at or utcnow()
    return row


def _trade_rows(backtest_id: int, trades: Sequence[dict[str, Any]]) -> list[BacktestTradeRecord]:
    return [
        BacktestTradeRecord(
            backtest_id=backtest_id,
            seq=seq,
            symbol=str(t.get("symbol", "")),
            trade=dict(t),
        )
        for seq, t in enumerate(trades)
    ]


def _equity_rows(backtest_id: int, equity: Sequence[Sequence[Any]]) -> list[BacktestEquityRecord]:
    return [
        BacktestEquityRecord(
            backtest_id=backtest_id,
            at_ms=int(at_ms),
            equity=Decimal(str(eq)),
            equity_low=Decimal(str(low)),
        )
        for at_ms, eq, low in equity
    ]


def _decision_rows(
    backtest_id: int, decisions: Sequence[dict[str, Any]]
) -> list[BacktestDecisionRecord]:
    """The engine's decision records (strategies/backtest/steps.py decision_record): `code` is
    the decider's error code when it failed, else the deny or reject code."""

    def text_of(v: Any, size: int) -> str | None:
        return None if v is None else str(v)[:size]

    rows = []
    for seq, d in enumerate(decisions):
        status = str(d.get("status") or "")
        failed = status == DecisionStatus.FAILED
        rows.append(
            BacktestDecisionRecord(
                backtest_id=backtest_id,
                seq=seq,
                at_ms=int(d.get("at_ms") or 0),
                operation=text_of(d.get("operation"), 16),
                status=status[:16],
                symbol=text_of(d.get("symbol"), 32),
                verdict_code=None if failed else text_of(d.get("code"), 64),
                error_code=text_of(d.get("code"), 64) if failed else None,
                run_ms=d.get("run_ms"),
                reasoning=text_of(d.get("reasoning"), 100_000),
                detail=dict(d),
            )
        )
    return rows


async def delete_backtest(sessions: Sessions, backtest_id: int) -> None:
    """Delete a run and its results (the caller checked it is not running)."""
    async with sessions() as s, s.begin():
        for table in (BacktestTradeRecord, BacktestEquityRecord, BacktestDecisionRecord):
            await s.execute(delete(table).where(table.backtest_id == backtest_id))
        await s.execute(delete(BacktestRecord).where(BacktestRecord.id == backtest_id))


async def trades(
    sessions: Sessions, backtest_id: int, offset: int = 0, limit: int | None = None
) -> list[dict[str, Any]]:
    q = (
        select(BacktestTradeRecord.trade)
        .where(BacktestTradeRecord.backtest_id == backtest_id)
        .order_by(BacktestTradeRecord.seq)
        .offset(offset)
    )
    if limit is not None:
        q = q.limit(limit)
    async with sessions() as s:
        return [dict(t) for t in await s.scalars(q)]


async def count_trades(sessions: Sessions, backtest_id: int) -> int:
    async with sessions() as s:
        n = await s.scalar(
            select(func.count()).where(BacktestTradeRecord.backtest_id == backtest_id)
        )
    return int(n or 0)


async def equity(sessions: Sessions, backtest_id: int) -> list[tuple[int, Decimal, Decimal]]:
    async with sessions() as s:
        rows = await s.execute(
            select(
                BacktestEquityRecord.at_ms,
                BacktestEquityRecord.equity,
                BacktestEquityRecord.equity_low,
            )
            .where(BacktestEquityRecord.backtest_id == backtest_id)
            .order_by(BacktestEquityRecord.at_ms)
        )
        return [(int(a), Decimal(e), Decimal(lo)) for a, e, lo in rows]


async def decisions(
    sessions: Sessions, backtest_id: int, kind: str | None, offset: int, limit: int
) -> list[BacktestDecisionRecord]:
    """The run's recorded decisions in order; `kind` non_hold (traded or tried to), denied
    (the risk gate said no) or failed (the program gave no decision)."""
    D = BacktestDecisionRecord
    q = select(D).where(D.backtest_id == backtest_id)
    if kind in (DecisionStatus.DENIED, DecisionStatus.FAILED):
        q = q.where(D.status == kind)
    elif kind == "non_hold":
        q = q.where(D.operation.is_not(None), D.operation != Operation.HOLD.value)
    async with sessions() as s:
        return list(await s.scalars(q.order_by(D.seq).offset(offset).limit(limit)))


async def program_code(sessions: Sessions, program_id: int | None) -> str | None:
    if program_id is None:
        return None
    async with sessions() as s:
        program = await s.get(Program, program_id)
    return None if program is None else program.code
