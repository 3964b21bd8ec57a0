"""A manual market order goes through the trader's workflow: it fills on the paper exchange and
is in the decision log as a `manual` decision, with the intent recorded before it was sent."""

from __future__ import annotations

from decimal import Decimal

from tests.orders.conftest import order, trader
from tests.support.stack import Stack


async def test_a_market_order_fills_and_is_a_manual_decision_with_its_intent(st: Stack) -> None:
    tid = await trader(st)
    r = await order(st, tid, quantity="0.01", name="my first order")
    assert r.status_code == 200, r.text
    out = r.json()
    assert {k: out[k] for k in ("account_id", "symbol", "side", "order_type", "status")} == {
        "account_id": tid, "symbol": "BTC", "side": "buy", "order_type": "market",
        "status": "executed",
    }  # fmt: skip
    assert Decimal(out["quantity"]) == Decimal("0.01") and out["id"] == out["client_order_id"]
    assert out["order_status"] == "filled" and Decimal(out["avg_price"]) > 0
    assert out["name"] == "my first order"
    (decision,) = (await st.api.get(f"/api/account/{tid}/decisions")).json()["items"]
    assert decision["id"] == out["decision_id"] and decision["trigger_type"] == "manual"
    assert decision["status"] == "executed", decision
    assert decision["trigger_context"]["order"]["quantity"] == "0.01"
    (recorded,) = decision["orders"]
    assert recorded["client_order_id"] == out["client_order_id"]
    assert recorded["status"] == "filled"
    (position,) = (await st.api.get(f"/api/account/{tid}/positions")).json()["positions"]
    assert position["side"] == "long" and Decimal(position["size"]) == Decimal("0.01")


async def test_a_market_order_sized_in_usd_fills_for_that_notional(st: Stack) -> None:
    tid = await trader(st)
    r = await order(st, tid, side="sell", size_usd="500")
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["status"] == "executed" and Decimal(out["size_usd"]) == 500
    (position,) = (await st.api.get(f"/api/account/{tid}/positions")).json()["positions"]
    assert position["side"] == "short"
