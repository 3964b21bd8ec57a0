"""Decided once, seen from the workflow: when a lost workflow task already made (or numbered)
this trigger's decision, the steps report it and the workflow carries out the first one."""

from __future__ import annotations

from decimal import Decimal

from domain.contracts import (
    Activity,
    ContextSummary,
    DecisionOutcome,
    FinishDecisionInput,
    GatherContextInput,
    RecordIntentsInput,
    RecordIntentsResult,
)
from domain.risk import DenyReason, RiskVerdict
from tests.workflows_fast.conftest import Harness
from tests.workflows_fast.fakes import healthy_context, long_btc


async def test_a_decision_an_earlier_attempt_numbered_keeps_its_number(fast: Harness) -> None:
    def numbered_before(req: GatherContextInput) -> ContextSummary:
        return healthy_context(req).model_copy(update={"seq": 5, "decision_id": "dec-7-5"})

    fast.fakes.gather = numbered_before
    h = await fast.start_trader()
    out = await fast.trigger(h)
    assert out.decision_id == "dec-7-5" and out.seq == 5, out
    (finish,) = fast.fakes.finished
    assert finish.decision_id == "dec-7-5" and finish.seq == 5
    assert (await fast.status(h)).next_seq == 6  # the next decision takes the next free number


async def test_a_decision_an_earlier_attempt_finished_is_only_answered(fast: Harness) -> None:
    recorded = DecisionOutcome(decision_id="dec-7-1", seq=1, status="executed")

    def finished_before(req: GatherContextInput) -> ContextSummary:
        return healthy_context(req).model_copy(update={"completed": True})

    def answers_the_record(req: FinishDecisionInput) -> DecisionOutcome:
        return recorded

    fast.fakes.gather = finished_before
    fast.fakes.finish = answers_the_record
    h = await fast.start_trader()
    out = await fast.trigger(h)
    assert out == recorded  # the outcome recorded first, not a second one
    assert fast.fakes.inputs(Activity.RUN_PROGRAM) == []
    assert fast.fakes.inputs(Activity.PLACE_ORDER) == []
    (finish,) = fast.fakes.finished
    assert finish.error_code == "DECISION_INTERRUPTED"


async def test_the_intents_an_earlier_attempt_recorded_are_the_ones_placed(
    fast: Harness,
) -> None:
    def recorded_before(req: RecordIntentsInput) -> RecordIntentsResult:
        first = [i.model_copy(update={"size_usd": Decimal(150)}) for i in req.intents]
        return RecordIntentsResult(recorded=0, verdict=RiskVerdict.ok("first"), intents=first)

    fast.fakes.program = lambda _: long_btc(size="300")
    fast.fakes.intents = recorded_before
    h = await fast.start_trader()
    out = await fast.trigger(h)
    assert out.status == "executed", out
    (placed,) = fast.fakes.inputs(Activity.PLACE_ORDER)
    assert placed.size_usd == Decimal(150)
    assert out.risk_verdict is not None and out.risk_verdict.message == "first"


async def test_intents_of_a_decision_already_finished_are_not_placed_again(
    fast: Harness,
) -> None:
    def finished_before(req: RecordIntentsInput) -> RecordIntentsResult:
        return RecordIntentsResult(
            recorded=0, verdict=req.verdict, intents=req.intents, completed=True
        )

    fast.fakes.program = lambda _: long_btc()
    fast.fakes.intents = finished_before
    h = await fast.start_trader()
    await fast.trigger(h)
    assert fast.fakes.inputs(Activity.PLACE_ORDER) == []


async def test_intents_an_earlier_attempt_recorded_as_denied_are_not_placed(
    fast: Harness,
) -> None:
    denied = RiskVerdict.deny(DenyReason.TRADING_HALTED, "trader was paused")

    def denied_before(req: RecordIntentsInput) -> RecordIntentsResult:
        return RecordIntentsResult(recorded=0, verdict=denied, intents=req.intents)

    fast.fakes.program = lambda _: long_btc()
    fast.fakes.intents = denied_before
    h = await fast.start_trader()
    out = await fast.trigger(h)
    assert out.status == "denied" and out.risk_verdict == denied, out
    assert fast.fakes.inputs(Activity.PLACE_ORDER) == []


async def test_a_decision_recorded_under_a_later_number_moves_the_next_one_on(
    fast: Harness,
) -> None:
    def recorded_later(req: FinishDecisionInput) -> DecisionOutcome:
        return DecisionOutcome(decision_id="dec-7-3", seq=3, status=req.status)

    fast.fakes.finish = recorded_later
    h = await fast.start_trader()
    out = await fast.trigger(h)
    assert out.decision_id == "dec-7-3" and out.decision is not None  # the workflow's own
    assert (await fast.status(h)).next_seq == 4
