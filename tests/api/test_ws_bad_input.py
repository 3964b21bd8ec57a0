"""Bad client messages on the live stream: malformed JSON, unknown types and bad fields get an
`error` message (its code, the field named) and the socket stays up; a message over the limit
closes it cleanly with 1009 and a reason."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from websockets.exceptions import ConnectionClosed

from tests.support import live
from tests.support.stack import Stack, full_stack, make_settings

LIMIT = 4096


@pytest.fixture
async def st(temporal_address: str, sqlite_url: str) -> AsyncIterator[tuple[Stack, str]]:
    settings = make_settings(temporal_address, sqlite_url, ws_max_message_bytes=LIMIT)
    async with full_stack(None, settings, worker=False) as st, live.serving(st.app) as url:
        yield st, url


BAD = [
    # (what is sent, error code, words the message contains, request_id echoed)
    ("not json", "INVALID_JSON", "not valid JSON", None),
    ("[1, 2]", "INVALID_JSON", "JSON object", None),
    ('"ping"', "INVALID_JSON", "JSON object", None),
    ('{"request_id": "a"}', "VALIDATION_ERROR", "type: Field required", "a"),
    ('{"type": 5, "request_id": "b"}', "VALIDATION_ERROR", "type", "b"),
    ('{"type": "place_order", "request_id": "c"}', "UNKNOWN_TYPE", "place_order", "c"),
    ('{"type": "switch_user", "data": {"user_id": 1}}', "UNKNOWN_TYPE", "switch_user", None),
    ('{"type": "ping", "extra": 1, "request_id": "d"}', "VALIDATION_ERROR", "extra", "d"),
    ('{"type": "ping", "data": [], "request_id": "e"}', "VALIDATION_ERROR", "data", "e"),
    ('{"type": "ping", "request_id": {"x": 1}}', "VALIDATION_ERROR", "request_id", None),
    ('{"type": "ping", "request_id": "' + "x" * 101 + '"}', "VALIDATION_ERROR", "100", None),
    ('{"type": "subscribe", "request_id": 9}', "VALIDATION_ERROR", "data.channels", 9),
    ('{"type": "subscribe", "data": {"channels": []}}', "VALIDATION_ERROR", "data.channels", None),
    ('{"type": "subscribe", "data": {"channels": ["orders"]}}', "VALIDATION_ERROR",
     "data.channels.0", None),
    ('{"type": "subscribe", "data": {"channels": ["trades"], "last_event_id": -1}}',
     "VALIDATION_ERROR", "data.last_event_id", None),
    ('{"type": "subscribe", "data": {"channels": ["trades"], "last_event_id": "5"}}',
     "VALIDATION_ERROR", "data.last_event_id", None),
    ('{"type": "unsubscribe", "data": {"channels": "trades"}}', "VALIDATION_ERROR",
     "data.channels", None),
    ('{"type": "switch_account", "data": {}}', "VALIDATION_ERROR", "data.account_id", None),
    ('{"type": "switch_account", "data": {"account_id": "1"}}', "VALIDATION_ERROR",
     "data.account_id", None),
    ('{"type": "switch_account", "data": {"account_id": true}}', "VALIDATION_ERROR",
     "data.account_id", None),
    ('{"type": "get_snapshot", "data": {"account_id": 1.5}}', "VALIDATION_ERROR",
     "data.account_id", None),
    ('{"type": "get_snapshot", "data": {}}', "VALIDATION_ERROR", "data.account_id", None),
    ('{"type": "bootstrap", "data": {"username": "default"}}', "VALIDATION_ERROR",
     "data.username", None),
]  # fmt: skip


async def test_bad_messages_get_an_error_and_the_socket_stays_up(st: tuple[Stack, str]) -> None:
    stack, url = st
    async with live.open_ws(url, live.token_of(stack)) as ws:
        for sent, code, words, rid in BAD:
            await ws.send(sent)
            msg = await live.recv(ws)
            assert msg["type"] == "error", (sent, msg)
            assert msg["data"]["code"] == code, (sent, msg)
            assert words in msg["data"]["message"], (sent, msg)
            assert msg.get("request_id") == rid, (sent, msg)
        await ws.send(b'{"type": "ping"}')  # a binary frame
        msg = await live.recv(ws)
        assert msg["data"]["code"] == "INVALID_JSON" and "binary" in msg["data"]["message"]
        assert (await live.ask(ws, "ping"))["type"] == "pong"  # still up


async def test_a_message_over_the_limit_closes_with_1009(st: tuple[Stack, str]) -> None:
    stack, url = st
    async with live.open_ws(url, live.token_of(stack)) as ws:
        fits = json.dumps({"type": "ping", "request_id": "x" * 50, "data": {}})
        await ws.send(fits)
        assert (await live.recv(ws))["type"] == "pong"
        await ws.send(json.dumps({"type": "ping", "request_id": "é" * (LIMIT // 2)}))
        with pytest.raises(ConnectionClosed) as closed:
            await live.recv(ws)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1009
    assert f"MESSAGE_TOO_LARGE: messages are limited to {LIMIT} bytes" in closed.value.rcvd.reason


async def test_a_giant_frame_is_refused_by_the_protocol_without_buffering_it(
    st: tuple[Stack, str],
) -> None:
    stack, url = st
    async with live.open_ws(url, live.token_of(stack), max_size=None) as ws:
        await ws.send("x" * (2 * 1024 * 1024))
        with pytest.raises(ConnectionClosed) as closed:
            await live.recv(ws)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009


@pytest.fixture
async def limited(temporal_address: str, sqlite_url: str) -> AsyncIterator[tuple[Stack, str]]:
    settings = make_settings(
        temporal_address, sqlite_url, rate_limit_per_second=0.5, rate_limit_burst=20
    )
    async with full_stack(None, settings, worker=False) as st, live.serving(st.app) as url:
        yield st, url


async def test_a_flood_of_messages_is_rate_limited_like_rest_requests(
    limited: tuple[Stack, str],
) -> None:
    """A session's socket messages have a token bucket of HYPERORU_RATE_LIMIT_PER_SECOND /
    _BURST: past the burst each gets RATE_LIMITED (not handled) and the socket stays up."""
    stack, url = limited
    async with live.open_ws(url, live.token_of(stack)) as ws:
        for n in range(25):
            await ws.send(json.dumps({"type": "ping", "request_id": n}))
        got = [await live.recv(ws) for _ in range(25)]
    assert [m["type"] for m in got[:20]] == ["pong"] * 20
    for msg in got[20:]:
        assert msg["type"] == "error" and msg["data"]["code"] == "RATE_LIMITED", msg
        assert "retry in" in msg["data"]["message"] and "request_id" not in msg
