"""A trader idle after running steps continues as new: a small run that still trades right,
with the API, configuration and database behind it."""

from __future__ import annotations

from sqlalchemy import select
from temporalio.client import Client, WorkflowHandle

from db.models import DecisionRecord
from tests import programs
from tests.support.stack import Stack, full_stack, make_settings
from tests.support.waiting import eventually


async def _run_ids(st: Stack, tid: int) -> list[str]:
    runs = [w async for w in st.client.list_workflows(f"WorkflowId = 'trader-{tid}'")]
    return [r.run_id for r in sorted(runs, key=lambda r: r.start_time)]


async def _next_run(handle: WorkflowHandle, after: str) -> str:
    async def moved() -> bool:
        return (await handle.describe()).run_id != after

    await eventually(moved, timeout=30)
    return (await handle.describe()).run_id


async def _event_names(st: Stack, tid: int, run_id: str) -> list[str]:
    h = st.client.get_workflow_handle(f"trader-{tid}", run_id=run_id)
    history = await h.fetch_history()
    names = []
    for e in history.events:
        name: str = e.WhichOneof("attributes") or ""
        if e.HasField("marker_recorded_event_attributes"):
            name = e.marker_recorded_event_attributes.marker_name
        names.append(name)
    return names


async def _hold_trader(st: Stack) -> tuple[int, WorkflowHandle, str]:
    """A trader with a HOLD program and one decision taken; returns its id, handle, run id."""
    tid = int((await st.create_trader(trading_enabled=True))["account_id"])
    await st.bind(tid, (await st.create_program(programs.HOLD))["id"])
    handle = st.client.get_workflow_handle(f"trader-{tid}")
    run_id = (await handle.describe()).run_id
    assert (await st.post(f"/api/account/{tid}/trigger")).json()["status"] == "hold"
    return tid, handle, run_id


async def test_idle_trader_continues_as_new_and_keeps_trading(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    settings = make_settings(temporal_address, sqlite_url, idle_continue_as_new_seconds=1)
    async with full_stack(None, settings) as st:
        tid, handle, first = await _hold_trader(st)

        second = await _next_run(handle, first)
        # The continued run did not repeat the start: no configuration load, no start sync,
        # no patch markers; only a timer (the next reconciliation) is open.
        events = await _event_names(st, tid, second)
        assert "core_local_activity" not in events and "core_patch" not in events, events
        # That such a run then stays (nothing to shed), and that 0 turns the hop off, is
        # checked on the time-skipping server: tests/workflows_fast/test_continue_as_new.py.

        # The carried configuration and sequence still drive decisions in the new run.
        r = (await st.post(f"/api/account/{tid}/trigger")).json()
        assert r["status"] == "hold" and r["decision_id"] == f"dec-{tid}-2", r
        third = await _next_run(handle, second)
        status = await handle.query("status")
        assert status["decisions_made"] == 2 and status["next_seq"] == 3
        assert status["status"] == "Active" and status["paused"] is False

        # Pause and a new binding reach a continued run; both survive the next hop.
        await st.post(f"/api/account/{tid}/pause", json={"reason": "keep me"})
        await st.bind(tid, (await st.create_program(programs.ALWAYS_LONG, name="q"))["id"])
        await _next_run(handle, third)
        status = await handle.query("status")
        assert status["paused"] is True and status["pause_reason"] == "keep me"
        await st.post(f"/api/account/{tid}/resume")
        bindings = (await st.api.get(f"/api/account/{tid}/bindings")).json()
        newest = max(b["id"] for b in bindings)
        body = {"binding_id": newest}
        r = (await st.post(f"/api/account/{tid}/trigger", json=body)).json()
        assert r["status"] == "executed", r  # the binding loaded after the hop: a long
        async with st.deps.sessions() as s:
            seqs = sorted(
                await s.scalars(select(DecisionRecord.seq).where(DecisionRecord.account_id == tid))
            )
        assert seqs == list(range(1, len(seqs) + 1)) and len(seqs) == 3
        assert len(await _run_ids(st, tid)) >= 4
