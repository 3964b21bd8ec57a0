"""Manual orders through the whole stack: a paper trader, prices the test moves."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
from temporalio.client import Client

from adapters.account_sync import AccountSync
from adapters.market.simulated import SimulatedFeed
from db import events
from domain.contracts import SyncAccountInput, SyncAccountResult
from domain.events import Event
from tests.support.stack import Stack, full_stack, make_settings

D = Decimal


class Marks:
    """The simulated feed's prices, as the test sets them (every symbol, any time)."""

    def __init__(self) -> None:
        self.now = {"BTC": D(50000), "ETH": D(3000), "SOL": D(150)}


@pytest.fixture
def marks(monkeypatch: pytest.MonkeyPatch) -> Marks:
    m = Marks()

    async def get_price(self: SimulatedFeed, symbol: str, at_ms: int) -> Decimal:
        return m.now[symbol.strip().upper()]

    monkeypatch.setattr(SimulatedFeed, "get_price", get_price)
    return m


@pytest.fixture
async def st(
    temporal_client: Client, temporal_address: str, sqlite_url: str, marks: Marks
) -> AsyncIterator[Stack]:
    async with full_stack(None, make_settings(temporal_address, sqlite_url)) as stack:
        yield stack


async def trader(st: Stack, **fields: Any) -> int:
    """A paper trader with no strategy: only its owner's orders trade."""
    return int((await st.create_trader(trading_enabled=True, **fields))["account_id"])


async def order(st: Stack, tid: int, headers: dict[str, str] | None = None, **fields: Any) -> Any:
    """POST /api/orders/create: a market buy of BTC unless `fields` say otherwise."""
    body = {"account_id": tid, "symbol": "BTC", "side": "buy", "order_type": "market", **fields}
    return await st.post("/api/orders/create", body, headers=headers or {})


async def sync(st: Stack, tid: int) -> SyncAccountResult:
    """The account sync the trader runs every POSITION_SYNC_SECONDS, run now."""
    return await AccountSync(st.deps.sessions, st.deps.exchange).sync(
        SyncAccountInput(account_id=tid)
    )


async def recorded_events(st: Stack, tid: int) -> list[Event]:
    async with st.deps.sessions() as s:
        return await s.run_sync(lambda conn: events.after(conn, 0, 1000, [tid]))


async def account(st: Stack, tid: int) -> dict[str, Any]:
    r = await st.api.get(f"/api/account/{tid}/overview")
    assert r.status_code == 200, r.text
    return dict(r.json())
