"""An order left `unknown` by its decision is never seen settled without its reconciliation
finding: the `order_resolved` finding is written with the status, not after the sync's later
venue calls.

Why this test: test_exchange_faults[binance] failed now and then under load. The resume's
reconciliation recorded the order `filled`, then asked the venue for its open orders (the
`unexpected_order` check) and only then wrote its findings; a reader in between (the test, an
operator's page) saw the order settled with no finding, and a sync failing at that venue call
lost the finding for good (its retry finds nothing left to settle). Here the venue holds the
open-orders answer past the client's timeout, so the reader always looks in that window."""

from __future__ import annotations

import asyncio

import pytest
from temporalio.client import Client

from adapters.account_sync import AccountSync
from adapters.exchanges.client import ExchangeError
from domain.contracts import SyncAccountInput
from tests.emulators.binance_emulator import BinanceEmulator
from tests.emulators.exchange_common import serving
from tests.emulators.hyperliquid_emulator import HyperliquidEmulator
from tests.reliability.venues import TOGGLE, Venues, connect_trader
from tests.support.stack import Stack, full_stack, make_settings
from tests.support.waiting import eventually

ORDER, LOOKUP, OPEN_ORDERS = "POST /fapi/v1/order", "GET /fapi/v1/order", "GET /fapi/v1/openOrders"


async def _status(st: Stack, tid: int, coid: str) -> str:
    rows = (await st.api.get(f"/api/account/{tid}/orders")).json()["items"]
    return str(next(o["status"] for o in rows if o["client_order_id"] == coid))


async def _resolved(st: Stack, tid: int) -> set[str]:
    events = (await st.api.get(f"/api/account/{tid}/reconciliation")).json()["items"]
    return {e["subject"] for e in events if e["kind"] == "order_resolved"}


async def test_an_unknown_order_is_never_seen_settled_without_its_finding(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    bn = BinanceEmulator()
    settings = make_settings(
        temporal_address, sqlite_url, exchange_timeout_seconds=1.0, order_resolve_seconds=2.0
    )
    with serving(HyperliquidEmulator().app) as hs, serving(bn.app) as bs:
        v = Venues(HyperliquidEmulator(), hs.url, bn, bs.url)
        async with full_stack(None, settings) as st:
            prog = (await st.create_program(TOGGLE, "toggle"))["id"]
            tr = await connect_trader(st, v, "binance", prog)
            # The venue fills the entry, its answer is lost and every lookup after the one
            # before sending fails past the resolve bound: the decision ends ORDER_UNKNOWN.
            bn.faults.inject("delay_after", ORDER, delay_s=3)
            bn.faults.inject("down", LOOKUP, delay_s=60, after=1)
            out = (await st.post(f"/api/account/{tr.tid}/trigger")).json()
            assert out["error_code"] == "ORDER_UNKNOWN", out
            coid = out["orders"][0]["client_order_id"]
            bn.faults.clear()
            assert await _status(st, tr.tid, coid) == "unknown"

            # Reconciliation settles it, then waits on the venue's open orders (and gives up).
            bn.faults.inject("delay_after", OPEN_ORDERS, delay_s=3)
            sync = asyncio.create_task(
                AccountSync(st.deps.sessions, st.deps.exchange).sync(
                    SyncAccountInput(account_id=tr.tid, reason="resume")
                )
            )

            async def settled() -> bool:
                return await _status(st, tr.tid, coid) == "filled"

            await eventually(settled, timeout=30, interval=0.05)
            assert coid in await _resolved(st, tr.tid)  # seen settled: its finding is there
            with pytest.raises(ExchangeError):
                await sync  # the venue's late answer fails this sync ...
            assert coid in await _resolved(st, tr.tid)  # ... and the finding stays
