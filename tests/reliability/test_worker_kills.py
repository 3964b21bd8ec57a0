"""Chaos: SIGKILL the worker process at random points of decisions, over and over, while six live
traders (Hyperliquid and Binance emulators) decide on signal fires, each fire delivered twice.

After the last restart: exactly one venue order per intended leg, every fire decided and
recorded exactly once, and each trader's recorded fills equal the venue's fills and position."""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter

from sqlalchemy import select
from temporalio.client import Client

from db.models import DecisionRecord, OrderRecord
from tests.emulators.binance_emulator import BinanceEmulator
from tests.emulators.exchange_common import serving
from tests.emulators.hyperliquid_emulator import HyperliquidEmulator
from tests.reliability.venues import (
    TOGGLE,
    LiveTrader,
    Venues,
    check_converged,
    connect_trader,
    venue_id,
    venue_orders,
)
from tests.support.stack import Stack, full_stack, make_settings
from tests.support.waiting import eventually
from tests.support.worker_proc import WorkerProcess

KILLS = 20
TRADERS_PER_VENUE = 3
IN_FLIGHT_S = 0.6  # the venues accept an order, then wait this long before answering


async def _wait_polling(worker: WorkerProcess) -> None:
    async def up() -> bool:
        return "worker polling" in worker.output()

    await eventually(up, timeout=60, interval=0.05)


async def _phase(st: Stack, v: Venues, tr: LiveTrader) -> str:
    """Where this trader's running decision is, as seen from the database and the venue."""
    async with st.deps.sessions() as s:
        running = await s.scalar(
            select(DecisionRecord)
            .where(DecisionRecord.account_id == tr.tid, DecisionRecord.completed_at.is_(None))
            .order_by(DecisionRecord.seq.desc())
            .limit(1)
        )
        if running is None:
            return "idle"
        orders = list(
            await s.scalars(select(OrderRecord).where(OrderRecord.decision_id == running.id))
        )
    if not orders:
        return "before the order"
    at_venue = venue_orders(v, tr)
    if any(o.status == "intent" for o in orders):
        if any(at_venue[venue_id(tr, o.client_order_id)] for o in orders):
            return "accepted by the venue, activity not completed"
        return "order not yet at the venue (sending)"
    return "during recording"


async def _fire(st: Stack, tr: LiveTrader, fire_id: str) -> None:
    h = st.client.get_workflow_handle(f"trader-{tr.tid}")
    for _ in range(2):  # the same fire delivered twice must yield one decision
        await h.signal("signal_fired", {"fire_id": fire_id, "symbol": "BTC"})


async def test_sigkill_worker_at_random_points(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    hl, bn = HyperliquidEmulator(), BinanceEmulator()
    hl.unique_cloids = False  # a duplicate submission must show, not be refused
    hl.faults.inject("delay_after", "order", times=1 << 30, delay_s=IN_FLIGHT_S)
    bn.faults.inject("delay_after", "POST /fapi/v1/order", times=1 << 30, delay_s=IN_FLIGHT_S)
    settings = make_settings(
        temporal_address, sqlite_url, exchange_timeout_seconds=5.0, order_resolve_seconds=120
    )
    rng = random.Random(20261124)
    started = time.monotonic()
    with serving(hl.app) as hs, serving(bn.app) as bs:
        v = Venues(hl, hs.url, bn, bs.url)
        async with full_stack(None, settings, worker=False) as st:
            worker = WorkerProcess(settings)
            worker.start()
            try:
                prog = (await st.create_program(TOGGLE, "toggle"))["id"]
                traders = [
                    await connect_trader(st, v, venue, prog, name=f"{venue}-{i}")
                    for venue in ("hyperliquid", "binance")
                    for i in range(TRADERS_PER_VENUE)
                ]
                fires: dict[int, list[str]] = {tr.tid: [] for tr in traders}
                phases: Counter[str] = Counter()
                await _wait_polling(worker)
                for k in range(KILLS):
                    for tr in traders[k % 2 :: 2]:  # half the traders get a new fire each round
                        fire_id = f"chaos-{tr.tid}-{k}"
                        fires[tr.tid].append(fire_id)
                        await _fire(st, tr, fire_id)
                    await asyncio.sleep(rng.uniform(0.5, 3.0))
                    for tr in traders:
                        phases[await _phase(st, v, tr)] += 1
                    worker.kill()
                    worker = WorkerProcess(settings)
                    worker.start()
                    await _wait_polling(worker)
                kills_done = time.monotonic() - started

                async def all_decided() -> bool:
                    async with st.deps.sessions() as s:
                        rows = list(await s.scalars(select(DecisionRecord)))
                    done = Counter(
                        (r.account_id, r.trigger_context.get("fire_id"))
                        for r in rows
                        if r.completed_at is not None
                    )
                    return all(done[(tid, f)] for tid, fs in fires.items() for f in fs)

                await eventually(all_decided, timeout=300, interval=0.5)
                await asyncio.sleep(1.0)  # let the last decisions' bookkeeping settle
                async with st.deps.sessions() as s:
                    rows = list(await s.scalars(select(DecisionRecord)))
                per_fire = Counter((r.account_id, r.trigger_context.get("fire_id")) for r in rows)
                assert all(n == 1 for n in per_fire.values()), per_fire  # recorded once
                assert sum(per_fire.values()) == sum(len(f) for f in fires.values())
                assert not [r for r in rows if r.error_code == "ORDER_UNKNOWN"]
                statuses = Counter(r.status for r in rows)
                duplicates = 0
                for tr in traders:
                    duplicates += await check_converged(st, v, tr)
                legs = sum(len(venue_orders(v, tr)) for tr in traders)
            finally:
                worker.stop()
    print(
        f"\n[reliability] worker SIGKILLs survived={KILLS}, decisions={len(rows)} {dict(statuses)}"
        f", venue orders={legs}, duplicates={duplicates}, kill points={dict(phases)}"
        f", kills phase {kills_done:.0f}s, total {time.monotonic() - started:.0f}s"
    )
