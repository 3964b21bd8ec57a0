"""Order intents minted from approved decisions, and the order state table."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel

from domain.decision import Decision, Operation
from domain.ids import OrderLeg, client_order_id
from domain.risk import PositionView
from domain.vocabulary import PositionSide, Side


class OrderStatus(StrEnum):
    INTENT = "intent"  # recorded, not yet sent
    SUBMITTED = "submitted"  # sent, no answer yet
    UNKNOWN = "unknown"  # sent, answer lost: resolved only by lookup, never by resending
    FILLED = "filled"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


# (from, to) pairs that may happen; anything else is a bug or a venue surprise to record.
TRANSITIONS: frozenset[tuple[OrderStatus, OrderStatus]] = frozenset(
    {
        (OrderStatus.INTENT, OrderStatus.SUBMITTED),
        (OrderStatus.INTENT, OrderStatus.FILLED),
        (OrderStatus.INTENT, OrderStatus.REJECTED),
        # A live order goes out from `intent` (no `submitted` write before sending), so the
        # venue's first answer can be any of these: a lost answer, or an order the venue
        # cancelled at once (Binance EXPIRED: a market order with no liquidity left).
        (OrderStatus.INTENT, OrderStatus.UNKNOWN),
        (OrderStatus.INTENT, OrderStatus.CANCELLED),
        (OrderStatus.SUBMITTED, OrderStatus.FILLED),
        (OrderStatus.SUBMITTED, OrderStatus.REJECTED),
        (OrderStatus.SUBMITTED, OrderStatus.UNKNOWN),
        (OrderStatus.UNKNOWN, OrderStatus.FILLED),
        (OrderStatus.UNKNOWN, OrderStatus.REJECTED),
        # A lookup settles a lost answer with whatever the venue holds: still resting
        # (Binance NEW / PARTIALLY_FILLED), or cancelled / expired.
        (OrderStatus.UNKNOWN, OrderStatus.SUBMITTED),
        (OrderStatus.UNKNOWN, OrderStatus.CANCELLED),
        (OrderStatus.SUBMITTED, OrderStatus.CANCELLED),
        (OrderStatus.CANCELLED, OrderStatus.FILLED),  # real world: fill raced the cancel
    }
)


def can_transition(current: OrderStatus, new: OrderStatus) -> bool:
    return current == new or (current, new) in TRANSITIONS


class OrderType(StrEnum):
    MARKET = "market"
    LIMIT = "limit"


class TimeInForce(StrEnum):
    GTC = "gtc"  # rests until filled or cancelled
    IOC = "ioc"  # fills what it can at once, the rest is cancelled
    POST_ONLY = "post_only"  # rests as maker only; refused if it would fill at once


class OrderIntent(BaseModel):
    client_order_id: str
    account_id: int
    decision_id: str
    leg: OrderLeg
    symbol: str
    side: Side
    reduce_only: bool
    size_usd: Decimal | None  # None with reduce_only: close the whole position
    leverage: Decimal
    take_profit_pct: Decimal | None = None
    stop_loss_pct: Decimal | None = None
    order_type: OrderType = OrderType.MARKET
    limit_price: Decimal | None = None  # limit orders only
    time_in_force: TimeInForce | None = None  # limit orders only; None means GTC
    size_base: Decimal | None = None  # a size in base units (manual orders); else size_usd


class OrderOutcome(BaseModel):
    client_order_id: str
    status: OrderStatus
    symbol: str = ""
    side: Side | Literal[""] = ""  # "": not known
    exchange_order_id: str | None = None
    filled_size: Decimal | None = None
    avg_price: Decimal | None = None
    fee: Decimal | None = None
    reject_reason: str | None = None


def intents_for(
    decision: Decision, account_id: int, decision_id: str, seq: int, positions: list[PositionView]
) -> list[OrderIntent]:
    if decision.operation is Operation.HOLD or decision.symbol is None:
        return []
    if decision.operation is Operation.CLOSE:
        held = next((p for p in positions if p.symbol == decision.symbol), None)
        if held is None:
            return []
        return [
            OrderIntent(
                client_order_id=client_order_id(account_id, seq, OrderLeg.CLOSE),
                account_id=account_id,
                decision_id=decision_id,
                leg=OrderLeg.CLOSE,
                symbol=decision.symbol,
                side=Side.SELL if held.side == PositionSide.LONG else Side.BUY,
                reduce_only=True,
                size_usd=None,
                leverage=held.leverage,
            )
        ]
    return [
        OrderIntent(
            client_order_id=client_order_id(account_id, seq, OrderLeg.ENTRY),
            account_id=account_id,
            decision_id=decision_id,
            leg=OrderLeg.ENTRY,
            symbol=decision.symbol,
            side=Side.BUY if decision.operation is Operation.LONG else Side.SELL,
            reduce_only=False,
            size_usd=decision.size_usd,
            leverage=decision.effective_leverage,
            take_profit_pct=decision.take_profit_pct,
            stop_loss_pct=decision.stop_loss_pct,
        )
    ]
