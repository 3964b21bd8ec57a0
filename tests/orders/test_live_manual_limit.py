"""A manual limit order on a live trader, end to end: POST /api/orders/create on a Hyperliquid
trader (the emulator, through the real SDK over HTTP) rests at the venue, is listed pending,
fills as a maker when the venue's price comes to it (learnt on the trader's sync), and its
twin is cancelled at the venue through /api/orders/cancel."""

from __future__ import annotations

from decimal import Decimal

from temporalio.client import Client

from domain.exchange_rules import hyperliquid_cloid
from tests.emulators.exchange_common import serving
from tests.orders.conftest import sync
from tests.support.hyperliquid_trader import connected_trader, hyperliquid_venue
from tests.support.stack import full_stack, make_settings

D = Decimal


async def test_a_resting_limit_order_at_the_venue_fills_and_its_twin_is_cancelled(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    venue = hyperliquid_venue()
    emu, wallet = venue.emulator, venue.wallet
    mid = emu.asset("BTC").mid
    below, further = (mid * D("0.98")).quantize(D(1)), (mid * D("0.96")).quantize(D(1))
    with serving(emu.app) as server:
        async with full_stack(None, make_settings(temporal_address, sqlite_url)) as st:
            tid = await connected_trader(st, venue, server.url, ["BTC"])
            assert (await st.post(f"/api/account/{tid}/start")).status_code == 200
            body = {"account_id": tid, "symbol": "BTC", "side": "buy", "order_type": "limit",
                    "quantity": "0.01", "leverage": "2"}  # fmt: skip
            first = (await st.post("/api/orders/create", {**body, "price": str(below)})).json()
            twin = (await st.post("/api/orders/create", {**body, "price": str(further)})).json()
            for placed in (first, twin):
                assert placed["order_status"] == "submitted", placed
            rested = emu.order_by_cloid(wallet.address, hyperliquid_cloid(first["id"]))
            assert rested is not None and rested.status == "open" and rested.tif == "Gtc"
            pending = {o["id"] for o in (await st.api.get("/api/orders/pending")).json()}
            assert pending == {first["id"], twin["id"]}

            emu.set_mid("BTC", below)  # the venue's price comes to the first one
            await sync(st, tid)
            (row,) = [
                o
                for o in (await st.api.get(f"/api/orders/account/{tid}")).json()["items"]
                if o["id"] == first["id"]
            ]
            assert row["status"] == "executed" and D(row["avg_price"]) == below, row
            (trade,) = (await st.api.get(f"/api/account/{tid}/trades")).json()["items"]
            assert trade["client_order_id"] == first["id"] and D(trade["price"]) == below
            assert D(trade["fee"]) == (D("0.01") * below * emu.maker_fee).quantize(D("0.000001"))

            r = await st.post(f"/api/orders/cancel/{twin['id']}")
            assert r.status_code == 200, r.text
            gone = emu.order_by_cloid(wallet.address, hyperliquid_cloid(twin["id"]))
            assert gone is not None and gone.status == "canceled"
            assert (await st.api.get("/api/orders/pending")).json() == []


async def test_a_filled_market_order_at_the_venue_is_traded_under_our_order_id(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    """Hyperliquid names our order in its own form (a cloid): the trade shows our id, as the
    order list does (it showed the cloid)."""
    venue = hyperliquid_venue()
    with serving(venue.emulator.app) as server:
        async with full_stack(None, make_settings(temporal_address, sqlite_url)) as st:
            tid = await connected_trader(st, venue, server.url, ["BTC"])
            assert (await st.post(f"/api/account/{tid}/start")).status_code == 200
            body = {"account_id": tid, "symbol": "BTC", "side": "buy", "order_type": "market",
                    "quantity": "0.01", "leverage": "2"}  # fmt: skip
            placed = (await st.post("/api/orders/create", body)).json()
            assert placed["order_status"] == "filled", placed
            (trade,) = (await st.api.get(f"/api/account/{tid}/trades")).json()["items"]
            assert trade["client_order_id"] == placed["id"]
