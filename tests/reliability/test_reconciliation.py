"""Reconciliation on start/resume: fills the platform missed are recorded, a position or an open
order the platform did not expect is recorded as drift, visibly, once per finding."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal

from temporalio.client import Client

from adapters.exchanges.hyperliquid import HyperliquidClient
from domain.orders import OrderIntent, OrderStatus
from tests.emulators.binance_emulator import BinanceEmulator
from tests.emulators.exchange_common import serving
from tests.emulators.hyperliquid_emulator import HyperliquidEmulator
from tests.reliability.venues import TOGGLE, Venues, connect_trader, recorded, venue_fill_count
from tests.support.stack import full_stack, make_settings
from tests.support.waiting import eventually


async def test_drift_and_missed_fills_are_recorded_on_resume(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    hl, bn = HyperliquidEmulator(), BinanceEmulator()
    with serving(hl.app) as hs, serving(bn.app) as bs:
        v = Venues(hl, hs.url, bn, bs.url)
        async with full_stack(None, make_settings(temporal_address, sqlite_url)) as st:
            prog = (await st.create_program(TOGGLE, "toggle"))["id"]
            tr = await connect_trader(st, v, "hyperliquid", prog)
            opened = (await st.post(f"/api/account/{tr.tid}/trigger")).json()
            assert opened["status"] == "executed", opened
            assert (await st.post(f"/api/account/{tr.tid}/pause")).status_code == 200
            # Someone trades by hand on the same account while the trader is paused.
            by_hand = HyperliquidClient(tr.user, tr.secret, "testnet", base_url=v.hl_url)
            ex = await by_hand._ready()
            mid = hl.asset("BTC").mid
            await asyncio.to_thread(
                ex.order, "BTC", True, 0.01, int(mid / 2), {"limit": {"tif": "Gtc"}}
            )
            await asyncio.to_thread(
                ex.order, "BTC", True, 0.002, int(mid * Decimal("1.05")), {"limit": {"tif": "Ioc"}}
            )
            await by_hand.close()
            with hl.lock:  # and a position change no fill explains (e.g. an old transfer)
                hl.users[tr.user].positions["BTC"].szi += Decimal("0.001")
            assert (await st.post(f"/api/account/{tr.tid}/resume")).status_code == 200

            async def findings() -> set[str]:
                r = await st.api.get(f"/api/account/{tr.tid}/reconciliation")
                kinds = {e["kind"] for e in r.json()["items"] if e["reason"] == "resume"}
                return (
                    kinds
                    if {"fill_recorded", "unexpected_order", "position_drift"} <= kinds
                    else set()
                )

            await eventually(findings, timeout=60)
            events = (await st.api.get(f"/api/account/{tr.tid}/reconciliation")).json()
            drift = [e for e in events["items"] if e["kind"] == "position_drift"]
            assert drift[0]["subject"] == "BTC"
            assert Decimal(drift[0]["detail"]["venue_size"]) - Decimal(
                drift[0]["detail"]["recorded_size"]
            ) == Decimal("0.001")
            _, _, n_fills = await recorded(st, tr.tid)
            assert n_fills == venue_fill_count(v, tr)  # the missed fill is recorded, once
            # The same findings again (pause + resume) are not recorded twice.
            handle = st.client.get_workflow_handle(f"trader-{tr.tid}")

            async def syncs_done() -> int:
                history = await handle.fetch_history()
                scheduled = {
                    e.event_id
                    for e in history.events
                    if e.HasField("activity_task_scheduled_event_attributes")
                    and e.activity_task_scheduled_event_attributes.activity_type.name
                    == "sync_account"
                }
                return sum(
                    1
                    for e in history.events
                    if e.HasField("activity_task_completed_event_attributes")
                    and e.activity_task_completed_event_attributes.scheduled_event_id in scheduled
                )

            before = await syncs_done()
            await st.post(f"/api/account/{tr.tid}/pause")
            await st.post(f"/api/account/{tr.tid}/resume")

            async def second_resume_sync_done() -> bool:
                return await syncs_done() > before

            await eventually(second_resume_sync_done, timeout=60)
            again = (await st.api.get(f"/api/account/{tr.tid}/reconciliation")).json()
            assert again["total"] == events["total"], (events, again)
            # An order the venue never got, settled by lookup: proved absent, never resent.
            ghost = OrderIntent(
                client_order_id=f"ho-{tr.tid}-999-entry",
                account_id=tr.tid,
                decision_id="none",
                leg="entry",
                symbol="BTC",
                side="buy",
                reduce_only=False,
                size_usd=Decimal(200),
                leverage=Decimal(2),
            )
            sent_before = hl.requests.count("exchange:order")
            gone = await st.deps.exchange.resolve_order(ghost, time.time() + 30)
            assert gone.status is OrderStatus.REJECTED and "NOT_PLACED" in (
                gone.reject_reason or ""
            )
            assert hl.requests.count("exchange:order") == sent_before
