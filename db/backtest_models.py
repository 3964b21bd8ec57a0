"""Backtest tables (spec backtesting.md 8.9): one row per run, and its results (trades, equity
curve, decisions that traded, were denied or failed), written together when the run ends.

A run's row holds its config (as the API normalised it), where it is (status, progress,
steps_done of total_steps) and, while running, the engine's last checkpoint, so a worker killed
mid-run resumes there. The results of a run are stored in one transaction with its final
status: a reader sees either no results or all of them."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, utcnow


class BacktestRecord(Base):
    """One backtest run (kind `program` now; `prompt` for prompt backtests), `backtest-<id>`.

    status: pending | running | completed | failed | cancelled. `progress` is steps_done /
    total_steps as a decimal fraction in [0, 1]."""

    __tablename__ = "backtests"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(16))
    # Why SET NULL: deleting a program (or prompt) keeps the backtests run with it.
    program_id: Mapped[int | None] = mapped_column(
        ForeignKey("programs.id", ondelete="SET NULL"), default=None
    )
    prompt_id: Mapped[int | None] = mapped_column(
        ForeignKey("prompts.id", ondelete="SET NULL"), default=None
    )
    account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL"), default=None
    )
    config: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))
    progress: Mapped[Decimal] = mapped_column(default=Decimal(0))
    steps_done: Mapped[int] = mapped_column(Integer, default=0)
    total_steps: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    total_pnl: Mapped[Decimal | None] = mapped_column(default=None)
    total_trades: Mapped[int | None] = mapped_column(Integer, default=None)
    win_rate: Mapped[str | None] = mapped_column(String(32), default=None)
    metrics: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    result_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    workflow_id: Mapped[str | None] = mapped_column(String(64), default=None)
    checkpoint: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)

    __table_args__ = (
        Index("ix_backtests_owner", "owner_id", "id"),
        Index("ix_backtests_status", "status"),
        {"sqlite_autoincrement": True},
    )


class BacktestTradeRecord(Base):
    """A closed round trip of a run: the spec's trade object (8.2) as stored JSON, plus the
    columns a page or a breakdown filters on."""

    __tablename__ = "backtest_trades"

    backtest_id: Mapped[int] = mapped_column(
        ForeignKey("backtests.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    symbol: Mapped[str] = mapped_column(String(32))
    trade: Mapped[dict[str, Any]] = mapped_column(JSON)


class BacktestEquityRecord(Base):
    """One bar close of a run's equity curve: equity marked at the close, and at the bar's
    adverse extremes (`equity_low`)."""

    __tablename__ = "backtest_equity"

    backtest_id: Mapped[int] = mapped_column(
        ForeignKey("backtests.id", ondelete="CASCADE"), primary_key=True
    )
    at_ms: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    equity: Mapped[Decimal]
    equity_low: Mapped[Decimal]


class BacktestDecisionRecord(Base):
    """A step that traded, was denied by the risk gate or failed (holds are only counted, in
    the run's metrics)."""

    __tablename__ = "backtest_decisions"

    backtest_id: Mapped[int] = mapped_column(
        ForeignKey("backtests.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    at_ms: Mapped[int] = mapped_column(BigInteger)
    operation: Mapped[str | None] = mapped_column(String(16), default=None)
    # filled | rejected (the paper fill refused it) | not_filled (the last bar's) | denied (the
    # risk gate) | failed (the program gave no decision)
    status: Mapped[str] = mapped_column(String(16))
    symbol: Mapped[str | None] = mapped_column(String(32), default=None)
    verdict_code: Mapped[str | None] = mapped_column(String(64), default=None)  # deny / reject
    error_code: Mapped[str | None] = mapped_column(String(64), default=None)
    run_ms: Mapped[int | None] = mapped_column(Integer, default=None)
    reasoning: Mapped[str | None] = mapped_column(Text, default=None)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)  # the engine's whole record of it
