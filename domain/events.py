"""The live stream's vocabulary: what the worker records as it happens and the API's `/ws`
pushes to subscribed clients (README "Live stream").

An event is written in the same transaction as the thing it reports (a fill, a finished
decision, a status change), so a crash loses neither or both; its id grows monotonically, so a
client that reconnects with its last id gets exactly what it missed. Money is a decimal string.
Prompts and raw model answers are never in an event (they are fetched from the REST detail).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, field_serializer

from domain.money import plain
from domain.trader import TraderStatus
from domain.vocabulary import DecisionStatus, PositionSide, Side


class EventType(StrEnum):
    """The server messages that carry recorded events (the socket's `type`)."""

    TRADE = "trade_update"  # a fill or a cancel
    POSITION = "position_update"  # a position opened, changed or closed
    MODEL_CHAT = "model_chat_update"  # a decision finished
    ASSET_CURVE = "asset_curve_update"  # an equity point
    STATUS = "status_update"  # the trader's status changed


class Channel(StrEnum):
    """What a client subscribes to."""

    TRADES = "trades"
    POSITIONS = "positions"
    MODEL_CHAT = "model_chat"
    ASSET_CURVE = "asset_curve"


# The channel each event is pushed on; None: to every connection watching the trader.
CHANNEL_OF: dict[EventType, Channel | None] = {
    EventType.TRADE: Channel.TRADES,
    EventType.POSITION: Channel.POSITIONS,
    EventType.MODEL_CHAT: Channel.MODEL_CHAT,
    EventType.ASSET_CURVE: Channel.ASSET_CURVE,
    EventType.STATUS: None,
}


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    account_id: int
    time: datetime  # when it happened (UTC)

    # Why: money reads as the REST endpoints write it ("71182.27335", not the paper engine's
    # "71182.27335000"), so a client comparing an event with GET .../trades sees the same text.
    @field_serializer("*", when_used="json")
    def _money(self, value: Any) -> Any:
        return plain(value) if isinstance(value, Decimal) else value


class TradeKind(StrEnum):
    FILL = "fill"
    CANCEL = "cancel"


class TradeUpdate(_Data):
    kind: TradeKind
    symbol: str
    side: Side | None = None
    client_order_id: str | None = None
    exchange_order_id: str | None = None
    trade_id: str | None = None  # fills: the venue's trade id
    size: Decimal | None = None
    price: Decimal | None = None
    fee: Decimal | None = None
    realized_pnl: Decimal | None = None
    trigger: str | None = None  # take_profit | stop_loss, for a protective leg's fill


class PositionKind(StrEnum):
    OPENED = "opened"
    CHANGED = "changed"
    CLOSED = "closed"


class PositionUpdate(_Data):
    kind: PositionKind
    symbol: str
    side: PositionSide
    size: Decimal  # 0 when closed
    entry_price: Decimal | None = None
    leverage: Decimal | None = None
    unrealized_pnl: Decimal | None = None
    mark_price: Decimal | None = None  # the mark unrealized_pnl was valued at


class Verdict(StrEnum):
    """The risk check's answer to a decision (domain/risk.py RiskVerdict.approved)."""

    APPROVED = "approved"
    DENIED = "denied"


class ModelChatUpdate(_Data):
    decision_id: str
    seq: int | None = None
    trigger_type: str
    status: DecisionStatus
    operation: str | None = None  # long | short | close | hold
    symbol: str | None = None
    reasoning: str | None = None
    verdict: Verdict | None = None
    deny_reason: str | None = None
    deny_code: str | None = None  # the risk verdict's code (domain/risk.py DenyReason)
    error_code: str | None = None


class AssetCurveUpdate(_Data):
    cash: Decimal
    unrealized_pnl: Decimal
    equity: Decimal
    margin_used: Decimal


class StatusUpdate(_Data):
    status: TraderStatus
    reason: str | None = None


EventData = TradeUpdate | PositionUpdate | ModelChatUpdate | AssetCurveUpdate | StatusUpdate

DATA_OF: dict[EventType, type[_Data]] = {
    EventType.TRADE: TradeUpdate,
    EventType.POSITION: PositionUpdate,
    EventType.MODEL_CHAT: ModelChatUpdate,
    EventType.ASSET_CURVE: AssetCurveUpdate,
    EventType.STATUS: StatusUpdate,
}
TYPE_OF: dict[type[_Data], EventType] = {v: k for k, v in DATA_OF.items()}


class Event(BaseModel):
    """A recorded event as read back: its id orders every event of every trader."""

    model_config = ConfigDict(frozen=True)

    id: int
    account_id: int
    type: EventType
    data: dict[str, object]  # the EventData, JSON-ready (decimals as strings)
    created_at: datetime
