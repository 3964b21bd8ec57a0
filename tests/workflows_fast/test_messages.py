"""One rule for every message to a trader: a malformed one is recorded as rejected and has no
effect. A fire delivered twice yields one decision; `stop` ends only a deleted trader's run."""

from __future__ import annotations

from temporalio.client import WorkflowExecutionStatus

from domain.contracts import Activity, TraderConfig
from domain.trader import TraderStatus
from tests.workflows_fast.conftest import Harness


async def test_a_malformed_pause_is_rejected_and_does_not_pause(fast: Harness) -> None:
    h = await fast.start_trader()
    await h.signal("pause", {"reason": ["not", "a", "string"]})
    (note,) = await fast.fakes.called(Activity.RECORD_NOTE)
    assert note.status == "rejected_input" and note.trigger_type == "pause"
    assert "reason" in note.error
    status = await fast.status(h)
    assert not status.paused and status.status is TraderStatus.ACTIVE
    assert (await fast.trigger(h)).status == "hold"  # still trading


async def test_a_resume_with_a_payload_it_does_not_take_is_rejected(fast: Harness) -> None:
    h = await fast.start_trader(paused=True)
    await h.signal("resume", "now please")
    (note,) = await fast.fakes.called(Activity.RECORD_NOTE)
    assert note.status == "rejected_input" and note.trigger_type == "resume"
    assert (await fast.status(h)).paused
    assert [s.reason for s in fast.fakes.inputs(Activity.SYNC_ACCOUNT)] == ["start"]


async def test_an_unknown_signal_is_rejected(fast: Harness) -> None:
    h = await fast.start_trader()
    await h.signal("buy_everything", {"now": True})
    (note,) = await fast.fakes.called(Activity.RECORD_NOTE)
    assert note.status == "rejected_input" and "unknown signal 'buy_everything'" in note.error
    assert fast.fakes.inputs(Activity.GATHER_CONTEXT) == []


async def test_a_fire_without_its_id_is_rejected_and_decides_nothing(fast: Harness) -> None:
    h = await fast.start_trader()
    await h.signal("signal_fired", {"pool_id": 3})
    (note,) = await fast.fakes.called(Activity.RECORD_NOTE)
    assert note.status == "rejected_input" and "fire_id" in note.error
    assert fast.fakes.inputs(Activity.GATHER_CONTEXT) == []


async def test_a_fire_delivered_twice_yields_one_decision(fast: Harness) -> None:
    h = await fast.start_trader()
    for fire in ("f1", "f1", "f2"):
        await h.signal("signal_fired", {"fire_id": fire, "pool_id": 3})
    # Decisions run in arrival order: once f2's is recorded, a second f1 would have been too.
    await fast.fakes.called(Activity.FINISH_DECISION, 2)
    gathered = fast.fakes.inputs(Activity.GATHER_CONTEXT)
    assert [g.trigger_context["fire_id"] for g in gathered] == ["f1", "f2"]
    assert [g.trigger_key for g in gathered] == ["fire-f1", "fire-f2"]
    assert (await fast.status(h)).decisions_made == 2


async def test_stop_on_a_trader_that_is_not_deleted_is_rejected(fast: Harness) -> None:
    h = await fast.start_trader()
    await h.signal("stop")
    (note,) = await fast.fakes.called(Activity.RECORD_NOTE)
    assert note.status == "rejected_input" and "not deleted" in note.error
    assert (await h.describe()).status is WorkflowExecutionStatus.RUNNING
    assert (await fast.trigger(h)).status == "hold"


async def test_stop_ends_a_deleted_traders_run(fast: Harness) -> None:
    h = await fast.start_trader()
    assert (await fast.trigger(h)).status == "hold"
    fast.fakes.config = lambda req: TraderConfig(account_id=req.account_id, found=False)
    await h.signal("stop", {"left_positions": [{"symbol": "BTC"}]})
    await h.result()  # completes
    (note,) = fast.fakes.notes
    assert note.status == "deleted" and note.context["left_positions"] == [{"symbol": "BTC"}]
