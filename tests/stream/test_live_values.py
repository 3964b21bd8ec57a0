"""A live trader's live stream says what its REST endpoints say, over the Hyperliquid emulator
and the whole stack: the entry's fill and the position it opens (the endpoint asks the venue;
the event replays the recorded fills: db/fills.py), the take-profit leg cancelled through the
API, the close and its fill, and each decision."""

from __future__ import annotations

from temporalio.client import Client

from domain.events import EventType
from tests import programs
from tests.emulators.exchange_common import serving
from tests.stream.rest_compare import (
    check_cancel,
    check_decision,
    check_fill,
    check_position,
    of,
    pages,
    recorded,
)
from tests.support.hyperliquid_trader import connected_trader, hyperliquid_venue
from tests.support.stack import full_stack, make_settings


async def test_a_hyperliquid_traders_events_equal_its_rest_answers(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    venue = hyperliquid_venue()
    with serving(venue.emulator.app) as server:
        async with full_stack(None, make_settings(temporal_address, sqlite_url)) as st:
            tid = await connected_trader(st, venue, server.url, ["BTC"])
            b = await st.bind(tid, (await st.create_program(programs.ALWAYS_LONG, "long"))["id"])
            assert (await st.post(f"/api/account/{tid}/start")).status_code == 200
            opened = (await st.post(f"/api/account/{tid}/trigger")).json()
            assert opened["status"] == "executed", opened
            (held,) = (await st.api.get(f"/api/account/{tid}/positions")).json()["positions"]
            coid = opened["orders"][0]["client_order_id"]
            r = await st.post(
                f"/api/account/{tid}/orders/{coid}:tp/cancel", params={"symbol": "BTC"}
            )
            assert r.json()["cancelled"] is True, r.text
            await st.api.delete(f"/api/account/{tid}/bindings/{b['id']}")
            await st.bind(tid, (await st.create_program(programs.CLOSE_BTC, "close"))["id"])
            closed = (await st.post(f"/api/account/{tid}/trigger")).json()
            assert closed["status"] == "executed", closed

            found = recorded(sqlite_url, tid)
            trades = {t["trade_id"]: t for t in await pages(st.api, f"/api/account/{tid}/trades")}
            fills = [e for e in of(found, EventType.TRADE) if e["kind"] == "fill"]
            assert sorted(f["trade_id"] for f in fills) == sorted(trades) and len(fills) == 2
            for fill in fills:
                check_fill(fill, trades[fill["trade_id"]])

            orders = {
                o["client_order_id"]: o for o in await pages(st.api, f"/api/account/{tid}/orders")
            }
            cancels = [e for e in of(found, EventType.TRADE) if e["kind"] == "cancel"]
            assert f"{coid}:tp" in [c["client_order_id"] for c in cancels]
            for cancel in cancels:
                check_cancel(cancel, orders[cancel["client_order_id"]])

            moves = of(found, EventType.POSITION)
            assert [m["kind"] for m in moves] == ["opened", "closed"]
            check_position(moves[0], held, valued=False)  # no venue mark in the event
            assert (moves[1]["side"], moves[1]["size"]) == ("long", "0")
            assert (await st.api.get(f"/api/account/{tid}/positions")).json()["total_count"] == 0

            decisions = {d["id"]: d for d in await pages(st.api, f"/api/account/{tid}/decisions")}
            chats = of(found, EventType.MODEL_CHAT)
            assert sorted(c["decision_id"] for c in chats) == sorted(decisions)
            for chat in chats:
                check_decision(chat, decisions[chat["decision_id"]])
