"""Pause stops new entries at once, even mid-decision; the owner's closes still run; resume
reconciles with the exchange before the next decision."""

from __future__ import annotations

import asyncio

import pytest
from temporalio.client import WorkflowUpdateFailedError

from domain.contracts import Activity, RunPromptInput, StrategyOutput, TraderConfig
from domain.trader import TraderStatus
from tests.workflows_fast.conftest import Harness
from tests.workflows_fast.fakes import PROMPT_BINDING, holding_btc, long_btc


async def test_a_pause_that_lands_mid_decision_denies_its_entry(fast: Harness) -> None:
    released = asyncio.Event()

    async def slow_model(_: RunPromptInput) -> StrategyOutput:
        await released.wait()
        return long_btc()

    # A prompt strategy: its model call is a normal activity, so the pause is handled while
    # the decision waits for it (a local step would hold the workflow task until it returns).
    fast.fakes.config = lambda req: TraderConfig(
        account_id=req.account_id, found=True, bindings=[PROMPT_BINDING]
    )
    fast.fakes.prompt = slow_model
    h = await fast.start_trader()
    decision = asyncio.create_task(fast.trigger(h))
    await fast.fakes.called(Activity.RUN_PROMPT)
    await h.signal("pause", {"reason": "owner stepped in"})
    await fast.status_until(h, lambda s: s.paused)
    released.set()
    out = await decision
    assert out.status == "denied", out
    assert out.risk_verdict is not None and out.risk_verdict.code == "TRADING_HALTED"
    assert fast.fakes.inputs(Activity.RECORD_INTENTS) == []
    assert fast.fakes.inputs(Activity.PLACE_ORDER) == []
    (finish,) = fast.fakes.finished
    assert finish.trader_status == "Paused" and finish.paused


async def test_a_manual_trigger_while_paused_is_refused_before_it_is_queued(
    fast: Harness,
) -> None:
    h = await fast.start_trader(paused=True)
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await fast.trigger(h)
    assert "trader is paused" in str(err.value.cause)
    status = await fast.status(h)
    assert status.pending_triggers == 0 and status.decisions_made == 0
    assert fast.fakes.inputs(Activity.GATHER_CONTEXT) == []


async def test_a_fire_while_paused_is_recorded_as_ignored(fast: Harness) -> None:
    h = await fast.start_trader(paused=True)
    await h.signal("signal_fired", {"fire_id": "f1", "pool_id": 3, "symbol": "BTC"})
    (note,) = await fast.fakes.called(Activity.RECORD_NOTE)
    assert note.status == "ignored" and note.trigger_type == "signal"
    assert note.context["pool_id"] == 3 and note.error == "trader paused"
    assert fast.fakes.inputs(Activity.GATHER_CONTEXT) == []


async def test_the_owners_close_runs_while_paused(fast: Harness) -> None:
    fast.fakes.gather = holding_btc
    h = await fast.start_trader(paused=True)
    (out,) = await fast.close(h, "BTC")
    assert out.status == "executed", out
    assert out.decision is not None and out.decision.operation == "close"
    (order,) = fast.fakes.inputs(Activity.PLACE_ORDER)
    assert order.reduce_only and order.side == "sell"
    assert fast.fakes.inputs(Activity.RUN_PROGRAM) == []  # the owner's decision, not asked
    assert (await fast.status(h)).status is TraderStatus.PAUSED


async def test_resume_after_a_pause_reconciles_before_the_next_decision(fast: Harness) -> None:
    h = await fast.start_trader(paused=True)
    await h.signal("resume")
    syncs = await fast.fakes.called(Activity.SYNC_ACCOUNT, 2)
    assert [s.reason for s in syncs] == ["start", "resume"]
    assert (await fast.trigger(h)).status == "hold"
    names = [name for name, _ in fast.fakes.calls]
    assert names.index(Activity.SYNC_ACCOUNT, 1) < names.index(Activity.GATHER_CONTEXT)
    assert (await fast.status(h)).status is TraderStatus.ACTIVE
