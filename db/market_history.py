"""Market history beyond candles: backfill tasks (what was asked of a venue, how far it got)
and funding-rate history (one settled rate per source, symbol and funding time)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, utcnow


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
