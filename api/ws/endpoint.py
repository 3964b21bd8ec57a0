"""`GET /ws`: the live stream's socket (README "Live stream", the protocol in api/ws/docs.py).

A connection: authenticate the upgrade (api/ws/auth.py), register with the process's Hub, then
three tasks until one ends: reading client messages, writing the send queue, and waiting for a
close the Hub asks for (token revoked, client too slow). Close codes: 4401 not authenticated,
4403 cookie from another origin, 4408 too slow, 1009 message too large, 1013 too many sockets,
1001 server shutting down.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.auth import Caller
from api.ws.auth import Refusal, authenticate
from api.ws.broadcaster import Hub
from api.ws.connection import Connection
from api.ws.handlers import handle, send_snapshots
from api.ws.protocol import ErrorCode, ProtocolError, error, parse
from config.settings import Settings

log = logging.getLogger("hyperoru.api.ws")
router = APIRouter()

TOO_LARGE = 1009
TRY_AGAIN_LATER = 1013
GOING_AWAY = 1001
UNAVAILABLE = Refusal(1011, "UNAVAILABLE: the server cannot serve the stream now; try again")
CLOSE_WAIT_S = 1.0  # a client that reads nothing does not read a close frame either


def start_hub(sessions: async_sessionmaker[AsyncSession], settings: Settings) -> Hub:
    hub = Hub(
        sessions,
        poll_s=settings.ws_poll_seconds,
        slow_after_s=settings.ws_slow_client_seconds,
        recheck_s=settings.ws_auth_recheck_seconds,
        max_connections=settings.ws_max_connections,
        rate=settings.rate_limit_per_second,
        burst=settings.rate_limit_burst,
    )

    async def on_gap(conn: Connection, reason: str) -> None:
        await send_snapshots(conn, hub, reason)

    hub.on_gap = on_gap
    return hub


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """The socket options `python -m cli api` serves with. The protocol's own size cap is
    above the stream's (which closes with a clear reason), so it only stops a giant frame from
    being buffered. No per-message compression: every socket would compress every event anew."""
    return {
        "ws_max_size": max(4 * settings.ws_max_message_bytes, 1024 * 1024),
        "ws_per_message_deflate": False,
    }


@router.websocket("/ws")
async def live_stream(websocket: WebSocket) -> None:
    state = websocket.app.state
    settings: Settings = state.settings
    hub: Hub = state.ws_hub
    try:
        caller: Caller | Refusal = await authenticate(
            websocket, state.sessions, settings.session_cookie
        )
    except Exception as err:  # the database away (never log the upgrade: it may hold a token)
        log.warning("live stream: authenticating an upgrade failed: %r", err)
        caller = UNAVAILABLE
    # Accepted, then closed at once when refused: a browser sees the close code and reason
    # (a refused upgrade is only "connection failed" to it). No data is sent before.
    await websocket.accept()
    if isinstance(caller, Refusal):
        await websocket.close(caller.code, caller.reason)
        return
    conn = Connection(websocket, caller, settings.ws_queue_size)
    try:
        registered = await hub.register(conn)
    except Exception as err:
        log.warning("live stream: registering a socket failed: %r", err)
        await websocket.close(UNAVAILABLE.code, UNAVAILABLE.reason)
        return
    if not registered:
        await websocket.close(TRY_AGAIN_LATER, "TOO_MANY_CONNECTIONS: try again later")
        return
    try:
        await _serve(conn, hub, settings.ws_max_message_bytes)
    finally:
        hub.unregister(conn)


async def _serve(conn: Connection, hub: Hub, max_bytes: int) -> None:
    tasks = [
        asyncio.create_task(_read(conn, hub, max_bytes)),
        asyncio.create_task(conn.pump(hub.catch_up)),
        asyncio.create_task(conn.closed.wait()),
    ]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
    for result in results:
        if isinstance(result, Exception) and not _gone(result):
            log.error("live stream: a connection failed: %r", result)
    if conn.close_with is not None:
        code, reason = conn.close_with
        with contextlib.suppress(Exception):
            async with asyncio.timeout(CLOSE_WAIT_S):
                await conn.ws.close(code, reason)


def _gone(err: BaseException) -> bool:
    """The client went away (or the socket is closing): nothing to report."""
    return isinstance(err, WebSocketDisconnect | asyncio.CancelledError | RuntimeError | OSError)


async def _read(conn: Connection, hub: Hub, max_bytes: int) -> None:
    while True:
        message = await conn.ws.receive()
        if message["type"] == "websocket.disconnect":
            return
        text = message.get("text")
        if text is None:
            await conn.send(error(ErrorCode.INVALID_JSON, "send JSON text, not binary frames"))
            continue
        if len(text) > max_bytes or len(text.encode("utf-8", "surrogatepass")) > max_bytes:
            conn.close(TOO_LARGE, f"MESSAGE_TOO_LARGE: messages are limited to {max_bytes} bytes")
            return
        wait = hub.rate_wait(conn)
        if wait > 0:
            retry = max(1, math.ceil(wait))
            await conn.send(error(ErrorCode.RATE_LIMITED, f"Too many messages; retry in {retry} s"))
            continue
        try:
            kind, rid, data = parse(text)
        except ProtocolError as err:
            await conn.send(error(err.code, err.message, err.request_id))
            continue
        await handle(conn, hub, kind, rid, data)
