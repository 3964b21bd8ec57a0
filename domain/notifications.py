"""Notifications (README "Notifications"): what a user is told, on which channel, and the
models the notifier's workflows and activities exchange.

The live stream's events (domain/events.py) are the source of truth: each event is classified
into at most one notification kind (`kind_of`), and every (event, channel that wants that kind)
becomes one delivery with a stable id (`delivery_id`), which receivers use to drop repeats.
Messages are built from the event's data only: no secret is ever in one.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from domain.events import EventType, TradeKind
from domain.trader import TraderStatus
from domain.vocabulary import DecisionStatus


class ChannelKind(StrEnum):
    WEBHOOK = "webhook"
    TELEGRAM = "telegram"


class ChannelStatus(StrEnum):
    OK = "ok"
    FAILING = "failing"  # the receiver refused a delivery (4xx): see the channel's reason


class NotifyKind(StrEnum):
    """The event kinds a channel may ask for."""

    FILL = "fill"
    TP_SL_CLOSE = "tp_sl_close"  # a take-profit, stop-loss or liquidation fill
    DECISION_FAILED = "decision_failed"
    TRADER_ERROR = "trader_error"
    ORDER_UNKNOWN = "order_unknown"  # a decision failed with ORDER_UNKNOWN: the trader halted
    CIRCUIT_BREAKER = "circuit_breaker"
    DAILY_SUMMARY = "daily_summary"
    TEST = "test"  # POST .../test: sent whatever the channel's kinds


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"  # refused by the receiver, or out of attempts


# A protective leg's fill (trades.trigger) is a TP/SL/liquidation close, not a plain fill.
CLOSE_TRIGGERS = frozenset({"take_profit", "stop_loss", "liquidation"})
# The circuit breakers' contract: a `status_update` to Paused whose reason starts with this.
CIRCUIT_BREAKER_PREFIX = "CIRCUIT_BREAKER_"
ORDER_UNKNOWN_CODE = "ORDER_UNKNOWN"
# The field a channel's sealed secret is bound to, with the channel's id (vault.seal).
SECRET_FIELD = "notification_channel_secret"


def kind_of(event_type: str, data: dict[str, Any]) -> NotifyKind | None:
    """The notification kind of one live-stream event (None: nothing to tell)."""
    if event_type == EventType.TRADE:
        if data.get("kind") != TradeKind.FILL:
            return None
        return NotifyKind.TP_SL_CLOSE if data.get("trigger") in CLOSE_TRIGGERS else NotifyKind.FILL
    if event_type == EventType.MODEL_CHAT:
        if data.get("status") != DecisionStatus.FAILED:
            return None
        if data.get("error_code") == ORDER_UNKNOWN_CODE:
            return NotifyKind.ORDER_UNKNOWN
        return NotifyKind.DECISION_FAILED
    if event_type == EventType.STATUS:
        status, reason = data.get("status"), str(data.get("reason") or "")
        if status == TraderStatus.ERROR:
            return NotifyKind.TRADER_ERROR
        if status == TraderStatus.PAUSED and reason.startswith(CIRCUIT_BREAKER_PREFIX):
            return NotifyKind.CIRCUIT_BREAKER
    return None


_NAMESPACE = uuid.UUID("6c1f3c9e-2f55-4f0e-9c53-6d1e0b7a3a11")


def delivery_id(channel_id: int, key: str) -> str:
    """The delivery's stable id: the same channel and key always give the same id, so a re-run
    of the step that makes deliveries makes none twice, and a receiver drops repeats by it."""
    return f"dlv_{uuid.uuid5(_NAMESPACE, f'{channel_id}:{key}').hex}"


def event_key(event_id: int) -> str:
    return f"event:{event_id}"


def summary_key(day: date) -> str:
    return f"daily_summary:{day.isoformat()}"


def _money(v: object) -> str:
    return "?" if v is None else str(v)


def event_text(kind: NotifyKind, trader: str, data: dict[str, Any]) -> str:
    """A one-line, human message for an event (Telegram's text, the webhook's `text`)."""
    if kind in (NotifyKind.FILL, NotifyKind.TP_SL_CLOSE):
        side = str(data.get("side") or "").upper()
        what = "Fill" if kind == NotifyKind.FILL else f"Closed by {data.get('trigger')}"
        text = (
            f"{trader}: {what}: {side} {_money(data.get('size'))} {data.get('symbol')} "
            f"@ {_money(data.get('price'))}, fee {_money(data.get('fee'))}"
        )
        if data.get("realized_pnl") not in (None, "0"):
            text += f", realized PnL {data.get('realized_pnl')}"
        return text
    if kind == NotifyKind.ORDER_UNKNOWN:
        return (
            f"{trader}: an order's outcome is unknown (decision {data.get('decision_id')}); "
            "new entries are halted until you resume the trader"
        )
    if kind == NotifyKind.DECISION_FAILED:
        code = data.get("error_code") or "unknown error"
        return f"{trader}: decision {data.get('decision_id')} failed ({code})"
    if kind == NotifyKind.TRADER_ERROR:
        return f"{trader}: status Error: {data.get('reason') or 'no reason given'}"
    if kind == NotifyKind.CIRCUIT_BREAKER:
        return f"{trader}: paused by a circuit breaker: {data.get('reason')}"
    return f"{trader}: {kind.value}"


class TraderDay(BaseModel):
    """One trader's line of the daily summary. Money is Decimal (decimal strings in JSON)."""

    account_id: int
    name: str
    equity: Decimal | None  # the last equity point of the day (None: no point yet)
    pnl: Decimal | None  # equity at the day's end minus at its start (None: unknown)
    realized_pnl: Decimal
    trades: int
    fees: Decimal


def summary_text(day: date, traders: list[TraderDay]) -> str:
    lines = [f"Daily summary for {day.isoformat()} (UTC)"]
    for t in traders:
        lines.append(
            f"{t.name}: equity {_money(t.equity)}, PnL {_money(t.pnl)}, "
            f"{t.trades} trades, fees {t.fees}"
        )
    if not traders:
        lines.append("No traders.")
    return "\n".join(lines)


# --------------------------------------------------------------- workflow <-> activity models


class NotifyActivity(StrEnum):
    COLLECT = "collect_notifications"
    COLLECT_SUMMARY = "collect_daily_summary"
    DELIVER = "deliver_notification"
    GIVE_UP = "give_up_delivery"


class DeliveryPolicy(BaseModel):
    """How a delivery is tried (from the settings: the workflow cannot read them)."""

    http_timeout_s: float = 10.0
    initial_retry_s: float = 1.0
    max_retry_s: float = 60.0
    max_attempts: int = 8


class NotifyInput(BaseModel):
    policy: DeliveryPolicy = Field(default_factory=DeliveryPolicy)
    batch: int = 500  # events read per pass at most


class SummaryInput(BaseModel):
    policy: DeliveryPolicy = Field(default_factory=DeliveryPolicy)
    day: date | None = None  # None: the UTC day before the workflow's start


class DeliverBatchInput(BaseModel):
    """Deliver these (already recorded) deliveries now: the test endpoint's workflow."""

    delivery_ids: list[str]
    policy: DeliveryPolicy = Field(default_factory=DeliveryPolicy)


class CollectInput(BaseModel):
    batch: int = 500


class CollectSummaryInput(BaseModel):
    day: date


class CollectResult(BaseModel):
    """The deliveries waiting to be sent (new and earlier ones still pending)."""

    pending: list[str] = Field(default_factory=list)
    events_read: int = 0
    created: int = 0


class DeliverInput(BaseModel):
    delivery_id: str
    http_timeout_s: float = 10.0


class GiveUpInput(BaseModel):
    delivery_id: str
    error: str


class DeliveryResult(BaseModel):
    delivery_id: str
    status: DeliveryStatus
    attempts: int = 0
    error: str | None = None


class DeliveryView(BaseModel):
    """A delivery as the history shows it."""

    id: str
    channel_id: int
    kind: NotifyKind
    event_id: int | None
    account_id: int | None
    status: DeliveryStatus
    attempts: int
    last_error: str | None
    created_at: datetime
    last_attempt_at: datetime | None
    delivered_at: datetime | None


class BatchResult(BaseModel):
    results: list[DeliveryResult] = Field(default_factory=list)
