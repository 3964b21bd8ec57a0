"""A limit order on the paper exchange rests (its margin reserved, listed in /pending) until the
mark reaches it; the trader's account sync then fills it at its limit price with the maker fee,
recorded like any fill: the trade, the position, the round trip once closed, the events."""

from __future__ import annotations

from decimal import Decimal

from domain.events import EventType
from tests.orders.conftest import Marks, account, order, recorded_events, sync, trader
from tests.support.stack import Stack

D = Decimal


async def _resting_buy(st: Stack, tid: int) -> dict:
    r = await order(st, tid, order_type="limit", price="49000", quantity="0.01", name="dip")
    assert r.status_code == 200, r.text
    return dict(r.json())


async def test_a_limit_order_that_does_not_cross_rests_and_reserves_its_margin(
    st: Stack,
) -> None:
    tid = await trader(st)
    before = D((await account(st, tid))["available"])
    out = await _resting_buy(st, tid)
    assert out["status"] == "pending" and out["order_status"] == "submitted", out
    assert (D(out["price"]), out["time_in_force"]) == (D(49000), "gtc")
    assert out["decision_status"] == "executed"  # a resting order is a successful placement
    # margin 0.01 * 49000 / 1 = 490, and the maker fee 0.0735, held back
    assert D((await account(st, tid))["available"]) == before - D("490.0735")
    (pending,) = (await st.api.get("/api/orders/pending")).json()
    assert pending["id"] == out["id"] and pending["name"] == "dip"
    (resting,) = (await st.api.get(f"/api/account/{tid}/open-orders")).json()["orders"]
    assert resting["client_order_id"] == out["id"] and resting["order_type"] == "limit"
    assert (await st.api.get(f"/api/account/{tid}/positions")).json()["positions"] == []


async def test_a_resting_order_fills_at_its_limit_with_the_maker_fee_when_the_mark_crosses(
    st: Stack, marks: Marks
) -> None:
    tid = await trader(st)
    out = await _resting_buy(st, tid)
    assert (await sync(st, tid)).resting_orders == 1  # not reached: still resting
    marks.now["BTC"] = D(48950)
    synced = await sync(st, tid)
    assert (synced.open_positions, synced.resting_orders) == (1, 0)
    (row,) = (await st.api.get(f"/api/orders/account/{tid}")).json()["items"]
    assert row["id"] == out["id"] and row["status"] == "executed", row
    assert (D(row["avg_price"]), D(row["fee"])) == (D(49000), D("0.0735"))  # 1.5 bps
    (trade,) = (await st.api.get(f"/api/account/{tid}/trades")).json()["items"]
    assert D(trade["price"]) == D(49000) and trade["client_order_id"] == out["id"]
    (position,) = (await st.api.get(f"/api/account/{tid}/positions")).json()["positions"]
    assert (D(position["size"]), D(position["entry_price"])) == (D("0.01"), D(49000))
    assert (await st.api.get("/api/orders/pending")).json() == []
    reports = [(e.type, e.data.get("kind")) for e in await recorded_events(st, tid)]
    assert (EventType.TRADE, "fill") in reports and (EventType.POSITION, "opened") in reports


async def test_a_position_opened_by_a_limit_order_closes_into_a_round_trip(
    st: Stack, marks: Marks
) -> None:
    tid = await trader(st)
    await _resting_buy(st, tid)
    marks.now["BTC"] = D(49000)
    await sync(st, tid)
    marks.now["BTC"] = D(50000)
    r = await order(st, tid, side="sell", quantity="0.01", reduce_only=True)
    assert r.status_code == 200 and r.json()["status"] == "executed", r.text
    (trip,) = (await st.api.get(f"/api/account/{tid}/round-trips")).json()["items"]
    assert D(trip["entry_price"]) == D(49000) and trip["side"] == "long", trip


async def test_a_resting_order_is_filled_before_the_traders_next_order(
    st: Stack, marks: Marks
) -> None:
    tid = await trader(st)
    await _resting_buy(st, tid)
    marks.now["BTC"] = D(48000)
    r = await order(st, tid, symbol="ETH", quantity="0.01")  # another order, another symbol
    assert r.status_code == 200, r.text
    r = await order(st, tid, quantity="0.001")  # a BTC order: the resting one fills first
    assert r.status_code == 200, r.text
    trades = (await st.api.get(f"/api/account/{tid}/trades")).json()["items"]
    btc = sorted(D(t["price"]) for t in trades if t["symbol"] == "BTC")
    assert D(49000) in btc, trades
