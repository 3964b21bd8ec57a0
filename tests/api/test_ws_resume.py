"""Nothing missed: a client that reconnects with its last event id gets every event it missed
(of its channels and traders), in order, once, then live ones, even when it missed more than its
queue holds; when that id is older than the events kept (or unknown to this database) it gets a
fresh `snapshot` of each trader instead, saying why. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session

from db import events
from db.transactions import write
from tests.support import live
from tests.support.stack import Stack, full_stack, make_settings

QUEUE = 8  # the smallest queue: a replay of more has to wait for the client to read


@pytest.fixture
async def st(temporal_address: str, database_url: str) -> AsyncIterator[tuple[Stack, str]]:
    settings = make_settings(temporal_address, database_url, ws_queue_size=QUEUE)
    async with full_stack(None, settings, worker=False) as st, live.serving(st.app) as url:
        yield st, url


def _subscribe(last: int | None, channels: tuple[str, ...] = ("trades", "model_chat")) -> str:
    data: dict[str, Any] = {"channels": list(channels)}
    if last is not None:
        data["last_event_id"] = last
    return json.dumps({"type": "subscribe", "data": data})


async def _received(ws: Any, n: int) -> list[dict[str, Any]]:
    return [await live.recv(ws) for _ in range(n)]


async def test_a_reconnecting_client_gets_what_it_missed_in_order_then_live(
    st: tuple[Stack, str],
) -> None:
    stack, url = st
    a = (await stack.create_trader(name="alpha"))["id"]
    token = live.token_of(stack)
    async with live.open_ws(url, token) as ws:
        await ws.send(_subscribe(None))
        await live.settle(ws)
        await live.record(stack, live.fill(a, 1), live.chat(a, 1))
        seen = await _received(ws, 2)
    last = seen[-1]["event_id"]
    # While away: 3 fills and chats (wanted), positions and equity (not subscribed), a status.
    await live.record(stack, live.fill(a, 2), live.position(a), live.chat(a, 2))
    await live.record(stack, live.equity(a), live.status(a), live.fill(a, 3))
    async with live.open_ws(url, token) as ws:
        await ws.send(_subscribe(last))
        missed = await live.settle(ws)
        assert [m["type"] for m in missed] == [
            "trade_update", "model_chat_update", "status_update", "trade_update",
        ]  # fmt: skip
        ids = [m["event_id"] for m in missed]
        assert ids == sorted(ids) and ids[0] > last
        await live.record(stack, live.chat(a, 3))
        after = await live.recv(ws)
        assert after["type"] == "model_chat_update" and after["event_id"] > ids[-1]
        assert await live.settle(ws) == []  # nothing twice


async def test_missing_more_than_the_queue_holds_still_arrives_whole_and_in_order(
    st: tuple[Stack, str],
) -> None:
    stack, url = st
    a = (await stack.create_trader(name="alpha"))["id"]
    token = live.token_of(stack)
    async with live.open_ws(url, token) as ws:
        await ws.send(_subscribe(None, ("model_chat",)))
        await live.settle(ws)
        await live.record(stack, live.chat(a, 0))
        last = (await live.recv(ws))["event_id"]
    await live.record(stack, *(live.chat(a, n) for n in range(1, 61)))
    async with live.open_ws(url, token) as ws:
        await ws.send(_subscribe(last, ("model_chat",)))
        # More while the replay is under way: they come after it, each once.
        await live.record(stack, *(live.chat(a, n) for n in range(61, 71)))
        got = await _received(ws, 70)
        assert [m["data"]["seq"] for m in got] == list(range(1, 71))
        ids = [m["event_id"] for m in got]
        assert ids == sorted(set(ids))
        assert await live.settle(ws) == []


async def _trim_all_but_new(stack: Stack) -> None:
    cut = live.now() - timedelta(days=7)

    def fn(s: Session) -> None:
        events.trim(s, cut)

    await write(stack.app.state.sessions, fn)


async def test_an_id_older_than_the_events_kept_gets_a_fresh_snapshot(
    st: tuple[Stack, str],
) -> None:
    stack, url = st
    a = (await stack.create_trader(name="alpha"))["id"]
    b = (await stack.create_trader(name="beta"))["id"]
    old = live.now() - timedelta(days=8)
    await live.record(stack, *(live.chat(a, n).model_copy(update={"time": old}) for n in (1, 2)))
    async with live.open_ws(url, live.token_of(stack)) as ws:
        await ws.send(_subscribe(None))
        await live.settle(ws)
        await live.record(stack, live.chat(a, 3).model_copy(update={"time": old}))
        last = (await live.recv(ws))["event_id"]
    await live.record(stack, live.chat(a, 4), live.chat(b, 5))
    await _trim_all_but_new(stack)  # the three old ones are gone, so is the client's last
    async with live.open_ws(url, live.token_of(stack)) as ws:
        await ws.send(_subscribe(last - 1))
        snaps = await live.settle(ws)
        assert [(m["type"], m["data"]["account_id"]) for m in snaps] == [
            ("snapshot", a),
            ("snapshot", b),
        ]
        for snap in snaps:
            assert snap["data"]["reason"] == "too_old"
            base = f"/api/account/{snap['data']['account_id']}"
            assert snap["data"]["overview"] == (await stack.api.get(f"{base}/overview")).json()
            assert snap["data"]["positions"] == (await stack.api.get(f"{base}/positions")).json()
        await live.record(stack, live.chat(b, 6))
        assert (await live.recv(ws))["data"]["seq"] == 6  # live from here
    # The last id kept is still within: no snapshot, just what followed it.
    async with live.open_ws(url, live.token_of(stack)) as ws:
        newest = snaps[0]["data"]["last_event_id"]
        await ws.send(_subscribe(newest))
        assert [m["data"]["seq"] for m in await live.settle(ws)] == [6]


async def test_an_id_this_database_never_had_gets_a_snapshot(st: tuple[Stack, str]) -> None:
    stack, url = st
    a = (await stack.create_trader(name="alpha"))["id"]
    async with live.open_ws(url, live.token_of(stack)) as ws:
        await ws.send(_subscribe(10**12))
        snaps = await live.settle(ws)
        assert [(m["type"], m["data"]["account_id"]) for m in snaps] == [("snapshot", a)]
        assert snaps[0]["data"]["reason"] == "unknown_event_id"


async def test_a_burst_larger_than_a_read_and_the_queue_arrives_whole_in_order(
    st: tuple[Stack, str],
) -> None:
    """More events at once than the broadcaster reads in one query (500) and than the client's
    queue holds: read on at once, the client caught up from the database, none lost."""
    stack, url = st
    a = (await stack.create_trader(name="alpha"))["id"]
    async with live.open_ws(url, live.token_of(stack)) as ws:
        await ws.send(_subscribe(None, ("model_chat",)))
        await live.settle(ws)
        await live.record(stack, *(live.chat(a, n) for n in range(1200)))
        got = await _received(ws, 1200)
        assert [m["data"]["seq"] for m in got] == list(range(1200))
        assert await live.settle(ws) == []
