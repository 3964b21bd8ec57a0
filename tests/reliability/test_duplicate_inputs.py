"""Duplicates of input are harmless: the same fire twice, a manual trigger retried by a client
(same idempotency key, also after continue-as-new), an update resent with the same id: each
yields one decision."""

from __future__ import annotations

from sqlalchemy import func, select
from temporalio.client import Client

from db.models import DecisionRecord
from domain.contracts import DecisionOutcome
from domain.trader import TriggerRequest
from tests import programs
from tests.support.stack import full_stack, make_settings
from tests.support.waiting import eventually


async def test_duplicate_inputs_yield_one_decision(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    settings = make_settings(temporal_address, sqlite_url, continue_as_new_events=50)
    async with full_stack(None, settings) as st:
        tid = (await st.create_trader(trading_enabled=True))["account_id"]
        await st.bind(tid, (await st.create_program(programs.HOLD))["id"])
        h = st.client.get_workflow_handle(f"trader-{tid}")
        key = {"Idempotency-Key": "client-retry-1"}
        first = (await st.post(f"/api/account/{tid}/trigger", headers=key)).json()
        retried = (await st.post(f"/api/account/{tid}/trigger", headers=key)).json()
        assert first["status"] == "hold" and retried["decision_id"] == first["decision_id"]

        # An update resent after a client-side timeout carries the same update id.
        one = await h.execute_update(
            "trigger", TriggerRequest(), id="upd-1", result_type=DecisionOutcome
        )
        two = await h.execute_update(
            "trigger", TriggerRequest(), id="upd-1", result_type=DecisionOutcome
        )
        assert one.decision_id == two.decision_id

        first_run = (await h.describe()).run_id
        for i in range(6):  # each fire delivered twice; enough work for continue-as-new hops
            for _ in range(2):
                await h.signal("signal_fired", {"fire_id": f"dup-{i}"})

        async def hopped() -> bool:
            status = await h.query("status")
            return status["decisions_made"] >= 2 and (await h.describe()).run_id != first_run

        await eventually(hopped, timeout=120)

        async def settled() -> bool:
            async with st.deps.sessions() as s:
                n = await s.scalar(
                    select(func.count())
                    .select_from(DecisionRecord)
                    .where(DecisionRecord.account_id == tid)
                )
            return n == 8

        await eventually(settled, timeout=120)
        # The client retries once more, after the trader continued as new: same decision.
        late = (await st.post(f"/api/account/{tid}/trigger", headers=key)).json()
        assert late["decision_id"] == first["decision_id"], late
        async with st.deps.sessions() as s:
            rows = list(
                await s.scalars(select(DecisionRecord).where(DecisionRecord.account_id == tid))
            )
        fires = sorted(r.trigger_context.get("fire_id") for r in rows if r.trigger_type == "signal")
        assert fires == [f"dup-{i}" for i in range(6)]
        assert len(rows) == 8  # 2 manual + 6 fires: no duplicate decision
