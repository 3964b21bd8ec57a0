"""A PostgreSQL outage while a paper trader decides and records: once the database is back,
every fire has exactly one recorded decision, every filled order its fill, and the paper
positions equal the recorded fills (no drift found by reconciliation)."""

from __future__ import annotations

import asyncio
from collections import Counter
from decimal import Decimal

import pytest
from sqlalchemy import select
from temporalio.client import Client

from db.migrate import upgrade
from db.models import DecisionRecord, OrderRecord, ReconciliationEvent, TradeRecord
from tests.reliability.venues import TOGGLE
from tests.support import postgres
from tests.support.stack import full_stack, make_settings
from tests.support.waiting import eventually

FIRES = 8
OUTAGE_S = 5.0


@pytest.mark.skipif(not postgres.available(), reason="PostgreSQL server binaries not installed")
async def test_database_outage_during_recording(
    temporal_client: Client, temporal_address: str
) -> None:
    # Durable settings: the outage is a crash (immediate stop), and a crash must not lose a
    # commit the server acknowledged (the fast test clusters run with fsync off).
    with postgres.controllable_cluster(durable=True) as cluster:
        url = postgres.create_database(cluster.url)
        upgrade(url)
        async with full_stack(None, make_settings(temporal_address, url)) as st:
            tid = (await st.create_trader(symbols=["BTC"]))["account_id"]
            await st.bind(tid, (await st.create_program(TOGGLE, "toggle"))["id"])
            assert (await st.post(f"/api/account/{tid}/start")).status_code == 200
            h = st.client.get_workflow_handle(f"trader-{tid}")
            for i in range(FIRES):
                for _ in range(2):
                    await h.signal("signal_fired", {"fire_id": f"db-{i}", "symbol": "BTC"})

            outages = 0
            for wanted in (1, FIRES // 2):

                async def started(n: int = wanted) -> bool:
                    async with st.deps.sessions() as s:
                        rows = list(
                            await s.scalars(
                                select(DecisionRecord.seq).where(DecisionRecord.account_id == tid)
                            )
                        )
                    return len(rows) >= n

                await eventually(started, timeout=120)
                await asyncio.to_thread(cluster.stop)  # mid-decision: writes now fail
                outages += 1
                await asyncio.sleep(OUTAGE_S)
                await asyncio.to_thread(cluster.start)

            async def all_recorded() -> bool:
                async with st.deps.sessions() as s:
                    rows = list(
                        await s.scalars(
                            select(DecisionRecord).where(DecisionRecord.account_id == tid)
                        )
                    )
                return len(rows) == FIRES and all(r.completed_at for r in rows)

            await eventually(all_recorded, timeout=240, interval=0.5)
            async with st.deps.sessions() as s:
                rows = list(
                    await s.scalars(select(DecisionRecord).where(DecisionRecord.account_id == tid))
                )
                orders = list(
                    await s.scalars(select(OrderRecord).where(OrderRecord.account_id == tid))
                )
                trades = list(
                    await s.scalars(select(TradeRecord).where(TradeRecord.account_id == tid))
                )
                drift = list(
                    await s.scalars(
                        select(ReconciliationEvent).where(
                            ReconciliationEvent.kind == "position_drift"
                        )
                    )
                )
            per_fire = Counter(r.trigger_context.get("fire_id") for r in rows)
            assert set(per_fire) == {f"db-{i}" for i in range(FIRES)}
            assert all(n == 1 for n in per_fire.values()), per_fire
            statuses = Counter(
                f"{r.status}:{r.error_code}" if r.error_code else r.status for r in rows
            )
            filled = [o for o in orders if o.status == "filled"]
            assert sorted(t.client_order_id or "" for t in trades) == sorted(
                o.client_order_id for o in filled
            )  # every filled order has exactly one fill, no fill without its order
            executed = {r.id for r in rows if r.status == "executed"}
            assert {o.decision_id for o in filled} == executed
            net = sum((t.size if t.side == "buy" else -t.size for t in trades), Decimal(0))
            positions = (await st.api.get(f"/api/account/{tid}/positions")).json()["positions"]
            held = sum(
                (Decimal(p["size"]) * (1 if p["side"] == "long" else -1) for p in positions),
                Decimal(0),
            )
            assert held == net and not drift
    print(
        f"\n[reliability] database outages={outages} x {OUTAGE_S:.0f}s, decisions="
        f"{dict(statuses)}, lost=0, duplicated=0"
    )
