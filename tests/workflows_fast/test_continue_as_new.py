"""A trader's run hands over to a new one (continue-as-new) when its history grows long or it
goes idle after work; nothing waiting is lost or run twice, and the new run starts small."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from domain.contracts import Activity, RunPromptInput, StrategyOutput, TraderConfig
from domain.trader import TriggerRequest
from tests.workflows_fast.conftest import Harness
from tests.workflows_fast.fakes import PROMPT_BINDING, hold


async def test_pending_fires_carry_over_to_the_next_run_and_run_once(fast: Harness) -> None:
    first_answer = asyncio.Event()

    async def model(req: RunPromptInput) -> StrategyOutput:
        if req.decision_id == "dec-7-1":
            await first_answer.wait()  # the other fires queue meanwhile
        return hold()

    fast.fakes.config = lambda req: TraderConfig(
        account_id=req.account_id, found=True, bindings=[PROMPT_BINDING]
    )
    fast.fakes.prompt = model
    # A history this short is over the limit after one decision: the rest carry over.
    h = await fast.start_trader(continue_as_new_events=20)
    await h.signal("signal_fired", {"fire_id": "f1"})
    await fast.fakes.called(Activity.RUN_PROMPT)
    for i in range(2, 6):
        await h.signal("signal_fired", {"fire_id": f"f{i}"})
    await fast.status_until(h, lambda s: s.pending_triggers == 4)
    first_answer.set()
    finished = await fast.fakes.called(Activity.FINISH_DECISION, 5)
    assert [f.trigger_context["fire_id"] for f in finished] == ["f1", "f2", "f3", "f4", "f5"]
    assert [f.seq for f in finished] == [1, 2, 3, 4, 5]
    runs = {g.run_id for g in fast.fakes.inputs(Activity.GATHER_CONTEXT)}
    assert len(runs) >= 2  # the queue was carried over, not drained in one run


async def test_a_manual_trigger_is_answered_by_the_run_it_entered(fast: Harness) -> None:
    h = await fast.start_trader(continue_as_new_events=20)
    outs = [await fast.trigger(h, TriggerRequest(context={"n": n})) for n in range(4)]
    assert [o.status for o in outs] == ["hold"] * 4
    assert [o.seq for o in outs] == [1, 2, 3, 4]
    runs = [g.run_id for g in fast.fakes.inputs(Activity.GATHER_CONTEXT)]
    assert len(set(runs)) >= 2 and (await fast.status(h)).decisions_made == 4


async def test_a_trigger_retried_after_continue_as_new_gets_its_first_decision(
    fast: Harness,
) -> None:
    h = await fast.start_trader(continue_as_new_events=20)
    first_run = await fast.run_id(h)
    first = await fast.trigger(h, update_id="client-retry-1")
    await fast.trigger(h)  # past the history limit: the run continues as new
    assert await fast.run_id(h) != first_run
    retried = await fast.trigger(h, update_id="client-retry-1")
    assert retried == first  # remembered across the hop, not decided again
    assert len(fast.fakes.finished) == 2


async def test_an_idle_trader_continues_as_new_without_repeating_its_start(
    fast: Harness,
) -> None:
    h = await fast.start_trader(idle_continue_as_new_seconds=60)
    assert (await fast.trigger(h)).status == "hold"
    first = await fast.run_id(h)
    await fast.skip(timedelta(seconds=90))
    assert await fast.run_id(h) != first
    # The new run took the configuration with it: no second load, no second start sync.
    assert len(fast.fakes.inputs(Activity.LOAD_CONFIG)) == 1
    assert [s.reason for s in fast.fakes.inputs(Activity.SYNC_ACCOUNT)] == ["start"]
    out = await fast.trigger(h)  # and it decides with the carried numbering
    assert out.status == "hold" and out.decision_id == "dec-7-2"
    status = await fast.status(h)
    assert status.decisions_made == 2 and status.next_seq == 3


async def test_a_continued_run_with_nothing_to_shed_stays(fast: Harness) -> None:
    h = await fast.start_trader(idle_continue_as_new_seconds=60)
    await fast.trigger(h)
    await fast.skip(timedelta(seconds=90))
    second = await fast.run_id(h)
    await fast.skip(timedelta(minutes=10))  # ten idle periods, two reconciliations
    assert await fast.run_id(h) == second


async def test_a_run_of_reconciliations_alone_sheds_once_its_history_is_long(
    fast: Harness,
) -> None:
    h = await fast.start_trader(idle_continue_as_new_seconds=60)
    await fast.trigger(h)
    await fast.skip(timedelta(seconds=90))
    second = await fast.run_id(h)
    await fast.skip(timedelta(hours=2))  # a reconciliation every 5 minutes
    assert await fast.run_id(h) != second
    assert len(fast.fakes.inputs(Activity.LOAD_CONFIG)) == 1


async def test_zero_turns_idle_continue_as_new_off(fast: Harness) -> None:
    h = await fast.start_trader(idle_continue_as_new_seconds=0)
    await fast.trigger(h)
    first = await fast.run_id(h)
    await fast.skip(timedelta(hours=1))
    assert await fast.run_id(h) == first


async def test_a_paused_state_survives_the_idle_hop(fast: Harness) -> None:
    h = await fast.start_trader(idle_continue_as_new_seconds=60)
    await fast.trigger(h)
    await h.signal("pause", {"reason": "keep me"})
    await fast.status_until(h, lambda s: s.paused)
    first = await fast.run_id(h)
    await fast.skip(timedelta(seconds=150))
    assert await fast.run_id(h) != first
    status = await fast.status(h)
    assert status.paused and status.pause_reason == "keep me"
