"""The live stream in tests: the stack's app served by a real uvicorn on a free port (httpx's ASGI
transport has no WebSockets), `websockets` clients, and events recorded the way the worker
records them (db/events.py `append` in a write transaction, db/transactions.py)."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import uvicorn
from fastapi import FastAPI
from sqlalchemy.orm import Session
from websockets.asyncio.client import ClientConnection, connect

from api.ws.endpoint import uvicorn_options
from db import events
from db.transactions import write
from domain.events import (
    AssetCurveUpdate,
    EventData,
    ModelChatUpdate,
    PositionKind,
    PositionUpdate,
    StatusUpdate,
    TradeKind,
    TradeUpdate,
)
from domain.trader import TraderStatus
from domain.vocabulary import DecisionStatus, PositionSide, Side
from tests.support.ports import free_port
from tests.support.stack import Stack

_ids = itertools.count(1)


@asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[str]:
    """Serve `app` (its lifespan already entered, e.g. by full_stack) on a free port; yields
    the socket's URL."""
    port = free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        lifespan="off",
        log_config=None,
        **uvicorn_options(app.state.settings),
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    for _ in range(500):
        if server.started or task.done():
            break
        await asyncio.sleep(0.01)
    assert server.started, "uvicorn did not start"
    try:
        yield f"ws://127.0.0.1:{port}/ws"
    finally:
        server.should_exit = True
        await task


def token_of(st: Stack) -> str:
    return str(st.api.headers["Authorization"].split()[1])


def open_ws(url: str, token: str | None = None, **kw: Any) -> Any:
    """A client socket (`async with`), the token in the Authorization header."""
    headers = dict(kw.pop("additional_headers", {}) or {})
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return connect(url, additional_headers=headers, proxy=None, open_timeout=10, **kw)


async def recv(ws: ClientConnection, timeout: float = 10) -> dict[str, Any]:
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))  # type: ignore[no-any-return]


async def ask(
    ws: ClientConnection, kind: str, data: dict[str, Any] | None = None, timeout: float = 20
) -> dict[str, Any]:
    """Send one request and return the first message answering its request_id."""
    rid = f"r{next(_ids)}"
    msg: dict[str, Any] = {"type": kind, "request_id": rid}
    if data is not None:
        msg["data"] = data
    await ws.send(json.dumps(msg))
    while True:
        got = await recv(ws, timeout)
        if got.get("request_id") == rid:
            return got


async def settle(ws: ClientConnection, timeout: float = 20) -> list[dict[str, Any]]:
    """Messages before a pong: the server handles a client's messages in order, so everything
    sent before this is in effect once it answers."""
    rid = f"sync{next(_ids)}"
    await ws.send(json.dumps({"type": "ping", "request_id": rid}))
    before = []
    while True:
        got = await recv(ws, timeout)
        if got.get("type") == "pong" and got.get("request_id") == rid:
            return before
        before.append(got)


async def record(st: Stack, *data: EventData) -> None:
    """Append events in one write transaction, as the worker does."""

    def fn(s: Session) -> None:
        events.append(s, *data)

    await write(st.app.state.sessions, fn)


def now() -> datetime:
    return datetime.now(UTC)


def fill(account_id: int, n: int = 1) -> TradeUpdate:
    return TradeUpdate(
        account_id=account_id, time=now(), kind=TradeKind.FILL, symbol="BTC", side=Side.BUY,
        client_order_id=f"ho-{account_id}-{n}-entry", exchange_order_id=f"paper-{n}",
        trade_id=f"t{n}", size=Decimal("0.0015"), price=Decimal("97000.5"),
        fee=Decimal("0.0654753375"), realized_pnl=Decimal(0),
    )  # fmt: skip


def position(account_id: int) -> PositionUpdate:
    return PositionUpdate(
        account_id=account_id, time=now(), kind=PositionKind.OPENED, symbol="BTC",
        side=PositionSide.LONG, size=Decimal("0.0015"), entry_price=Decimal("97000.5"),
        leverage=Decimal(2), unrealized_pnl=Decimal("-0.01"),
    )  # fmt: skip


def chat(account_id: int, n: int = 1, reasoning: str = "RSI 28: oversold") -> ModelChatUpdate:
    return ModelChatUpdate(
        account_id=account_id, time=now(), decision_id=f"dec-{account_id}-{n}", seq=n,
        trigger_type="scheduled", status=DecisionStatus.EXECUTED, operation="long",
        symbol="BTC", reasoning=reasoning, verdict="approved",
    )  # fmt: skip


def equity(account_id: int) -> AssetCurveUpdate:
    return AssetCurveUpdate(
        account_id=account_id, time=now(), cash=Decimal("9999.93"),
        unrealized_pnl=Decimal("-0.01"), equity=Decimal("9999.92"), margin_used=Decimal("72.75"),
    )  # fmt: skip


def status(account_id: int, to: TraderStatus = TraderStatus.PAUSED) -> StatusUpdate:
    return StatusUpdate(account_id=account_id, time=now(), status=to, reason="paused by owner")
