"""Fixtures for notifications: the whole stack (API in-process, worker with the notifier's
queue, real Temporal, a migrated database) with the notifier polling every second and short
retries, a local webhook receiver and a local Telegram Bot API; helpers to record live-stream
events as the worker would (the notifier's only input)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session
from temporalio.client import Client

from db import events
from db.base import utcnow
from domain.events import EventData, StatusUpdate, TradeKind, TradeUpdate
from domain.trader import TraderStatus
from tests.emulators.telegram import TelegramEmulator
from tests.notifications.receiver import WebhookReceiver
from tests.support.stack import Stack, full_stack, make_settings
from tests.support.waiting import eventually

BOT_TOKEN = "123456:AAE-real-looking-bot-token_xyz"
CHAT_ID = "-1001234567890"
# Short on purpose: retries and timeouts of a few hundred ms keep the tests quick.
NOTIFY = {
    "notify_poll_seconds": 1,
    "notify_http_timeout_seconds": 1.0,
    "notify_retry_initial_seconds": 0.2,
    "notify_retry_max_seconds": 0.5,
    "notify_max_attempts": 5,
    "notify_allow_private_hosts": True,  # the receivers listen on 127.0.0.1
}


@pytest.fixture
async def st(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> AsyncIterator[Stack]:
    settings = make_settings(temporal_address, sqlite_url, **NOTIFY)
    async with full_stack(None, settings) as stack:
        yield stack


@pytest.fixture
async def st_any(
    temporal_client: Client, temporal_address: str, database_url: str
) -> AsyncIterator[Stack]:
    """The same stack on SQLite and on PostgreSQL."""
    settings = make_settings(temporal_address, database_url, **NOTIFY)
    async with full_stack(None, settings) as stack:
        yield stack


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    rx = WebhookReceiver()
    rx.start()
    yield rx
    rx.stop()


@pytest.fixture
def telegram() -> Iterator[TelegramEmulator]:
    tg = TelegramEmulator(token=BOT_TOKEN, chats={CHAT_ID})
    tg.start()
    yield tg
    tg.stop()


def record(st: Stack, *data: EventData) -> None:
    """Append events to the live stream, as the worker does in its transactions."""
    engine = create_engine(st.settings.database_url or "")
    with Session(engine) as s, s.begin():
        events.append(s, *data)
    engine.dispose()


def fill(account_id: int, trigger: str | None = None, at: datetime | None = None) -> TradeUpdate:
    return TradeUpdate(
        account_id=account_id, time=at or utcnow(), kind=TradeKind.FILL, symbol="BTC",
        side="buy", client_order_id="c1", trade_id=f"tr-{utcnow().timestamp()}",
        size="0.01", price="50000", fee="0.225", realized_pnl="0", trigger=trigger,
    )  # fmt: skip


def breaker(account_id: int, reason: str = "CIRCUIT_BREAKER_DAILY_LOSS: -5% today") -> StatusUpdate:
    return StatusUpdate(
        account_id=account_id, time=utcnow(), status=TraderStatus.PAUSED, reason=reason
    )


async def webhook(
    http: httpx.AsyncClient, url: str, events: list[str] | None = None, **fields: Any
) -> dict[str, Any]:
    body = {"name": "hook", "kind": "webhook", "url": url, "events": events or ["fill"], **fields}
    r = await http.post("/api/notifications/channels", json=body)
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


async def deliveries(http: httpx.AsyncClient, channel_id: int) -> list[dict[str, Any]]:
    r = await http.get(f"/api/notifications/channels/{channel_id}/deliveries")
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


async def settled(http: httpx.AsyncClient, channel_id: int, n: int = 1) -> list[dict[str, Any]]:
    """The channel's history once `n` deliveries are no longer pending."""

    async def done() -> list[dict[str, Any]]:
        rows = await deliveries(http, channel_id)
        return rows if len(rows) >= n and all(d["status"] != "pending" for d in rows) else []

    return await eventually(done, timeout=30)
