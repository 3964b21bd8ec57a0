"""Many clients, one slow one: a client that stops reading fills only its own bounded queue, is
dropped once that queue has stayed full for HYPERORU_WS_SLOW_CLIENT_SECONDS, and never delays
the others: a reading client gets every event within a second meanwhile."""

from __future__ import annotations

import socket
import time
from collections.abc import AsyncIterator
from datetime import datetime

import pytest
from websockets.exceptions import ConnectionClosed

from tests.support import live
from tests.support.stack import Stack, full_stack, make_settings

SLOW_S = 1.0
QUEUE = 8
TEXT = "why: " + "x" * 50_000  # large events fill the slow client's socket buffers quickly


@pytest.fixture
async def st(temporal_address: str, sqlite_url: str) -> AsyncIterator[tuple[Stack, str]]:
    settings = make_settings(
        temporal_address, sqlite_url, ws_queue_size=QUEUE, ws_slow_client_seconds=SLOW_S
    )
    async with full_stack(None, settings, worker=False) as st, live.serving(st.app) as url:
        yield st, url


def _tiny_socket(url: str) -> socket.socket:
    """A client socket with a tiny receive buffer: not reading it soon stops the server."""
    host, port = url.removeprefix("ws://").split("/")[0].split(":")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((host, int(port)))
    sock.setblocking(False)
    return sock


@pytest.mark.serial
async def test_a_client_that_stops_reading_is_dropped_and_delays_no_one(
    st: tuple[Stack, str],
) -> None:
    stack, url = st
    hub = stack.app.state.ws_hub
    a = (await stack.create_trader(name="alpha"))["id"]
    token = live.token_of(stack)
    subscribe = '{"type": "subscribe", "data": {"channels": ["model_chat"]}}'
    async with (
        live.open_ws(url, token) as fast,
        live.open_ws(url, token, sock=_tiny_socket(url), max_queue=1) as slow,
    ):
        for ws in (fast, slow):
            await ws.send(subscribe)
            await live.settle(ws)
        assert hub.count == 2
        lags, dropped_at = [], None
        started = time.monotonic()
        for batch in range(40):  # 40 x 10 x 50 KB, far more than the slow client's buffers hold
            seqs = range(batch * 10, batch * 10 + 10)
            await live.record(stack, *(live.chat(a, n, reasoning=TEXT) for n in seqs))
            for n in seqs:
                got = await live.recv(fast, timeout=5)
                lags.append(time.time() - datetime.fromisoformat(got["data"]["time"]).timestamp())
                assert got["data"]["seq"] == n
            if dropped_at is None and hub.count == 1:
                dropped_at = time.monotonic() - started
        # Dropped while the events kept coming (once its buffers filled: a few MB).
        assert dropped_at is not None, "the slow client was not dropped"
        assert max(lags) < 1.0, sorted(lags)[-5:]
        # Reading again, the slow client finds its socket closed after what was buffered.
        with pytest.raises(ConnectionClosed):
            while True:
                await live.recv(slow, timeout=10)
        assert (await live.ask(fast, "ping"))["type"] == "pong"
