"""Market history beyond candles: backfill tasks (what was asked of a venue, how far it got)
and funding-rate history (one settled rate per source, symbol and funding time)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, UniqueConstraint, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, utcnow
from db.models import CandleRecord
from domain.backfill import BackfillStatus, FundingRate, progress_pct
from domain.market import Candle


class BackfillTask(Base):
    """A fetch of candles (kind `candles`) or funding rates (kind `funding`) from a venue's
    public endpoints over [start_ms, end_ms), run by BackfillWorkflow (`backfill-<id>`).

    status: pending | running | completed | failed | cancelled. `cursor_ms` is where the next
    page starts; `progress_pct` is how much of the range is behind it."""

    __tablename__ = "backfill_tasks"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(16))
    exchange: Mapped[str] = mapped_column(String(16))
    environment: Mapped[str] = mapped_column(String(16))
    symbol: Mapped[str] = mapped_column(String(32))
    interval: Mapped[str | None] = mapped_column(String(8))
    start_ms: Mapped[int] = mapped_column(BigInteger)
    end_ms: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16))
    progress_pct: Mapped[float] = mapped_column(default=0.0)
    rows_written: Mapped[int] = mapped_column(BigInteger, default=0)
    cursor_ms: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)
    workflow_id: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        Index("ix_backfill_tasks_owner", "owner_id", "id"),
        {"sqlite_autoincrement": True},
    )


class FundingRateRecord(Base):
    """A settled funding rate (a fraction per funding period, e.g. 0.0001 = 0.01 %)."""

    __tablename__ = "funding_rates"

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(32))
    symbol: Mapped[str] = mapped_column(String(32))
    funding_time_ms: Mapped[int] = mapped_column(BigInteger)
    rate: Mapped[Decimal]
    mark_price: Mapped[Decimal | None]

    __table_args__ = (
        UniqueConstraint("source", "symbol", "funding_time_ms", name="uq_funding_rates_key"),
    )


async def create_task(sessions: async_sessionmaker[AsyncSession], **fields: Any) -> BackfillTask:
    async with sessions() as s, s.begin():
        task = BackfillTask(
            status=BackfillStatus.PENDING,
            progress_pct=0.0,
            rows_written=0,
            cursor_ms=fields["start_ms"],
            **fields,
        )
        s.add(task)
        await s.flush()
        task.workflow_id = f"backfill-{task.id}"
    return task


async def load_task(
    sessions: async_sessionmaker[AsyncSession], task_id: int, owner_id: int | None = None
) -> BackfillTask | None:
    async with sessions() as s:
        task = await s.get(BackfillTask, task_id)
    if task is None or (owner_id is not None and task.owner_id != owner_id):
        return None
    return task


async def list_tasks(
    sessions: async_sessionmaker[AsyncSession], owner_id: int, limit: int
) -> list[BackfillTask]:
    async with sessions() as s:
        return list(
            await s.scalars(
                select(BackfillTask)
                .where(BackfillTask.owner_id == owner_id)
                .order_by(BackfillTask.id.desc())
                .limit(limit)
            )
        )


async def set_status(
    sessions: async_sessionmaker[AsyncSession],
    task_id: int,
    status: BackfillStatus,
    error: str | None = None,
) -> BackfillTask | None:
    """Move a task to `status` unless it has ended already (a cancelled task stays cancelled
    whatever its workflow reports after); the task as it is now."""
    async with sessions() as s, s.begin():
        task = await s.get(BackfillTask, task_id)
        if task is None or BackfillStatus(task.status).final:
            return task
        task.status = status
        if status == BackfillStatus.RUNNING and task.started_at is None:
            task.started_at = utcnow()
        if status.final:
            task.finished_at = utcnow()
            task.error = error
        if status == BackfillStatus.COMPLETED:
            task.progress_pct, task.cursor_ms = 100.0, task.end_ms
    return task


async def _advance(s: AsyncSession, task: BackfillTask, next_cursor_ms: int, new_rows: int) -> None:
    task.cursor_ms = max(task.cursor_ms, next_cursor_ms)
    task.progress_pct = progress_pct(task.start_ms, task.end_ms, task.cursor_ms)
    task.rows_written += new_rows
    if task.status == BackfillStatus.PENDING:
        task.status, task.started_at = BackfillStatus.RUNNING, utcnow()


async def store_candle_page(
    sessions: async_sessionmaker[AsyncSession],
    task_id: int,
    source: str,
    candles: list[Candle],
    next_cursor_ms: int,
) -> int | None:
    """Store a page's candles not stored yet and move the task past the page, in one
    transaction; the rows it added, or None when the task has ended (nothing stored)."""
    async with sessions() as s, s.begin():
        task = await s.get(BackfillTask, task_id, with_for_update=True)
        if task is None or BackfillStatus(task.status).final:
            return None
        new: list[Candle] = []
        if candles:
            have = set(
                await s.scalars(
                    select(CandleRecord.open_time_ms).where(
                        CandleRecord.source == source,
                        CandleRecord.symbol == task.symbol,
                        CandleRecord.interval == task.interval,
                        CandleRecord.open_time_ms >= candles[0].open_time_ms,
                        CandleRecord.open_time_ms <= candles[-1].open_time_ms,
                    )
                )
            )
            new = [c for c in candles if c.open_time_ms not in have]
            s.add_all(
                CandleRecord(
                    source=source,
                    symbol=task.symbol,
                    interval=task.interval,
                    open_time_ms=c.open_time_ms,
                    open=c.open,
                    high=c.high,
                    low=c.low,
                    close=c.close,
                    volume=c.volume,
                )
                for c in new
            )
        await _advance(s, task, next_cursor_ms, len(new))
    return len(new)


async def store_funding_page(
    sessions: async_sessionmaker[AsyncSession],
    task_id: int,
    source: str,
    rates: list[FundingRate],
    next_cursor_ms: int,
) -> int | None:
    """As store_candle_page, for settled funding rates."""
    async with sessions() as s, s.begin():
        task = await s.get(BackfillTask, task_id, with_for_update=True)
        if task is None or BackfillStatus(task.status).final:
            return None
        new: list[FundingRate] = []
        if rates:
            have = set(
                await s.scalars(
                    select(FundingRateRecord.funding_time_ms).where(
                        FundingRateRecord.source == source,
                        FundingRateRecord.symbol == task.symbol,
                        FundingRateRecord.funding_time_ms >= rates[0].time_ms,
                        FundingRateRecord.funding_time_ms <= rates[-1].time_ms,
                    )
                )
            )
            new = [f for f in rates if f.time_ms not in have]
            s.add_all(
                FundingRateRecord(
                    source=source,
                    symbol=task.symbol,
                    funding_time_ms=f.time_ms,
                    rate=Decimal(f.rate),
                    mark_price=Decimal(f.mark_price) if f.mark_price else None,
                )
                for f in new
            )
        await _advance(s, task, next_cursor_ms, len(new))
    return len(new)


async def load_funding(
    sessions: async_sessionmaker[AsyncSession],
    symbol: str,
    start_ms: int,
    end_ms: int,
    source: str | None,
    limit: int,
) -> list[FundingRateRecord]:
    query = select(FundingRateRecord).where(
        FundingRateRecord.symbol == symbol,
        FundingRateRecord.funding_time_ms >= start_ms,
        FundingRateRecord.funding_time_ms < end_ms,
    )
    if source is not None:
        query = query.where(FundingRateRecord.source == source)
    async with sessions() as s:
        return list(
            await s.scalars(
                query.order_by(FundingRateRecord.funding_time_ms, FundingRateRecord.source).limit(
                    limit
                )
            )
        )
