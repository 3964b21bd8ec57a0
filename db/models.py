"""Tables. Money columns are Numeric; every activity write is keyed by a natural id."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from db.account_snapshots import AccountSnapshot
from db.base import Base, utcnow
from db.exchange_config import UserExchangeConfig
from db.notification_models import NotificationChannel, NotificationCursor, NotificationDelivery
from db.users import SessionToken, User
from domain.orders import OrderStatus, OrderType
from domain.trader import TraderStatus
from domain.vocabulary import DecisionStatus, Exchange

# Re-exported: every table is reachable from db.models.
__all__ = [
    "AccountSnapshot",
    "NotificationChannel",
    "NotificationCursor",
    "NotificationDelivery",
    "SessionToken",
    "User",
    "UserExchangeConfig",
]


class Account(Base):
    """An AI trader: one isolated trading account."""

    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True, default=None)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    account_type: Mapped[str] = mapped_column(String(16))
    exchange: Mapped[str] = mapped_column(String(32), default=Exchange.PAPER)
    initial_capital: Mapped[Decimal]
    max_leverage: Mapped[Decimal]
    max_position_notional_usd: Mapped[Decimal]
    max_concurrent_positions: Mapped[int]
    symbols: Mapped[list[str]] = mapped_column(JSON)
    show_on_dashboard: Mapped[bool] = mapped_column(default=True)
    # LLM configuration (prompt traders). The key is sealed (envelope-encrypted, bound to this
    # account and field); only its last characters are kept in clear, for display.
    llm_provider: Mapped[str | None] = mapped_column(String(32), default=None)
    llm_model: Mapped[str | None] = mapped_column(String(200), default=None)
    llm_base_url: Mapped[str | None] = mapped_column(String(500), default=None)
    llm_api_key_sealed: Mapped[str | None] = mapped_column(Text, default=None)
    llm_api_key_hint: Mapped[str | None] = mapped_column(String(16), default=None)
    # Exchange connection (hyperliquid | binance). Public parts in clear; the signing secrets
    # sealed together, bound to this account and field.
    exchange_environment: Mapped[str | None] = mapped_column(String(16), default=None)
    exchange_base_url: Mapped[str | None] = mapped_column(String(500), default=None)
    exchange_wallet_address: Mapped[str | None] = mapped_column(String(64), default=None)
    exchange_credentials_sealed: Mapped[str | None] = mapped_column(Text, default=None)
    exchange_key_hint: Mapped[str | None] = mapped_column(String(16), default=None)
    exchange_connected_at: Mapped[datetime | None] = mapped_column(default=None)
    # What the user asked for; the workflow is the authority on what is happening.
    trading_enabled: Mapped[bool] = mapped_column(default=False)
    # Last status the trader workflow recorded: Active | Paused | Error | Deleted.
    status: Mapped[str] = mapped_column(String(16), default=TraderStatus.PAUSED)
    status_reason: Mapped[str | None] = mapped_column(Text, default=None)
    is_deleted: Mapped[bool] = mapped_column(default=False)
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)
    # Circuit breakers (domain/breakers.py): limits in % (null: off), and whether a trip closes
    # the positions too. What the breakers remember: BreakerStateRecord.
    daily_loss_limit_pct: Mapped[Decimal | None] = mapped_column(default=None)
    max_drawdown_pct: Mapped[Decimal | None] = mapped_column(default=None)
    breaker_closes_positions: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Program(Base):
    __tablename__ = "programs"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True, default=None)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    code: Mapped[str] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class PromptTemplate(Base):
    __tablename__ = "prompts"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True, default=None)
    name: Mapped[str] = mapped_column(String(200))
    content: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Binding(Base):
    """Attaches a strategy to a trader, with its triggers."""

    __tablename__ = "bindings"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    program_id: Mapped[int | None] = mapped_column(ForeignKey("programs.id"), default=None)
    prompt_id: Mapped[int | None] = mapped_column(ForeignKey("prompts.id"), default=None)
    schedule_interval_seconds: Mapped[int | None] = mapped_column(default=None)
    signal_pool_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DecisionRecord(Base):
    """One strategy run: trigger, input snapshot, output or error, risk verdict, orders."""

    __tablename__ = "decisions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # minted by the workflow
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    binding_id: Mapped[int | None] = mapped_column(default=None)
    seq: Mapped[int] = mapped_column(default=0)
    trigger_type: Mapped[str] = mapped_column(String(32))
    trigger_context: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # pending | hold | executed | denied | failed | rejected_input | ignored | resumed
    status: Mapped[str] = mapped_column(String(24), default=DecisionStatus.PENDING)
    # Deferred: ~75 KB of JSON that only the strategy step and the history API read; every other
    # load of a decision row (recording, finishing) would parse it for nothing.
    input_snapshot: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None, deferred=True)
    output: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    error_code: Mapped[str | None] = mapped_column(String(64), default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    logs: Mapped[str | None] = mapped_column(Text, default=None)
    # Prompt strategies: the exact text sent, the model's raw answer, usage and cost.
    llm_exchange: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    risk_verdict: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    workflow_id: Mapped[str | None] = mapped_column(String(128), default=None)
    run_id: Mapped[str | None] = mapped_column(String(64), default=None)
    duration_ms: Mapped[int | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(default=None)
    # Decided once (see db/decisions.py): what woke the trader (`manual-<update id>`,
    # `fire-<fire id>`, `schedule-<binding>@<due>`, `note-<run>-<n>`), unique per trader, so a
    # re-executed workflow task finds the decision it already made for the same trigger; and
    # each step's result as first recorded, which every later attempt reuses.
    trigger_key: Mapped[str | None] = mapped_column(String(255), default=None)
    context_summary: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    strategy_output: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    decided_at: Mapped[datetime | None] = mapped_column(default=None)  # verdict and intents

    __table_args__ = (
        Index("ix_decisions_account_created", "account_id", "created_at"),
        Index("uq_decisions_account_trigger", "account_id", "trigger_key", unique=True),
    )


class OrderRecord(Base):
    """An order intent, written before the order is sent, then its outcome."""

    __tablename__ = "orders"

    client_order_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    decision_id: Mapped[str] = mapped_column(ForeignKey("decisions.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    leg: Mapped[str] = mapped_column(String(16))  # entry | close
    symbol: Mapped[str] = mapped_column(String(32))
    side: Mapped[str] = mapped_column(String(8))  # buy | sell
    reduce_only: Mapped[bool] = mapped_column(default=False)
    size_usd: Mapped[Decimal | None] = mapped_column(default=None)
    leverage: Mapped[Decimal]
    take_profit_pct: Mapped[Decimal | None] = mapped_column(default=None)
    stop_loss_pct: Mapped[Decimal | None] = mapped_column(default=None)
    # market | limit; a limit order's price and time in force (gtc | ioc | post_only)
    order_type: Mapped[str] = mapped_column(
        String(16), default=OrderType.MARKET.value, server_default=OrderType.MARKET.value
    )
    limit_price: Mapped[Decimal | None] = mapped_column(default=None)
    time_in_force: Mapped[str | None] = mapped_column(String(16), default=None)
    size_base: Mapped[Decimal | None] = mapped_column(default=None)  # base units (manual orders)
    name: Mapped[str | None] = mapped_column(String(200), default=None)  # the owner's label
    # intent | submitted | filled | rejected | unknown | cancelled
    status: Mapped[str] = mapped_column(String(16), default=OrderStatus.INTENT)
    exchange_order_id: Mapped[str | None] = mapped_column(String(128), default=None)
    filled_size: Mapped[Decimal | None] = mapped_column(default=None)
    avg_price: Mapped[Decimal | None] = mapped_column(default=None)
    fee: Mapped[Decimal | None] = mapped_column(default=None)
    reject_reason: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class TradeRecord(Base):
    """A fill, deduplicated by the exchange's trade id."""

    __tablename__ = "trades"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    trade_id: Mapped[str] = mapped_column(String(128))
    client_order_id: Mapped[str | None] = mapped_column(String(64), default=None)
    symbol: Mapped[str] = mapped_column(String(32))
    side: Mapped[str] = mapped_column(String(8))
    size: Mapped[Decimal]
    price: Mapped[Decimal]
    fee: Mapped[Decimal]
    realized_pnl: Mapped[Decimal]
    trigger: Mapped[str | None] = mapped_column(String(32), default=None)  # take_profit | stop_loss
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("account_id", "trade_id", name="uq_trades_account_trade"),)


class PaperAccountRecord(Base):
    """The paper exchange's own state for one trader (cash, positions as JSON)."""

    __tablename__ = "paper_accounts"

    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), primary_key=True)
    state: Mapped[dict[str, Any]] = mapped_column(JSON)
    version: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class SignalDefinitionRecord(Base):
    """One market condition (see domain.signals.SignalDefinition for the rules)."""

    __tablename__ = "signal_definitions"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True, default=None)
    name: Mapped[str] = mapped_column(String(200))
    # The validated definition in its flat form (indicator, period, operator, threshold or
    # reference, timeframe); kept as JSON so new indicators need no migration.
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class SignalPoolRecord(Base):
    __tablename__ = "signal_pools"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True, default=None)
    name: Mapped[str] = mapped_column(String(200))
    symbols: Mapped[list[str]] = mapped_column(JSON)
    signal_ids: Mapped[list[int]] = mapped_column(JSON)
    logic: Mapped[str] = mapped_column(String(8), default="and")
    cooldown_seconds: Mapped[int] = mapped_column(default=0)
    enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class CandleRecord(Base):
    """Stored market data: one closed candle per (source, symbol, interval, open time)."""

    __tablename__ = "candles"

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(32))
    symbol: Mapped[str] = mapped_column(String(32))
    interval: Mapped[str] = mapped_column(String(8))
    open_time_ms: Mapped[int] = mapped_column(BigInteger)
    open: Mapped[Decimal]
    high: Mapped[Decimal]
    low: Mapped[Decimal]
    close: Mapped[Decimal]
    volume: Mapped[Decimal]

    __table_args__ = (
        UniqueConstraint("source", "symbol", "interval", "open_time_ms", name="uq_candles_key"),
    )


class ReconciliationEvent(Base):
    """Something reconciliation with the exchange found or settled, shown in the history.

    kind: fill_recorded (a fill learnt from the venue, not from our own order call),
    order_resolved (an unknown/unsettled order whose venue state is now recorded),
    position_drift (venue position differs from the recorded fills), unexpected_order (an open
    order at the venue the platform did not place), illegal_transition (a report of an order's
    status that the order state table forbids, e.g. filled then rejected: the stored status was
    kept; db/order_status.py). One row per finding (fingerprint).
    """

    __tablename__ = "reconciliation_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(128))
    reason: Mapped[str] = mapped_column(String(16))  # start | resume | periodic | order_write
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    fingerprint: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        UniqueConstraint("account_id", "fingerprint", name="uq_reconciliation_account_print"),
    )


class EventRecord(Base):
    """One event of the live stream (domain/events.py), written in the transaction of what it
    reports; `id` orders them all. Older rows are trimmed (db/events.py, `trim`)."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    type: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    __table_args__ = (Index("ix_events_account_id_id", "account_id", "id"),)


class RoundTripRecord(Base):
    """A position from the fill that opened it to the fill that left it flat
    (domain/round_trips.py), recorded in the transaction of that last fill.

    `size`: the total size opened (= closed); `notional`: that size at its entry prices;
    `net_pnl` = `gross_pnl` - `fees` - `funding`. The fills are the trades rows from
    `first_fill_id` to `last_fill_id` of the same symbol.
    """

    __tablename__ = "round_trips"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    symbol: Mapped[str] = mapped_column(String(32))
    side: Mapped[str] = mapped_column(String(8))  # long | short
    opened_at: Mapped[datetime]
    closed_at: Mapped[datetime]
    entry_price: Mapped[Decimal]
    exit_price: Mapped[Decimal]
    size: Mapped[Decimal]
    notional: Mapped[Decimal]
    leverage: Mapped[Decimal | None] = mapped_column(default=None)
    fees: Mapped[Decimal]
    funding: Mapped[Decimal]
    gross_pnl: Mapped[Decimal]
    net_pnl: Mapped[Decimal]
    exit_reason: Mapped[str] = mapped_column(String(16))  # domain.round_trips.ExitReason
    entry_decision_id: Mapped[str | None] = mapped_column(String(64), default=None)
    exit_decision_id: Mapped[str | None] = mapped_column(String(64), default=None)
    # The entry decision's trigger and strategy (its binding's program or prompt).
    trigger_type: Mapped[str | None] = mapped_column(String(32), default=None)
    program_id: Mapped[int | None] = mapped_column(default=None)
    prompt_id: Mapped[int | None] = mapped_column(default=None)
    first_fill_id: Mapped[int]  # trades.id
    last_fill_id: Mapped[int]  # trades.id
    fill_count: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        # One round trip per closing fill: recording it again (a retried transaction, the
        # backfill run twice) adds nothing.
        UniqueConstraint("account_id", "symbol", "last_fill_id", name="uq_round_trips_close"),
        Index("ix_round_trips_account_closed", "account_id", "closed_at"),
    )


class FundingPaymentRecord(Base):
    """A live position's funding settlement, as its venue booked it, recorded once (by the
    venue's id for it) on the trader's account syncs (adapters/exchanges/live.py).

    `amount` is what the trader paid: positive paid, negative received (the venue's sign turned
    round, so that a round trip's `net_pnl` = `gross_pnl` - `fees` - `funding`). `paid_at` is the
    venue's time of the settlement.
    """

    __tablename__ = "funding_payments"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    symbol: Mapped[str] = mapped_column(String(32))
    payment_id: Mapped[str] = mapped_column(String(96))
    amount: Mapped[Decimal]
    rate: Mapped[Decimal | None] = mapped_column(default=None)
    paid_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        UniqueConstraint("account_id", "payment_id", name="uq_funding_payments_venue_id"),
        Index("ix_funding_payments_account_symbol_paid", "account_id", "symbol", "paid_at"),
    )


class EquitySnapshot(Base):
    """One point of a trader's equity curve (domain/equity.py): recorded on every fill, in its
    transaction, and by the periodic sample; older points are thinned (db/equity.py, `thin`)."""

    __tablename__ = "equity_snapshots"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    time: Mapped[datetime]
    cash: Mapped[Decimal]
    unrealized_pnl: Mapped[Decimal]
    equity: Mapped[Decimal]
    margin_used: Mapped[Decimal]

    __table_args__ = (
        Index("ix_equity_snapshots_account_time", "account_id", "time"),
        # Why a second index: thinning works through one time range across all traders.
        Index("ix_equity_snapshots_time", "time"),
    )


class BreakerStateRecord(Base):
    """What a trader's circuit breakers remember (domain.breakers.BreakerState); no row: they
    are armed at the next account sync."""

    __tablename__ = "breaker_states"

    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id"), primary_key=True, autoincrement=False
    )
    armed_at: Mapped[datetime]
    day_start: Mapped[datetime]
    day_start_equity: Mapped[Decimal]
    peak_equity: Mapped[Decimal]


class EquityThinning(Base):
    """How far each thinning tier has got: points before `done_until` are thinned to one per
    `every_seconds` bucket, so each run only reads the points that aged past it since."""

    __tablename__ = "equity_thinning"

    every_seconds: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    done_until: Mapped[datetime]


# Ids are never reused. SQLite hands a deleted row's id (the highest) to the next insert unless
# the table says AUTOINCREMENT: an old decision's `binding_id` would then name a new binding, a
# deleted trader's id a new trader. PostgreSQL's sequences never go back.
for _table in Base.metadata.tables.values():
    if [c.name for c in _table.primary_key] == ["id"] and isinstance(_table.c.id.type, Integer):
        _table.dialect_options["sqlite"]["autoincrement"] = True
