"""Who may open the live stream: a valid session token in the Authorization header, the query
string or the web app's session cookie (the cookie only from the API's own origin). Missing,
bad, expired and revoked tokens are closed before any message (4401; a cookie from another
origin 4403), and a token revoked while connected closes its socket within seconds."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import pytest
from sqlalchemy import create_engine, text
from websockets.exceptions import ConnectionClosed

from api.passwords import token_hash
from config.settings import sync_url
from tests.support import live
from tests.support.stack import Stack, full_stack, login, make_settings

COOKIE = "my_session"


@pytest.fixture
async def st(temporal_address: str, database_url: str) -> AsyncIterator[tuple[Stack, str]]:
    settings = make_settings(
        temporal_address, database_url, ws_auth_recheck_seconds=0.5, session_cookie=COOKIE
    )
    async with full_stack(None, settings, worker=False) as st, live.serving(st.app) as url:
        yield st, url


async def _refused(url: str, **kw: Any) -> tuple[int, str]:
    """The close code and reason of a socket refused before it sent any message."""
    async with live.open_ws(url, **kw) as ws:
        with pytest.raises(ConnectionClosed) as closed:
            got = await live.recv(ws)
            raise AssertionError(f"a refused socket sent {got}")
    assert closed.value.rcvd is not None
    return closed.value.rcvd.code, closed.value.rcvd.reason


async def _works(url: str, **kw: Any) -> None:
    async with live.open_ws(url, **kw) as ws:
        assert (await live.ask(ws, "ping"))["type"] == "pong"


async def _fresh_token(st: Stack) -> str:
    async with st.anonymous() as http:
        return await login(http, "owner@example.com", "owner-password-1")


async def test_header_and_query_tokens_open_the_stream(st: tuple[Stack, str]) -> None:
    stack, url = st
    token = live.token_of(stack)
    await _works(url, token=token)
    await _works(f"{url}?session_token={quote(token)}")


async def test_missing_and_bad_tokens_are_refused_before_any_message(
    st: tuple[Stack, str],
) -> None:
    stack, url = st
    code, reason = await _refused(url)
    assert code == 4401 and reason.startswith("AUTH_REQUIRED")
    for bad in ("hyo_not-a-token", "x" * 500):
        assert (await _refused(url, token=bad))[0] == 4401
        code, reason = await _refused(f"{url}?session_token={bad}")
        assert code == 4401 and reason.startswith("INVALID_TOKEN"), reason
    basic = {"Authorization": f"Basic {live.token_of(stack)}"}
    assert (await _refused(url, additional_headers=basic))[0] == 4401


async def test_expired_and_revoked_tokens_are_refused(st: tuple[Stack, str]) -> None:
    stack, url = st
    expired, revoked = await _fresh_token(stack), await _fresh_token(stack)
    engine = create_engine(sync_url(stack.settings.resolved_database_url))
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE session_tokens SET expires_at = :t WHERE token_hash = :h"),
            {"t": datetime(2020, 1, 1, tzinfo=UTC), "h": token_hash(expired)},
        )
    engine.dispose()
    async with stack.anonymous() as http:
        r = await http.post("/api/users/logout", headers={"Authorization": f"Bearer {revoked}"})
        assert r.status_code == 200
    for token in (expired, revoked):
        code, reason = await _refused(url, token=token)
        assert code == 4401 and reason.startswith("INVALID_TOKEN"), reason


async def test_a_token_revoked_while_connected_closes_its_socket(st: tuple[Stack, str]) -> None:
    stack, url = st
    token, other = await _fresh_token(stack), await _fresh_token(stack)
    async with live.open_ws(url, token=token) as ws, live.open_ws(url, token=other) as kept:
        await ws.send('{"type": "subscribe", "data": {"channels": ["trades"]}}')
        await live.settle(ws)
        async with stack.anonymous() as http:
            r = await http.post("/api/users/logout", headers={"Authorization": f"Bearer {token}"})
            assert r.status_code == 200
        revoked_at = time.monotonic()
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                await live.recv(ws, timeout=10)
        took = time.monotonic() - revoked_at
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
        assert closed.value.rcvd.reason.startswith("SESSION_ENDED")
        assert took < 3, took
        assert (await live.ask(kept, "ping"))["type"] == "pong"  # another session stays


async def test_the_session_cookie_counts_only_from_the_api_s_own_origin(
    st: tuple[Stack, str],
) -> None:
    stack, url = st
    token = live.token_of(stack)
    cookie = {"Cookie": f"{COOKIE}={token}"}
    own = url.replace("ws://", "http://").removesuffix("/ws")
    await _works(url, additional_headers=cookie, origin=own)
    port = int(own.rsplit(":", 1)[1])
    for foreign in ("http://evil.example", f"http://127.0.0.1:{port + 1}", f"https://{own[7:]}",
                    f"http://localhost:{port}", "null"):  # fmt: skip
        code, reason = await _refused(url, additional_headers=cookie, origin=foreign)
        assert code == 4403 and reason.startswith("ORIGIN_NOT_ALLOWED"), foreign
    code, _ = await _refused(url, additional_headers=cookie)  # no Origin at all
    assert code == 4403
    # Another name than the configured one is no session cookie.
    assert (await _refused(url, additional_headers={"Cookie": f"other={token}"}, origin=own))[
        0
    ] == 4401
    # A token the client put in the query string itself: any origin.
    await _works(f"{url}?session_token={quote(token)}", origin="http://evil.example")
