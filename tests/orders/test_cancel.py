"""POST /api/orders/cancel/{id} takes a resting paper limit order off the book through the
trader's workflow (`cancel_order`): its margin is released and the cancel is on the live
stream. A filled order, or one that is not the caller's, cannot be cancelled."""

from __future__ import annotations

from decimal import Decimal

from domain.events import EventType
from tests.orders.conftest import account, order, recorded_events, trader
from tests.support.stack import Stack

D = Decimal


async def test_cancelling_a_resting_order_releases_its_margin(st: Stack) -> None:
    tid = await trader(st)
    before = D((await account(st, tid))["available"])
    r = await order(st, tid, order_type="limit", price="49000", quantity="0.01")
    oid = r.json()["id"]
    r = await st.post(f"/api/orders/cancel/{oid}")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "ok" and r.json()["order"]["status"] == "cancelled"
    assert D((await account(st, tid))["available"]) == before
    assert (await st.api.get("/api/orders/pending")).json() == []
    cancels = [
        e for e in await recorded_events(st, tid)
        if e.type is EventType.TRADE and e.data.get("kind") == "cancel"
    ]  # fmt: skip
    assert [e.data["client_order_id"] for e in cancels] == [oid], cancels


async def test_a_filled_order_cannot_be_cancelled(st: Stack) -> None:
    tid = await trader(st)
    oid = (await order(st, tid, quantity="0.01")).json()["id"]
    r = await st.post(f"/api/orders/cancel/{oid}")
    assert r.status_code == 409 and r.json()["code"] == "ORDER_FILLED", r.text


async def test_a_cancelled_order_cannot_be_cancelled_again(st: Stack) -> None:
    tid = await trader(st)
    oid = (await order(st, tid, order_type="limit", price="1000", quantity="0.01")).json()["id"]
    assert (await st.post(f"/api/orders/cancel/{oid}")).status_code == 200
    r = await st.post(f"/api/orders/cancel/{oid}")
    assert r.status_code == 409 and r.json()["code"] == "ORDER_CANCELLED", r.text


async def test_an_unknown_or_another_users_order_is_not_found(st: Stack) -> None:
    tid = await trader(st)
    oid = (await order(st, tid, order_type="limit", price="1000", quantity="0.01")).json()["id"]
    assert (await st.post("/api/orders/cancel/ho-999-1-entry")).status_code == 404
    async with st.user_client("other@example.com") as other:
        r = await other.post(f"/api/orders/cancel/{oid}")
    assert r.status_code == 404 and r.json()["code"] == "ORDER_NOT_FOUND", r.text
