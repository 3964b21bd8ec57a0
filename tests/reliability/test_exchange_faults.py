"""Exchange faults through the whole stack, on both venue emulators: 5xx after accepting, a
response that never arrives, a connection reset, "order not found" first and then found, rate
limits, duplicated fill listings, a venue down for a while (within and past the resolve bound).

Every decision is recorded once, no order is duplicated, and the records match the venue."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest
from sqlalchemy import select
from temporalio.client import Client

from db.models import DecisionRecord, ReconciliationEvent
from tests.emulators.binance_emulator import BinanceEmulator
from tests.emulators.exchange_common import Faults, serving
from tests.emulators.hyperliquid_emulator import HyperliquidEmulator
from tests.reliability.venues import TOGGLE, LiveTrader, Venues, check_converged, connect_trader
from tests.support.stack import Stack, full_stack, make_settings
from tests.support.waiting import eventually

RESOLVE_SECONDS = 10.0
OPS = {
    "hyperliquid": {"order": "order", "lookup": "orderStatus", "fills": "userFills"},
    "binance": {
        "order": "POST /fapi/v1/order",
        "lookup": "GET /fapi/v1/order",
        "fills": "GET /fapi/v1/userTrades",
    },
}

Inject = Callable[[Faults, dict[str, str]], object]
SCENARIOS: list[tuple[str, Inject]] = [
    ("5xx after accepting", lambda f, op: f.inject("error_5xx_after", op["order"])),
    ("response never arrives", lambda f, op: f.inject("delay_after", op["order"], delay_s=3)),
    ("connection reset", lambda f, op: f.inject("drop_after", op["order"])),
    (
        "not found first, then found",
        lambda f, op: (
            f.inject("error_5xx_after", op["order"]),
            f.inject("not_found", op["lookup"], times=2, after=1),
        ),
    ),
    ("rate limited", lambda f, op: f.inject("rate_limit", op["order"], times=2)),
    ("fills listed twice", lambda f, op: f.inject("duplicate_fills", op["fills"], times=5)),
]


def _faults(v: Venues, venue: str) -> Faults:
    return v.hl.faults if venue == "hyperliquid" else v.bn.faults


def _requests(v: Venues, venue: str) -> list[str]:
    return v.hl.requests if venue == "hyperliquid" else v.bn.requests


async def _trigger(st: Stack, tid: int) -> dict:
    r = await st.post(f"/api/account/{tid}/trigger")
    assert r.status_code == 200, r.text
    return r.json()


async def _down_when_order_in_flight(v: Venues, tr: LiveTrader, seconds: float) -> None:
    """The venue goes down right after it accepted the order, before it answers."""
    op = OPS[tr.venue]["order"]
    faults, reqs = _faults(v, tr.venue), _requests(v, tr.venue)
    seen = sum(1 for r in reqs if r.endswith(op))
    faults.inject("delay_after", op, delay_s=2)

    async def sent() -> bool:
        return sum(1 for r in reqs if r.endswith(op)) > seen

    await eventually(sent, timeout=60, interval=0.02)
    faults.inject("down", "*", delay_s=seconds)


@pytest.mark.parametrize("venue", ["hyperliquid", "binance"])
async def test_exchange_faults(
    temporal_client: Client, temporal_address: str, sqlite_url: str, venue: str
) -> None:
    hl, bn = HyperliquidEmulator(), BinanceEmulator()
    hl.unique_cloids = False  # a duplicate submission must show, not be refused
    settings = make_settings(
        temporal_address,
        sqlite_url,
        exchange_timeout_seconds=1.0,
        order_resolve_seconds=RESOLVE_SECONDS,
    )
    with serving(hl.app) as hs, serving(bn.app) as bs:
        v = Venues(hl, hs.url, bn, bs.url)
        async with full_stack(None, settings) as st:
            prog = (await st.create_program(TOGGLE, "toggle"))["id"]
            tr = await connect_trader(st, v, venue, prog)
            faults, op = _faults(v, venue), OPS[venue]
            injected = 0
            for name, inject in SCENARIOS:
                inject(faults, op)
                out = await _trigger(st, tr.tid)
                injected += len(faults.fired)
                faults.fired.clear()
                faults.clear()
                assert out["status"] == "executed", (name, out["error_code"], out["error"])
                assert [o["status"] for o in out["orders"]] == ["filled"], (name, out)
                await check_converged(st, v, tr)

            # Down for a while, back within the resolve bound: settled by lookups.
            task = asyncio.create_task(_trigger(st, tr.tid))
            await _down_when_order_in_flight(v, tr, seconds=4)
            out = await task
            injected += len(faults.fired)
            faults.fired.clear()
            faults.clear()
            assert out["status"] == "executed", out
            await check_converged(st, v, tr)

            # Down past the bound: the decision is `unknown`, the trader halts new entries.
            flat = (await _trigger(st, tr.tid)) if out["orders"][0]["side"] == "buy" else None
            assert flat is None or flat["status"] == "executed"
            task = asyncio.create_task(_trigger(st, tr.tid))
            await _down_when_order_in_flight(v, tr, seconds=RESOLVE_SECONDS + 8)
            out = await task
            assert out["status"] == "failed" and out["error_code"] == "ORDER_UNKNOWN", out
            assert out["orders"][0]["status"] == "unknown"
            acct = (await st.api.get(f"/api/account/{tr.tid}")).json()
            assert acct["status"] == "Error" and "ORDER_UNKNOWN" in acct["status_reason"], acct
            status = await st.client.get_workflow_handle(f"trader-{tr.tid}").query("status")
            assert status["halted"] is True

            async def venue_back() -> bool:
                return all(f.kind != "down" or time.monotonic() > f.until for f in faults._faults)

            await eventually(venue_back, timeout=60)
            injected += len(faults.fired)
            faults.fired.clear()
            faults.clear()
            # Halted: the close still runs (the unknown entry did fill), a new entry is denied.
            closed = await _trigger(st, tr.tid)
            assert closed["status"] == "executed", closed
            denied = await _trigger(st, tr.tid)
            assert denied["status"] == "denied", denied
            assert denied["risk_verdict"]["code"] == "TRADING_HALTED", denied
            # The operator checks the venue and resumes: reconciliation settles the order.
            r = await st.post(f"/api/account/{tr.tid}/resume")
            assert r.status_code == 200, r.text
            unknown_coid = out["orders"][0]["client_order_id"]

            async def settled() -> bool:
                rows = (await st.api.get(f"/api/account/{tr.tid}/orders")).json()["items"]
                return any(
                    o["client_order_id"] == unknown_coid and o["status"] == "filled" for o in rows
                )

            await eventually(settled, timeout=60)
            events = (await st.api.get(f"/api/account/{tr.tid}/reconciliation")).json()
            kinds = {(e["kind"], e["subject"]) for e in events["items"]}
            assert ("order_resolved", unknown_coid) in kinds, events
            again = await _trigger(st, tr.tid)
            assert again["status"] == "executed", again
            acct = (await st.api.get(f"/api/account/{tr.tid}")).json()
            assert acct["status"] == "Active", acct
            log = (await st.api.get(f"/api/account/{tr.tid}/decisions")).json()["items"]
            assert any(d["status"] == "resumed" for d in log)  # the operator's resume, visible
            assert await check_converged(st, v, tr) == 0
            async with st.deps.sessions() as s:
                decisions = list(
                    await s.scalars(
                        select(DecisionRecord).where(DecisionRecord.account_id == tr.tid)
                    )
                )
                n_events = len(list(await s.scalars(select(ReconciliationEvent))))
            assert all(d.completed_at is not None for d in decisions)
            print(
                f"\n[reliability] {venue}: faults injected={injected}, decisions="
                f"{len(decisions)}, duplicates=0, reconciliation events={n_events}"
            )
