"""The live-stream event each recorded write reports (domain/events.py), built from the values
that write stores, so that an event says what the REST endpoints answer about its subject once
its transaction has committed (README "Live stream: what the worker records").

The writers (db/decided_once.py, db/notes.py, db/account_status.py, db/order_status.py,
db/fills.py, the paper exchange) append them with db/events.py `append` inside their own
transaction, all of one transaction in one call (one executemany).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from domain.decision import Decision
from domain.events import (
    ModelChatUpdate,
    PositionKind,
    PositionUpdate,
    StatusUpdate,
    TradeKind,
    TradeUpdate,
    Verdict,
)
from domain.risk import RiskVerdict
from domain.trader import TraderStatus
from domain.vocabulary import DecisionStatus, PositionSide, Side


def decision_finished(
    account_id: int,
    decision_id: str,
    seq: int,
    trigger_type: str,
    status: DecisionStatus,
    decision: Decision | None,
    verdict: RiskVerdict | None,
    error_code: str | None,
    at: datetime,
) -> ModelChatUpdate:
    """A decision as its row says once finished. Never its prompt, the model's raw answer or
    its input snapshot: those are fetched from `GET .../decisions/{id}`."""
    return ModelChatUpdate(
        account_id=account_id,
        time=at,
        decision_id=decision_id,
        seq=seq,
        trigger_type=trigger_type,
        status=status,
        operation=decision.operation.value if decision else None,
        symbol=decision.symbol if decision else None,
        reasoning=decision.reasoning if decision else None,
        verdict=None
        if verdict is None
        else Verdict.APPROVED
        if verdict.approved
        else Verdict.DENIED,
        deny_code=verdict.code.value if verdict and verdict.code else None,
        deny_reason=verdict.message if verdict and not verdict.approved else None,
        error_code=error_code,
    )


def status_changed(account_id: int, status: str, reason: str | None, at: datetime) -> StatusUpdate:
    return StatusUpdate(account_id=account_id, time=at, status=TraderStatus(status), reason=reason)


def filled(
    account_id: int, trade: Mapping[str, Any], at: datetime, exchange_order_id: str | None = None
) -> TradeUpdate:
    """A fill as its `trades` row holds it (`trade`: the row's values)."""
    return TradeUpdate(
        account_id=account_id,
        time=at,
        kind=TradeKind.FILL,
        symbol=trade["symbol"],
        side=Side(trade["side"]),
        client_order_id=trade.get("client_order_id"),
        exchange_order_id=exchange_order_id,
        trade_id=trade["trade_id"],
        size=trade["size"],
        price=trade["price"],
        fee=trade["fee"],
        realized_pnl=trade["realized_pnl"],
        trigger=trade.get("trigger"),
    )


def cancelled(order: Any, exchange_order_id: str | None, at: datetime) -> TradeUpdate:
    """An order of ours recorded as cancelled (`order`: its row)."""
    return TradeUpdate(
        account_id=order.account_id,
        time=at,
        kind=TradeKind.CANCEL,
        symbol=order.symbol,
        side=Side(order.side),
        client_order_id=order.client_order_id,
        exchange_order_id=exchange_order_id,
    )


@dataclass(frozen=True)
class Holding:
    """One open position, in the terms of `GET /api/account/{id}/positions`."""

    side: PositionSide
    size: Decimal
    entry_price: Decimal | None
    leverage: Decimal | None
    mark_price: Decimal | None = None
    unrealized_pnl: Decimal | None = None

    def same_position(self, other: Holding) -> bool:
        """Nothing a position row shows changed but its valuation at the mark."""
        return (self.side, self.size, self.entry_price, self.leverage) == (
            other.side,
            other.size,
            other.entry_price,
            other.leverage,
        )


def position_moves(
    account_id: int,
    symbol: str,
    before: Holding | None,
    after: Holding | None,
    at: datetime,
) -> list[PositionUpdate]:
    """What a fill did to the position in `symbol`: opened, changed or closed it (a fill that
    turns a long into a short, which a live venue allows, closes one and opens the other)."""

    def update(kind: PositionKind, h: Holding) -> PositionUpdate:
        closed = kind is PositionKind.CLOSED  # size 0; side, entry and leverage: what it was
        return PositionUpdate(
            account_id=account_id,
            time=at,
            kind=kind,
            symbol=symbol,
            side=h.side,
            size=Decimal(0) if closed else h.size,
            entry_price=h.entry_price,
            leverage=h.leverage,
            mark_price=None if closed else h.mark_price,
            unrealized_pnl=None if closed else h.unrealized_pnl,
        )

    if before is None:
        return [] if after is None else [update(PositionKind.OPENED, after)]
    if after is None:
        return [update(PositionKind.CLOSED, before)]
    if after.side != before.side:
        return [update(PositionKind.CLOSED, before), update(PositionKind.OPENED, after)]
    if after.same_position(before):
        return []
    return [update(PositionKind.CHANGED, after)]
