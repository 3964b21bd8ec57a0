"""Each way one decision can end, seen from the trader: its status, its record, its next step.

The strategy, context and risk answers are the fakes'; the orchestration is TraderWorkflow's.
"""

from __future__ import annotations

from temporalio.exceptions import ApplicationError

from domain.contracts import (
    Activity,
    ContextSummary,
    GatherContextInput,
    StrategyOutput,
    TraderConfig,
)
from domain.trader import TraderStatus
from tests.workflows_fast.conftest import Harness
from tests.workflows_fast.fakes import PROMPT_BINDING, hold, long_btc


async def test_a_hold_is_recorded_and_places_nothing(fast: Harness) -> None:
    h = await fast.start_trader()
    out = await fast.trigger(h)
    assert out.status == "hold" and out.decision_id == "dec-7-1" and out.seq == 1
    assert fast.fakes.inputs(Activity.RECORD_INTENTS) == []
    assert fast.fakes.inputs(Activity.PLACE_ORDER) == []
    (finish,) = fast.fakes.finished
    assert finish.trader_status == "Active" and finish.trigger_type == "manual"
    status = await fast.status(h)
    assert status.status is TraderStatus.ACTIVE and status.decisions_made == 1
    assert status.next_seq == 2


async def test_an_approved_entry_records_its_intent_before_the_order(fast: Harness) -> None:
    fast.fakes.program = lambda _: long_btc()
    h = await fast.start_trader()
    out = await fast.trigger(h)
    assert out.status == "executed", out
    assert [o.client_order_id for o in out.orders] == ["ho-7-1-entry"]
    names = [name for name, _ in fast.fakes.calls]
    assert names.index(Activity.RECORD_INTENTS) < names.index(Activity.PLACE_ORDER)
    (intent,) = fast.fakes.inputs(Activity.PLACE_ORDER)
    assert intent.side == "buy" and intent.decision_id == "dec-7-1"


async def test_a_denied_decision_places_nothing_and_keeps_the_trader_active(
    fast: Harness,
) -> None:
    fast.fakes.program = lambda _: long_btc(leverage="50")  # the limits allow 10
    h = await fast.start_trader()
    out = await fast.trigger(h)
    assert out.status == "denied", out
    assert out.risk_verdict is not None and out.risk_verdict.code == "LEVERAGE_EXCEEDS_MAX"
    assert fast.fakes.inputs(Activity.RECORD_INTENTS) == []
    assert (await fast.status(h)).status is TraderStatus.ACTIVE


async def test_unavailable_context_fails_the_decision_before_the_strategy(fast: Harness) -> None:
    def no_prices(req: GatherContextInput) -> ContextSummary:
        return ContextSummary(decision_id=req.decision_id, seq=req.seq, ok=False, error="no BTC")

    fast.fakes.gather = no_prices
    h = await fast.start_trader()
    out = await fast.trigger(h)
    assert out.status == "failed" and out.error_code == "CONTEXT_UNAVAILABLE", out
    assert fast.fakes.inputs(Activity.RUN_PROGRAM) == []
    status = await fast.status(h)
    assert status.status is TraderStatus.ERROR
    assert status.last_error == "CONTEXT_UNAVAILABLE: no BTC"


async def test_a_context_step_out_of_attempts_fails_the_decision_not_the_trader(
    fast: Harness,
) -> None:
    def unreachable(_: GatherContextInput) -> ContextSummary:
        raise ApplicationError("feed unreachable", non_retryable=True)

    fast.fakes.gather = unreachable
    h = await fast.start_trader()
    for _ in range(2):  # and the trader takes the next trigger too
        out = await fast.trigger(h)
        assert out.status == "failed" and out.error_code == "MARKET_DATA_UNAVAILABLE", out
        assert out.error == "feed unreachable"
    assert (await fast.status(h)).decisions_made == 2


async def test_a_strategy_error_fails_the_decision_and_sets_last_error(fast: Harness) -> None:
    fast.fakes.program = lambda _: StrategyOutput(
        ok=False, error_code="PROGRAM_ERROR", error="boom"
    )
    h = await fast.start_trader()
    out = await fast.trigger(h)
    assert out.status == "failed" and out.error_code == "PROGRAM_ERROR", out
    (finish,) = fast.fakes.finished
    assert finish.trader_status == "Error" and finish.trader_status_reason == "PROGRAM_ERROR: boom"
    status = await fast.status(h)
    assert status.status is TraderStatus.ERROR and status.last_error == "PROGRAM_ERROR: boom"


async def test_a_later_success_clears_last_error(fast: Harness) -> None:
    fast.fakes.program = lambda _: StrategyOutput(ok=False, error_code="PROGRAM_ERROR", error="x")
    h = await fast.start_trader()
    assert (await fast.trigger(h)).status == "failed"
    fast.fakes.program = lambda _: hold()
    assert (await fast.trigger(h)).status == "hold"
    status = await fast.status(h)
    assert status.status is TraderStatus.ACTIVE and status.last_error is None


async def test_a_strategy_step_that_fails_is_strategy_unavailable(fast: Harness) -> None:
    def crashes(_: object) -> StrategyOutput:
        raise ApplicationError("sandbox would not fork", non_retryable=True)

    fast.fakes.program = crashes
    h = await fast.start_trader()
    out = await fast.trigger(h)
    assert out.status == "failed" and out.error_code == "STRATEGY_UNAVAILABLE", out
    assert out.error == "sandbox would not fork"


async def test_an_llm_failure_keeps_its_own_code_once(fast: Harness) -> None:
    def refused(_: object) -> StrategyOutput:
        raise ApplicationError("bad key", type="LLM_AUTH", non_retryable=True)

    fast.fakes.config = lambda req: TraderConfig(
        account_id=req.account_id, found=True, bindings=[PROMPT_BINDING]
    )
    fast.fakes.prompt = refused
    h = await fast.start_trader()
    out = await fast.trigger(h)
    assert out.status == "failed" and out.error_code == "LLM_AUTH", out
    assert out.error == "bad key"  # the code is not repeated inside the message


async def test_an_invalid_answer_is_recorded_and_the_trader_stays_active(fast: Harness) -> None:
    fast.fakes.config = lambda req: TraderConfig(
        account_id=req.account_id, found=True, bindings=[PROMPT_BINDING]
    )
    fast.fakes.prompt = lambda _: StrategyOutput(
        ok=False, invalid=True, error_code="LLM_INVALID_JSON", error="not JSON", llm={"raw": "?"}
    )
    h = await fast.start_trader()
    out = await fast.trigger(h)
    assert out.status == "invalid" and out.error_code == "LLM_INVALID_JSON", out
    assert fast.fakes.inputs(Activity.CHECK_RISK) == []
    (finish,) = fast.fakes.finished
    assert finish.llm == {"raw": "?"} and finish.trader_status == "Active"
    status = await fast.status(h)
    assert status.status is TraderStatus.ACTIVE and status.last_error is None


async def test_no_bound_strategy_fails_the_decision(fast: Harness) -> None:
    fast.fakes.config = lambda req: TraderConfig(account_id=req.account_id, found=True)
    h = await fast.start_trader()
    out = await fast.trigger(h)
    assert out.status == "failed" and out.error_code == "NO_STRATEGY_BOUND", out
    assert fast.fakes.inputs(Activity.RUN_PROGRAM) == []
