"""A manual order passes the same rules as a strategy's decision: the risk gate (a denial is a
422 with its code, and nothing is sent), ownership (another user's trader is a 404), and the
pause (only a reduce-only order executes while paused). A bad body is a 422 naming the field."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select

from db.models import OrderRecord
from tests.orders.conftest import order, trader
from tests.support.stack import Stack


async def _orders_recorded(st: Stack) -> int:
    async with st.deps.sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(OrderRecord)) or 0)


async def test_a_risk_denied_order_is_a_422_with_the_deny_code_and_nothing_is_sent(
    st: Stack,
) -> None:
    tid = await trader(st)  # the default maximum notional: 1000 USD
    r = await order(st, tid, size_usd="5000")
    assert r.status_code == 422 and r.json()["code"] == "NOTIONAL_EXCEEDS_MAX", r.text
    assert await _orders_recorded(st) == 0
    (decision,) = (await st.api.get(f"/api/account/{tid}/decisions")).json()["items"]
    assert decision["status"] == "denied" and decision["trigger_type"] == "manual"


async def test_an_order_for_another_users_trader_is_not_found(st: Stack) -> None:
    tid = await trader(st)
    async with st.user_client("other@example.com") as other:
        theirs = await other.post(
            "/api/orders/create",
            json={"account_id": tid, "symbol": "BTC", "side": "buy", "order_type": "market",
                  "quantity": "0.01"},
        )  # fmt: skip
        missing = await other.post(
            "/api/orders/create",
            json={"account_id": 999, "symbol": "BTC", "side": "buy", "order_type": "market",
                  "quantity": "0.01"},
        )  # fmt: skip
    assert theirs.status_code == 404 and missing.status_code == 404, theirs.text
    assert theirs.json()["code"] == missing.json()["code"]
    assert theirs.json()["error"].replace(str(tid), "999") == missing.json()["error"]
    assert await _orders_recorded(st) == 0
    assert (await order(st, tid, quantity="0.01")).status_code == 200  # the owner's: placed


async def test_a_paused_trader_refuses_an_opening_order(st: Stack) -> None:
    tid = await trader(st)
    await st.post(f"/api/account/{tid}/pause")
    r = await order(st, tid, quantity="0.01")
    assert r.status_code == 422 and r.json()["code"] == "TRADING_HALTED", r.text
    assert await _orders_recorded(st) == 0


async def test_a_paused_trader_accepts_a_reduce_only_order(st: Stack) -> None:
    tid = await trader(st)
    assert (await order(st, tid, quantity="0.02")).json()["status"] == "executed"
    await st.post(f"/api/account/{tid}/pause")
    r = await order(st, tid, side="sell", quantity="0.01", reduce_only=True)
    assert r.status_code == 200 and r.json()["status"] == "executed", r.text
    (position,) = (await st.api.get(f"/api/account/{tid}/positions")).json()["positions"]
    assert Decimal(position["size"]) == Decimal("0.01")


async def test_a_reduce_only_order_on_the_wrong_side_is_denied(st: Stack) -> None:
    tid = await trader(st)
    await order(st, tid, quantity="0.01")
    r = await order(st, tid, side="buy", quantity="0.01", reduce_only=True)
    assert r.status_code == 422 and r.json()["code"] == "NO_POSITION_TO_CLOSE", r.text


async def test_bad_bodies_are_a_422_naming_the_field(st: Stack) -> None:
    tid = await trader(st)
    cases = {
        "price": {"order_type": "limit", "quantity": "0.01"},  # limit without price
        "quantity": {"quantity": "0.01", "size_usd": "100"},  # both sizes
        "time_in_force": {"quantity": "0.01", "time_in_force": "ioc"},  # on a market order
        "side": {"side": "hold", "quantity": "0.01"},
        "reduce_only": {"quantity": "0.01", "reduce_only": "yes"},
    }
    for field, fields in cases.items():
        r = await order(st, tid, **fields)
        assert r.status_code == 422, (field, r.text)
        assert r.json()["code"] == "VALIDATION_ERROR" and field in r.json()["error"], r.text
    r = await order(st, tid, quantity="0.01", price="50000")  # a market order with a price
    assert r.status_code == 422 and "price" in r.json()["error"], r.text
    assert await _orders_recorded(st) == 0


async def test_another_user_sees_none_of_the_orders(st: Stack) -> None:
    tid = await trader(st)
    await order(st, tid, order_type="limit", price="1000", quantity="0.01")
    async with st.user_client("other@example.com") as other:
        assert (await other.get("/api/orders/pending")).json() == []
        r = await other.get(f"/api/orders/account/{tid}")
    assert r.status_code == 404 and r.json()["code"] == "ACCOUNT_NOT_FOUND", r.text
    assert len((await st.api.get("/api/orders/pending")).json()) == 1
