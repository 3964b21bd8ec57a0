"""What the trader does with each order outcome: filled, rejected, unknown then settled by a
lookup, or unknown for good (the trader halts new entries until an operator resumes it)."""

from __future__ import annotations

from typing import Any

from temporalio.client import WorkflowHandle
from temporalio.exceptions import ApplicationError

from domain.contracts import Activity, ResolveOrderInput
from domain.orders import OrderIntent, OrderOutcome, OrderStatus
from domain.trader import TraderStatus
from tests.workflows_fast.conftest import Harness
from tests.workflows_fast.fakes import filled, holding_btc, long_btc, with_status

LOST = with_status(OrderStatus.UNKNOWN, "answer lost after sending")


async def _halted(fast: Harness) -> WorkflowHandle[Any, Any]:
    """A trader whose entry stayed unknown after the lookups: halted."""
    fast.fakes.program = lambda _: long_btc()
    fast.fakes.place = LOST
    fast.fakes.resolve = lambda req: LOST(req.intent)
    h = await fast.start_trader()
    out = await fast.trigger(h)
    assert out.status == "failed" and out.error_code == "ORDER_UNKNOWN", out
    return h


async def test_a_rejected_order_fails_the_decision_without_a_lookup(fast: Harness) -> None:
    fast.fakes.program = lambda _: long_btc()
    fast.fakes.place = with_status(OrderStatus.REJECTED, "insufficient margin")
    h = await fast.start_trader()
    out = await fast.trigger(h)
    assert out.status == "failed" and out.error_code == "ORDER_REJECTED", out
    assert out.error == "ho-7-1-entry: insufficient margin"
    assert fast.fakes.inputs(Activity.RESOLVE_ORDER) == []
    status = await fast.status(h)
    assert status.status is TraderStatus.ERROR and not status.halted


async def test_an_unknown_order_resolved_by_lookup_is_executed(fast: Harness) -> None:
    fast.fakes.program = lambda _: long_btc()
    fast.fakes.place = LOST
    h = await fast.start_trader()
    out = await fast.trigger(h)
    assert out.status == "executed", out
    assert [o.status for o in out.orders] == [OrderStatus.FILLED]
    (lookup,) = fast.fakes.inputs(Activity.RESOLVE_ORDER)
    assert lookup.intent.client_order_id == "ho-7-1-entry"
    assert lookup.reason == "answer lost after sending"
    assert len(fast.fakes.inputs(Activity.PLACE_ORDER)) == 1  # looked up, never resent
    assert not (await fast.status(h)).halted


async def test_an_order_whose_step_fails_is_looked_up_not_resent(fast: Harness) -> None:
    def venue_down(_: OrderIntent) -> OrderOutcome:
        raise ApplicationError("venue unreachable", non_retryable=True)

    fast.fakes.program = lambda _: long_btc()
    fast.fakes.place = venue_down
    h = await fast.start_trader()
    out = await fast.trigger(h)
    assert out.status == "executed", out
    (lookup,) = fast.fakes.inputs(Activity.RESOLVE_ORDER)
    assert lookup.reason == "venue unreachable"
    assert len(fast.fakes.inputs(Activity.PLACE_ORDER)) == 1


async def test_an_order_still_unknown_after_lookups_halts_the_trader(fast: Harness) -> None:
    h = await _halted(fast)
    (finish,) = fast.fakes.finished
    assert finish.trader_status == "Error" and finish.error is not None
    assert finish.error.startswith("order outcome unknown after lookups, check the exchange")
    status = await fast.status(h)
    assert status.halted and status.halt_reason.startswith("ORDER_UNKNOWN: ")
    assert status.status is TraderStatus.ERROR


async def test_an_order_whose_lookup_fails_halts_the_trader(fast: Harness) -> None:
    def lookups_fail(_: ResolveOrderInput) -> OrderOutcome:
        raise ApplicationError("still no answer at the bound", non_retryable=True)

    fast.fakes.program = lambda _: long_btc()
    fast.fakes.place = LOST
    fast.fakes.resolve = lookups_fail
    h = await fast.start_trader()
    out = await fast.trigger(h)
    assert out.error_code == "ORDER_UNKNOWN" and "still no answer" in (out.error or ""), out
    assert (await fast.status(h)).halted


async def test_a_halted_trader_denies_new_entries(fast: Harness) -> None:
    h = await _halted(fast)
    out = await fast.trigger(h)
    assert out.status == "denied", out
    assert out.risk_verdict is not None and out.risk_verdict.code == "TRADING_HALTED"
    assert len(fast.fakes.inputs(Activity.PLACE_ORDER)) == 1  # only the first, lost one


async def test_a_halted_trader_still_closes(fast: Harness) -> None:
    h = await _halted(fast)
    fast.fakes.gather = holding_btc
    fast.fakes.place = filled
    (out,) = await fast.close(h, "BTC")
    assert out.status == "executed", out
    assert [o.client_order_id for o in out.orders] == ["ho-7-2-close"]
    assert (await fast.status(h)).halted  # a close does not clear the halt


async def test_resume_clears_the_halt_records_it_and_reconciles(fast: Harness) -> None:
    h = await _halted(fast)
    fast.fakes.place = filled
    await h.signal("resume")
    (note,) = await fast.fakes.called(Activity.RECORD_NOTE)
    assert note.status == "resumed" and note.trigger_type == "resume"
    syncs = await fast.fakes.called(Activity.SYNC_ACCOUNT, 2)
    assert [s.reason for s in syncs] == ["start", "resume"]
    status = await fast.status(h)
    assert not status.halted and status.halt_reason == ""
    assert status.status is TraderStatus.ACTIVE
    assert (await fast.trigger(h)).status == "executed"
