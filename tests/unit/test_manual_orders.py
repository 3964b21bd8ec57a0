"""The owner's order as the decision path sees it (domain/manual_orders.py): the decision the
risk gate checks, the shared-contract intent a venue gets, and the rules of its fields."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from domain.decision import Operation
from domain.manual_orders import ManualOrder, as_decision, manual_intent, reduce_denial
from domain.orders import OrderType, TimeInForce
from domain.risk import PositionView

D = Decimal
LONG_BTC = PositionView(symbol="BTC", side="long", size=D("0.1"), entry_price=D(50000),
                        mark_price=D(50000), leverage=D(3), unrealized_pnl=D(0))  # fmt: skip


def _order(**fields: object) -> ManualOrder:
    return ManualOrder.model_validate(
        {"symbol": "btc", "side": "buy", "order_type": "market", "quantity": "0.01", **fields}
    )


def test_a_base_quantity_is_valued_at_the_limit_price_else_at_the_mark() -> None:
    limit = as_decision(_order(order_type="limit", price="40000"), D(50000))
    market = as_decision(_order(), D(50000))
    assert (limit.operation, limit.symbol, limit.size_usd) == (Operation.LONG, "BTC", D(400))
    assert market.size_usd == D(500)
    sized_in_usd = _order(side="sell", quantity=None, size_usd="250")
    assert as_decision(sized_in_usd, D(50000)).size_usd == D(250)


def test_a_reduce_only_order_is_a_close_for_the_gate() -> None:
    decision = as_decision(_order(side="sell", reduce_only=True), D(50000))
    assert decision.operation is Operation.CLOSE
    assert reduce_denial(_order(side="sell", reduce_only=True), [LONG_BTC]) is None
    denied = reduce_denial(_order(side="buy", reduce_only=True), [LONG_BTC])
    assert denied is not None and denied.code == "NO_POSITION_TO_CLOSE"


def test_an_absurd_notional_is_still_a_decision_the_gate_can_deny() -> None:
    huge = _order(quantity="9" * 20, order_type="limit", price="9" * 20)
    assert as_decision(huge, None).size_usd == D(10**15)


def test_the_intent_is_the_shared_contracts_limit_order() -> None:
    order = _order(order_type="limit", price="49000", time_in_force="ioc", leverage="2")
    intent = manual_intent(order, 7, "dec-7-3", 3, [])
    assert (intent.client_order_id, intent.leg, intent.side) == ("ho-7-3-entry", "entry", "buy")
    assert (intent.order_type, intent.limit_price, intent.time_in_force) == (
        OrderType.LIMIT, D(49000), TimeInForce.IOC
    )  # fmt: skip
    assert (intent.size_base, intent.size_usd, intent.leverage) == (D("0.01"), None, D(2))
    gtc = manual_intent(_order(order_type="limit", price="1"), 7, "dec-7-4", 4, [])
    assert gtc.time_in_force is TimeInForce.GTC
    close = manual_intent(_order(side="sell", reduce_only=True), 7, "dec-7-5", 5, [LONG_BTC])
    assert (close.leg, close.reduce_only, close.leverage) == ("close", True, D(3))
    assert close.order_type is OrderType.MARKET and close.limit_price is None


@pytest.mark.parametrize(
    "fields",
    [
        {"quantity": None},  # no size
        {"size_usd": "100"},  # two sizes
        {"order_type": "limit"},  # a limit order without its price
        {"price": "1"},  # a market order with a price
        {"time_in_force": "gtc"},  # on a market order
        {"quantity": "NaN"},
        {"reduce_only": True, "side": "sell", "stop_loss_pct": "1"},
    ],
)
def test_inconsistent_orders_are_refused(fields: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        _order(**fields)
