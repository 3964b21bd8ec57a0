"""A manual order survives its worker being SIGKILLed mid-order: the API's request is answered
once the restarted worker has run the order's decision again, and there is exactly one decision
and one order per Idempotency-Key, and the position holds exactly what was filled."""

from __future__ import annotations

import asyncio
import random
from decimal import Decimal

from sqlalchemy import select
from temporalio.client import Client

from db.models import DecisionRecord, OrderRecord, TradeRecord
from tests.support.stack import full_stack, make_settings
from tests.support.waiting import eventually
from tests.support.worker_proc import WorkerProcess

KILLS = 3
BURST = 4  # orders in flight when the worker dies


async def test_a_worker_killed_mid_order_leaves_one_order_per_key(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    rng = random.Random(20261209)
    settings = make_settings(temporal_address, sqlite_url)
    async with full_stack(None, settings, worker=False) as st:
        worker = WorkerProcess(settings)
        worker.start()
        try:
            tid = (
                await st.create_trader(trading_enabled=True, max_position_notional_usd="100000")
            )["account_id"]

            async def polling() -> bool:
                return "worker polling" in worker.output()

            await eventually(polling, timeout=60, interval=0.05)
            answers = []
            for k in range(KILLS):
                body = {"account_id": tid, "symbol": "BTC", "side": "buy",
                        "order_type": "market", "quantity": "0.001"}  # fmt: skip
                calls = asyncio.gather(
                    *(
                        st.post("/api/orders/create", body, headers={"Idempotency-Key": f"{k}-{i}"})
                        for i in range(BURST)
                    )
                )
                await asyncio.sleep(rng.uniform(0.1, 1.0))
                worker.kill()
                worker = WorkerProcess(settings)
                worker.start()
                for r in await asyncio.wait_for(calls, timeout=240):
                    assert r.status_code == 200, r.text
                    answers.append(r.json())
        finally:
            worker.stop()
        async with st.deps.sessions() as s:
            decisions = list(
                await s.scalars(select(DecisionRecord).where(DecisionRecord.account_id == tid))
            )
            orders = list(await s.scalars(select(OrderRecord)))
            trades = list(await s.scalars(select(TradeRecord)))
        keys = [d.trigger_key for d in decisions]
        assert sorted(keys) == sorted(f"manual-{k}-{i}" for k in range(KILLS) for i in range(BURST))
        assert len(orders) == KILLS * BURST == len({a["id"] for a in answers})
        assert all(o.status == "filled" for o in orders) and len(trades) == len(orders)
        (position,) = (await st.api.get(f"/api/account/{tid}/positions")).json()["positions"]
        assert Decimal(position["size"]) == Decimal("0.001") * KILLS * BURST
