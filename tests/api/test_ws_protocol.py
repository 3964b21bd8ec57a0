"""The live stream's contract (README "Live stream"): every client message type gets its answer
with its request_id echoed, and every server message type has the documented shape. Answers
that carry state equal what the REST endpoints answer; pushed events carry their id and the
data the worker recorded, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from api.ws.protocol import SERVER_TYPES, ClientType
from domain.events import EventType
from tests.support import live
from tests.support.stack import Stack, full_stack, make_settings


@pytest.fixture
async def st(temporal_address: str, database_url: str) -> AsyncIterator[tuple[Stack, str]]:
    settings = make_settings(temporal_address, database_url)
    async with full_stack(None, settings, worker=False) as st, live.serving(st.app) as url:
        yield st, url


def _envelope(msg: dict[str, Any], kind: str, rid: str | None) -> dict[str, Any]:
    assert msg["type"] == kind, msg
    assert msg.get("request_id") == rid, msg
    assert set(msg) <= {"type", "request_id", "data", "event_id"}, msg
    return msg["data"]  # type: ignore[no-any-return]


async def test_ping_answers_pong_with_the_request_id(st: tuple[Stack, str]) -> None:
    stack, url = st
    async with live.open_ws(url, live.token_of(stack)) as ws:
        await ws.send('{"type": "ping", "request_id": 7}')
        msg = await live.recv(ws)
        assert msg["type"] == "pong" and msg["request_id"] == 7 and "time" in msg["data"]
        await ws.send('{"type": "ping"}')  # no request_id: none echoed, data optional
        msg = await live.recv(ws)
        assert msg["type"] == "pong" and "request_id" not in msg


async def test_bootstrap_equals_the_rest_answers(st: tuple[Stack, str]) -> None:
    stack, url = st
    a = await stack.create_trader(name="alpha", symbols=["BTC", "ETH"])
    b = await stack.create_trader(name="beta")
    await stack.create_trader(name="hidden", show_on_dashboard=False)
    async with live.open_ws(url, live.token_of(stack)) as ws:
        msg = await live.ask(ws, "bootstrap")
    data = _envelope(msg, "bootstrap", msg["request_id"])
    assert data["traders"] == (await stack.api.get("/api/account/list")).json()
    assert [t["id"] for t in data["traders"]] == [a["id"], b["id"]]
    for trader, positions, orders in zip(
        data["traders"], data["positions"], data["active_orders"], strict=True
    ):
        base = f"/api/account/{trader['id']}"
        assert positions == (await stack.api.get(f"{base}/positions")).json()
        assert orders == (await stack.api.get(f"{base}/open-orders")).json()
    assert data["recent_decisions"] == [] and data["errors"] == []
    assert isinstance(data["last_event_id"], int)


async def test_get_snapshot_equals_rest_overview_and_positions(st: tuple[Stack, str]) -> None:
    stack, url = st
    a = await stack.create_trader(name="alpha")
    async with live.open_ws(url, live.token_of(stack)) as ws:
        msg = await live.ask(ws, "get_snapshot", {"account_id": a["id"]})
    data = _envelope(msg, "snapshot", msg["request_id"])
    base = f"/api/account/{a['id']}"
    assert data["account_id"] == a["id"]
    assert data["overview"] == (await stack.api.get(f"{base}/overview")).json()
    assert data["positions"] == (await stack.api.get(f"{base}/positions")).json()
    assert data["overview"]["equity"] == "10000" and data["positions"]["positions"] == []


def _without_now(curve: dict) -> dict:
    """A curve without the times that say when it was asked (its end, its last point's time)."""
    points = [dict(p) for p in curve["points"]]
    if points and curve["current"]:
        points[-1].pop("time")
    return {**{k: v for k, v in curve.items() if k not in ("end", "start")}, "points": points}


async def test_get_asset_curve_answers_what_rest_answers(st: tuple[Stack, str]) -> None:
    """The socket's curve is the REST route's curve (one trader, and every trader), and is
    validated like it."""
    stack, url = st
    a = await stack.create_trader(name="alpha")
    await stack.create_trader(name="beta")
    async with live.open_ws(url, live.token_of(stack)) as ws:
        msg = await live.ask(ws, "get_asset_curve", {"account_id": a["id"], "timeframe": "1h"})
        one = _envelope(msg, "asset_curve", msg["request_id"])
        rest = (await stack.api.get(f"/api/account/{a['id']}/asset-curve?timeframe=1h")).json()
        assert one["current"] is True and one["points"][-1]["equity"] == "10000", one
        assert _without_now(one) == _without_now(rest)
        for everyone in (None, "all"):
            msg = await live.ask(ws, "get_asset_curve", {"account_id": everyone, "timeframe": "5m"})
            got = _envelope(msg, "asset_curve", msg["request_id"])
            rest = (await stack.api.get("/api/account/asset-curve?timeframe=5m")).json()
            assert [t["name"] for t in got["traders"]] == ["alpha", "beta"], got
            assert [_without_now(t) for t in got["traders"]] == [
                _without_now(t) for t in rest["traders"]
            ]
        for data, field in (
            ({"account_id": a["id"], "timeframe": "7d"}, "data.timeframe"),
            ({"account_id": a["id"]}, "data.timeframe"),
            ({"timeframe": "1h", "start": "2026-12-02T00:00:00Z", "end": "2026-12-01T00:00:00Z"},
             "start must be before end"),
            ({"timeframe": "1h", "start": "yesterday"}, "data.start"),
        ):  # fmt: skip
            msg = await live.ask(ws, "get_asset_curve", data)
            err = _envelope(msg, "error", msg["request_id"])
            assert err["code"] == "VALIDATION_ERROR" and field in err["message"], err


async def test_every_event_type_is_pushed_with_its_id_and_recorded_data(
    st: tuple[Stack, str],
) -> None:
    stack, url = st
    a = await stack.create_trader(name="alpha")
    recorded = [
        live.fill(a["id"]),
        live.position(a["id"]),
        live.chat(a["id"], reasoning='<script>alert("x")</script> {"op": "long"}'),
        live.equity(a["id"]),
        live.status(a["id"]),
    ]
    async with live.open_ws(url, live.token_of(stack)) as ws:
        channels = ["trades", "positions", "model_chat", "asset_curve"]
        await ws.send(json.dumps({"type": "subscribe", "data": {"channels": channels}}))
        assert await live.settle(ws) == []  # no answer to a subscribe: it is in effect
        await live.record(stack, *recorded)
        got = [await live.recv(ws) for _ in recorded]
    assert [m["type"] for m in got] == [
        EventType.TRADE,
        EventType.POSITION,
        EventType.MODEL_CHAT,
        EventType.ASSET_CURVE,
        EventType.STATUS,
    ]
    ids = [m["event_id"] for m in got]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    for msg, event in zip(got, recorded, strict=True):
        assert set(msg) == {"type", "event_id", "data"}
        assert msg["data"] == event.model_dump(mode="json")
    assert got[0]["data"]["price"] == "97000.5" and got[0]["data"]["fee"] == "0.0654753375"
    assert got[2]["data"]["reasoning"] == '<script>alert("x")</script> {"op": "long"}'


async def test_unsubscribe_stops_a_channel_but_status_goes_to_every_watcher(
    st: tuple[Stack, str],
) -> None:
    stack, url = st
    a = await stack.create_trader(name="alpha")
    async with live.open_ws(url, live.token_of(stack)) as ws:
        await ws.send('{"type": "subscribe", "data": {"channels": ["trades", "positions"]}}')
        await ws.send('{"type": "subscribe", "data": {"channels": ["model_chat"]}}')  # adds
        await ws.send('{"type": "unsubscribe", "data": {"channels": ["trades"]}}')
        await live.settle(ws)
        await live.record(stack, live.fill(a["id"]), live.chat(a["id"]), live.position(a["id"]))
        await live.record(stack, live.equity(a["id"]), live.status(a["id"]))
        got = [await live.recv(ws) for _ in range(3)]
        assert [m["type"] for m in got] == ["model_chat_update", "position_update", "status_update"]
        await ws.send('{"type": "unsubscribe", "data": {"channels": ["model_chat", "positions"]}}')
        await live.settle(ws)
        await live.record(stack, live.chat(a["id"], 2), live.status(a["id"]))
        assert (await live.recv(ws))["type"] == "status_update"  # no channel needed


async def test_switch_account_watches_one_trader_or_all(st: tuple[Stack, str]) -> None:
    stack, url = st
    a = await stack.create_trader(name="alpha")
    b = await stack.create_trader(name="beta")
    async with live.open_ws(url, live.token_of(stack)) as ws:
        await ws.send('{"type": "subscribe", "data": {"channels": ["model_chat"]}}')
        await ws.send(f'{{"type": "switch_account", "data": {{"account_id": {b["id"]}}}}}')
        assert await live.settle(ws) == []
        await live.record(stack, live.chat(a["id"]), live.chat(b["id"]))
        only = await live.recv(ws)
        assert only["data"]["account_id"] == b["id"]
        for everyone in (None, "all"):
            msg = {"type": "switch_account", "data": {"account_id": everyone}}
            await ws.send(json.dumps(msg))
            assert await live.settle(ws) == []
            await live.record(stack, live.chat(a["id"], 3), live.chat(b["id"], 3))
            both = [await live.recv(ws), await live.recv(ws)]
            assert [m["data"]["account_id"] for m in both] == [a["id"], b["id"]]


def test_the_documented_types_are_the_protocol_s() -> None:
    """README and the API docs list exactly these (tests/api/test_ws_docs.py)."""
    assert {t.value for t in ClientType} == {
        "bootstrap", "subscribe", "unsubscribe", "switch_account", "get_snapshot",
        "get_asset_curve", "ping",
    }  # fmt: skip
    assert set(SERVER_TYPES) == {
        "bootstrap", "snapshot", "asset_curve", "trade_update", "position_update",
        "model_chat_update", "asset_curve_update", "status_update", "pong", "error",
    }  # fmt: skip
