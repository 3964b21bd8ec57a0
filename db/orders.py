"""Order rows as the domain sees them."""

from __future__ import annotations

from typing import Any

from domain.orders import OrderOutcome, OrderStatus


def outcome_of(order: Any, **changed: Any) -> OrderOutcome:
    """The outcome an order row (ORM object or Core row) says, with `changed` columns applied."""

    def col(name: str) -> Any:
        return changed[name] if name in changed else getattr(order, name)

    return OrderOutcome(
        client_order_id=order.client_order_id,
        status=OrderStatus(col("status")),
        symbol=order.symbol,
        side=order.side,
        exchange_order_id=col("exchange_order_id"),
        filled_size=col("filled_size"),
        avg_price=col("avg_price"),
        fee=col("fee"),
        reject_reason=col("reject_reason"),
    )
