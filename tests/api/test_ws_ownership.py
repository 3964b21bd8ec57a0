"""A socket sees only its user's traders: another user's trader asked for by `switch_account`,
`get_snapshot` or `get_asset_curve` is answered exactly like a trader that does not exist, and
that user's events are never pushed to it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.support import live
from tests.support.stack import Stack, full_stack, make_settings

MISSING = 987654


@pytest.fixture
async def st(temporal_address: str, sqlite_url: str) -> AsyncIterator[tuple[Stack, str]]:
    settings = make_settings(temporal_address, sqlite_url)
    async with full_stack(None, settings, worker=False) as st, live.serving(st.app) as url:
        yield st, url


def _shape(msg: dict[str, Any], ident: int) -> tuple[str, str, str]:
    data = msg["data"]
    return msg["type"], data["code"], data["message"].replace(str(ident), "<id>")


async def test_another_user_s_trader_is_answered_like_a_missing_one(
    st: tuple[Stack, str],
) -> None:
    stack, url = st
    mine = await stack.create_trader(name="mine")
    async with stack.user_client("other@example.com") as other:
        r = await other.post("/api/account/", json={"name": "theirs", "account_type": "program"})
        theirs = r.json()["id"]
    asks = [
        ("switch_account", {}),
        ("get_snapshot", {}),
        ("get_asset_curve", {"timeframe": "1h"}),
    ]
    async with live.open_ws(url, live.token_of(stack)) as ws:
        for kind, extra in asks:
            foreign = await live.ask(ws, kind, {"account_id": theirs, **extra})
            missing = await live.ask(ws, kind, {"account_id": MISSING, **extra})
            assert _shape(foreign, theirs) == _shape(missing, MISSING), kind
            assert _shape(foreign, theirs) == (
                "error",
                "ACCOUNT_NOT_FOUND",
                "Account <id> not found",
            )
        boot = await live.ask(ws, "bootstrap")
        assert [t["id"] for t in boot["data"]["traders"]] == [mine["id"]]


async def test_another_user_s_events_are_never_pushed(st: tuple[Stack, str]) -> None:
    stack, url = st
    mine = await stack.create_trader(name="mine")
    async with stack.user_client("other@example.com") as other:
        r = await other.post("/api/account/", json={"name": "theirs", "account_type": "program"})
        theirs = r.json()["id"]
        token = other.headers["Authorization"].split()[1]
        async with live.open_ws(url, live.token_of(stack)) as ws, live.open_ws(url, token) as ws2:
            for sock in (ws, ws2):
                await sock.send('{"type": "subscribe", "data": {"channels": ["model_chat"]}}')
                await live.settle(sock)
            await live.record(stack, live.chat(theirs), live.status(theirs), live.chat(mine["id"]))
            got = await live.recv(ws)
            assert got["data"]["account_id"] == mine["id"]
            assert await live.settle(ws) == []
            theirs_got = [await live.recv(ws2), await live.recv(ws2)]
            assert {m["data"]["account_id"] for m in theirs_got} == {theirs}
            # Resuming from before them does not reach them either.
            first = got["event_id"] - 2
            resume = {"channels": ["model_chat"], "last_event_id": first - 1}
            await ws.send(json.dumps({"type": "subscribe", "data": resume}))
            replay = await live.settle(ws)
            assert [m["data"]["account_id"] for m in replay] == [mine["id"]]
