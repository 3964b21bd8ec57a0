"""Bodies of /api/orders: the owner's own orders (domain/manual_orders.py)."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any

from pydantic import ConfigDict, Field, StrictBool, field_validator

from api.money import fmt
from api.schemas import as_utc, storable
from db.models import OrderRecord
from db.session import json_dumps
from domain.manual_orders import ManualOrder
from domain.orders import OrderStatus, OrderType


# An order's status in the product's words (its `status`; `order_status` is the platform's).
class ProductOrderStatus(StrEnum):
    PENDING = "pending"  # not settled yet: resting, or on its way
    EXECUTED = "executed"  # filled
    REJECTED = "rejected"
    CANCELLED = "cancelled"


PRODUCT_STATUS = {
    OrderStatus.INTENT: ProductOrderStatus.PENDING,
    OrderStatus.SUBMITTED: ProductOrderStatus.PENDING,
    OrderStatus.UNKNOWN: ProductOrderStatus.PENDING,
    OrderStatus.FILLED: ProductOrderStatus.EXECUTED,
    OrderStatus.REJECTED: ProductOrderStatus.REJECTED,
    OrderStatus.CANCELLED: ProductOrderStatus.CANCELLED,
}


class OrderCreate(ManualOrder):
    """POST /api/orders/create: the order, and the trader that places it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    account_id: int = Field(gt=0)
    reduce_only: StrictBool = False

    @field_validator("name")
    @classmethod
    def _storable(cls, v: str) -> str:
        return str(storable(v))

    def order(self) -> ManualOrder:
        return ManualOrder.model_validate(self.model_dump(exclude={"account_id"}))


def order_context(order: ManualOrder) -> dict[str, Any]:
    """The order as the decision log stores its trigger context (what a retry is compared
    with): the workflow records {"order": <the order as JSON>}."""
    loaded: dict[str, Any] = json.loads(json_dumps({"order": order.model_dump(mode="json")}))
    return loaded


def order_out(o: OrderRecord) -> dict[str, object]:
    """An order in the product's shape (id, account_id, symbol, side, order_type, quantity,
    status), with the platform's own detail: the decision that placed it, its client order id
    (which is its id), limit price, time in force, and how it filled."""
    status = OrderStatus(o.status)
    quantity = o.filled_size if status is OrderStatus.FILLED else o.size_base
    return {
        "id": o.client_order_id,
        "account_id": o.account_id,
        "symbol": o.symbol,
        "side": o.side,
        "order_type": o.order_type or OrderType.MARKET.value,
        "quantity": fmt(quantity),
        "status": PRODUCT_STATUS[status].value,
        "order_status": status.value,
        "name": o.name,
        "decision_id": o.decision_id,
        "client_order_id": o.client_order_id,
        "price": fmt(o.limit_price),
        "time_in_force": o.time_in_force,
        "size_usd": fmt(o.size_usd),
        "leverage": fmt(o.leverage),
        "reduce_only": o.reduce_only,
        "take_profit_pct": fmt(o.take_profit_pct),
        "stop_loss_pct": fmt(o.stop_loss_pct),
        "exchange_order_id": o.exchange_order_id,
        "filled_size": fmt(o.filled_size),
        "avg_price": fmt(o.avg_price),
        "fee": fmt(o.fee),
        "reject_reason": o.reject_reason,
        "created_at": as_utc(o.created_at).isoformat(),
        "updated_at": as_utc(o.updated_at).isoformat(),
    }
