"""IOC and post-only limit orders on the paper exchange: an IOC fills at once if it crosses,
else it is cancelled (nothing rests); a post-only order that would cross is refused
POST_ONLY_WOULD_CROSS, one that would not rests like a GTC order."""

from __future__ import annotations

from tests.orders.conftest import order, trader
from tests.support.stack import Stack


async def test_an_ioc_that_crosses_fills_at_once(st: Stack) -> None:
    tid = await trader(st)
    r = await order(st, tid, order_type="limit", price="50100", quantity="0.01",
                    time_in_force="ioc")  # fmt: skip
    assert r.status_code == 200 and r.json()["status"] == "executed", r.text


async def test_an_ioc_that_does_not_cross_is_cancelled_and_nothing_rests(st: Stack) -> None:
    tid = await trader(st)
    r = await order(st, tid, order_type="limit", price="49000", quantity="0.01",
                    time_in_force="ioc")  # fmt: skip
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "cancelled" and r.json()["decision_status"] == "executed"
    assert (await st.api.get("/api/orders/pending")).json() == []


async def test_a_post_only_order_that_would_cross_is_rejected(st: Stack) -> None:
    tid = await trader(st)
    r = await order(st, tid, order_type="limit", price="50100", quantity="0.01",
                    time_in_force="post_only")  # fmt: skip
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["status"] == "rejected" and out["reject_reason"].startswith(
        "POST_ONLY_WOULD_CROSS"
    ), out
    assert (await st.api.get(f"/api/account/{tid}/positions")).json()["positions"] == []


async def test_a_refused_order_of_the_owner_leaves_the_trader_active(st: Stack) -> None:
    """The owner was answered; the trader did nothing wrong, so its status is not Error."""
    tid = await trader(st)
    r = await order(st, tid, order_type="limit", price="50100", quantity="0.01",
                    time_in_force="post_only")  # fmt: skip
    assert r.json()["status"] == "rejected", r.text
    acct = (await st.api.get(f"/api/account/{tid}")).json()
    assert (acct["status"], acct["status_reason"]) == ("Active", None), acct


async def test_a_post_only_order_that_does_not_cross_rests(st: Stack) -> None:
    tid = await trader(st)
    r = await order(st, tid, order_type="limit", price="49000", quantity="0.01",
                    time_in_force="post_only")  # fmt: skip
    assert r.status_code == 200 and r.json()["order_status"] == "submitted", r.text
