"""Whether an order's outcome is the one its intent asked for (the decision path's and the
decided-once record's rule). Kept apart from domain/orders.py, whose limit-order additions are
the shared contract with the live venues."""

from __future__ import annotations

from domain.orders import OrderIntent, OrderOutcome, OrderStatus, OrderType, TimeInForce


def settled_ok(intent: OrderIntent, outcome: OrderOutcome) -> bool:
    """The order was carried out as asked: filled; or, for a limit order, resting on the book
    (`submitted`), or an IOC that found nothing to fill at its price (`cancelled`)."""
    if outcome.status is OrderStatus.FILLED:
        return True
    if intent.order_type is not OrderType.LIMIT:
        return False
    if outcome.status is OrderStatus.SUBMITTED:
        return intent.time_in_force is not TimeInForce.IOC
    return outcome.status is OrderStatus.CANCELLED and intent.time_in_force is TimeInForce.IOC
