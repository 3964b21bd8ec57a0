"""One decision, step by step: gather context -> run strategy -> risk check -> orders -> record.

Workflow code: pure orchestration. Every side effect is an activity; ids are minted here so that
retries and replays reuse them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain.contracts import (
        ContextSummary,
        DecisionOutcome,
        FinishDecisionInput,
        GatherContextInput,
        RecordIntentsInput,
        ResolveOrderInput,
        RunProgramInput,
        RunPromptInput,
    )
    from domain.decision import Decision, Operation
    from domain.ids import decision_id
    from domain.manual_orders import as_decision, manual_intent, reduce_denial
    from domain.order_outcomes import settled_ok
    from domain.orders import OrderIntent, OrderOutcome, OrderStatus, intents_for
    from domain.risk import DenyReason, RiskCheckInput, RiskVerdict
    from domain.trader import PendingTrigger, status_after_decision
    from domain.vocabulary import DecisionStatus
    from workflows import steps

ORDER_UNKNOWN = "ORDER_UNKNOWN"


def _failure_code(err: ActivityError) -> str:
    cause = err.cause
    if isinstance(cause, ApplicationError) and (cause.type or "").startswith("LLM_"):
        return cause.type or ""  # e.g. LLM_AUTH (not retried) or LLM_RATE_LIMITED (exhausted)
    return "STRATEGY_UNAVAILABLE"


def _describe(err: BaseException) -> str:
    cause = err.cause if isinstance(err, ActivityError) and err.cause else err
    if isinstance(cause, ApplicationError) and (cause.type or "").startswith("LLM_"):
        # Its message alone: str() is "<type>: <message>", and the type is the code that
        # _failure_code returns and _finish puts in front of this (`LLM_AUTH: LLM_AUTH: ...`).
        return cause.message[:1000] or cause.type or ""
    return str(cause)[:1000] or type(cause).__name__


class DecisionRun:
    def __init__(
        self,
        account_id: int,
        seq: int,
        trigger: PendingTrigger,
        binding_id: int | None,
        is_paused: Callable[[], bool],
        prompt: bool = False,
        halt_reason: Callable[[], str] = lambda: "",
        pause_reason: Callable[[], str] = lambda: "",
    ) -> None:
        self.account_id = account_id
        self.seq = seq
        self.decision_id: str = decision_id(account_id, seq)
        self.trigger = trigger
        self.binding_id = binding_id
        self.is_paused = is_paused
        self.prompt = prompt
        self.halt_reason = halt_reason  # non-empty while an unknown order halts new entries
        self.pause_reason = pause_reason  # kept as the status reason by a close while paused
        self.llm: dict[str, Any] | None = None
        self.resolving = False  # an order of this decision had an unknown outcome

    def _trigger_context(self) -> dict[str, Any]:
        context = dict(self.trigger.context)
        if self.trigger.fire_id:
            context.setdefault("fire_id", self.trigger.fire_id)
        return context

    async def run(self) -> DecisionOutcome:
        info = workflow.info()
        trigger_context = self._trigger_context()
        try:
            ctx = await steps.run(
                steps.GATHER_CONTEXT,
                GatherContextInput(
                    account_id=self.account_id,
                    decision_id=self.decision_id,
                    seq=self.seq,
                    binding_id=self.binding_id,
                    trigger_type=self.trigger.type.value,
                    trigger_context=trigger_context,
                    workflow_id=info.workflow_id,
                    run_id=info.run_id,
                    trigger_key=self.trigger.key,
                ),
            )
        except ActivityError as err:
            return await self._finish(
                DecisionStatus.FAILED, code="MARKET_DATA_UNAVAILABLE", error=_describe(err)
            )
        # Decided once: the decision this trigger has. A lost workflow task may already have
        # made it (same id, or another one), or given the proposed id to another trigger.
        if ctx.seq is not None:
            self.seq = ctx.seq
            self.decision_id = ctx.decision_id
        if ctx.completed:  # finish_decision answers with the recorded outcome
            return await self._finish(
                DecisionStatus.FAILED, code="DECISION_INTERRUPTED", error=ctx.error
            )
        if not ctx.ok:
            return await self._finish(
                DecisionStatus.FAILED, code="CONTEXT_UNAVAILABLE", error=ctx.error
            )
        if self.trigger.decision is not None:  # the owner's own decision: no strategy is asked
            return await self._execute(self.trigger.decision, ctx)
        if self.trigger.order is not None:  # the owner's own order: likewise
            order = self.trigger.order
            return await self._execute(as_decision(order, ctx.prices.get(order.symbol)), ctx)
        if self.binding_id is None:
            return await self._finish(
                DecisionStatus.FAILED,
                code="NO_STRATEGY_BOUND",
                error="no strategy is bound to this trader",
            )
        try:
            if self.prompt:
                out = await steps.run(
                    steps.RUN_PROMPT,
                    RunPromptInput(decision_id=self.decision_id, binding_id=self.binding_id),
                )
            else:
                out = await steps.run(
                    steps.RUN_PROGRAM,
                    RunProgramInput(decision_id=self.decision_id, binding_id=self.binding_id),
                )
        except ActivityError as err:
            return await self._finish(
                DecisionStatus.FAILED, code=_failure_code(err), error=_describe(err)
            )
        self.llm = out.llm
        if out.invalid:
            return await self._finish(DecisionStatus.INVALID, code=out.error_code, error=out.error)
        if not out.ok or out.decision is None:
            return await self._finish(DecisionStatus.FAILED, code=out.error_code, error=out.error)
        return await self._execute(out.decision, ctx)

    async def _execute(self, decision: Decision, ctx: ContextSummary) -> DecisionOutcome:
        assert ctx.limits is not None
        try:
            verdict = await steps.run(
                steps.CHECK_RISK,
                RiskCheckInput(
                    decision=decision,
                    limits=ctx.limits,
                    symbols=ctx.symbols,
                    positions=ctx.positions,
                    prices=ctx.prices,
                    available_usd=ctx.available_usd,
                    trading_halted=self.is_paused() or bool(self.halt_reason()),
                ),
            )
        except ActivityError as err:  # fail closed
            verdict = RiskVerdict.deny(DenyReason.MARKET_DATA_UNAVAILABLE, _describe(err))
        order = self.trigger.order
        if verdict.approved and order is not None:
            verdict = reduce_denial(order, ctx.positions) or verdict
        if not verdict.approved:
            return await self._finish(DecisionStatus.DENIED, decision=decision, verdict=verdict)
        if decision.operation is Operation.HOLD:
            return await self._finish(DecisionStatus.HOLD, decision=decision, verdict=verdict)
        # Pause stops new orders at once, even if it arrived while this decision was running.
        if self.is_paused() and decision.operation is not Operation.CLOSE:
            halted = RiskVerdict.deny(DenyReason.TRADING_HALTED, "trader was paused")
            return await self._finish(DecisionStatus.DENIED, decision=decision, verdict=halted)
        if self.halt_reason() and decision.operation is not Operation.CLOSE:
            halted = RiskVerdict.deny(DenyReason.TRADING_HALTED, self.halt_reason())
            return await self._finish(DecisionStatus.DENIED, decision=decision, verdict=halted)
        if order is not None:
            intents = [
                manual_intent(order, self.account_id, self.decision_id, self.seq, ctx.positions)
            ]
        else:
            intents = intents_for(
                decision, self.account_id, self.decision_id, self.seq, ctx.positions
            )
        # Intent before action: the client order ids are durably recorded before any order.
        recorded = await steps.run(
            steps.RECORD_INTENTS,
            RecordIntentsInput(
                decision_id=self.decision_id,
                intents=intents,
                verdict=verdict,
                label=order.name if order is not None else "",
            ),
        )
        if recorded.intents is not None:
            # Decided once: carry out the intents as first recorded (an earlier attempt's
            # stand); a decision already finished, or denied, is only finished (recorded).
            if recorded.completed or (recorded.verdict and not recorded.verdict.approved):
                return await self._finish(
                    DecisionStatus.DENIED, decision=decision, verdict=recorded.verdict
                )
            intents = recorded.intents
            verdict = recorded.verdict or verdict
        outcomes = [await self._place(intent, ctx.paper) for intent in intents]
        unknown = [o for o in outcomes if o.status is OrderStatus.UNKNOWN]
        if unknown and self.resolving:
            reason = "; ".join(f"{o.client_order_id}: {o.reject_reason}" for o in unknown)
            return await self._finish(
                DecisionStatus.FAILED,
                decision=decision,
                verdict=verdict,
                orders=outcomes,
                code=ORDER_UNKNOWN,
                error=f"order outcome unknown after lookups, check the exchange: {reason}",
            )
        # A limit order resting on the book (or an IOC the venue cancelled unfilled) was placed
        # as asked: only a market order must have filled.
        bad = [o for i, o in zip(intents, outcomes, strict=True) if not settled_ok(i, o)]
        if bad:
            reason = "; ".join(f"{o.client_order_id}: {o.reject_reason}" for o in bad)
            return await self._finish(
                DecisionStatus.FAILED,
                decision=decision,
                verdict=verdict,
                orders=outcomes,
                code="ORDER_REJECTED",
                error=reason,
            )
        return await self._finish(
            DecisionStatus.EXECUTED, decision=decision, verdict=verdict, orders=outcomes
        )

    async def _place(self, intent: OrderIntent, paper: bool = False) -> OrderOutcome:
        try:
            outcome = await steps.run(
                steps.PLACE_PAPER_ORDER if paper else steps.PLACE_ORDER, intent
            )
        except ActivityError as err:
            outcome = OrderOutcome(
                client_order_id=intent.client_order_id,
                status=OrderStatus.UNKNOWN,
                symbol=intent.symbol,
                side=intent.side,
                reject_reason=_describe(err),
            )
        if outcome.status is not OrderStatus.UNKNOWN:
            return outcome
        self.resolving = True
        try:
            resolved = await steps.run(
                steps.RESOLVE_ORDER,
                ResolveOrderInput(intent=intent, reason=outcome.reject_reason or ""),
            )
        except ActivityError as err:
            return outcome.model_copy(update={"reject_reason": _describe(err)})
        return resolved

    async def _finish(
        self,
        status: DecisionStatus,
        *,
        decision: Decision | None = None,
        verdict: RiskVerdict | None = None,
        orders: list[OrderOutcome] | None = None,
        code: str | None = None,
        error: str | None = None,
    ) -> DecisionOutcome:
        halt = self.halt_reason()
        paused = self.is_paused()
        pause_reason = self.pause_reason() if paused else ""
        trader_status, status_reason = status_after_decision(
            status,
            code,
            error,
            paused=paused,
            halt_reason=halt,
            pause_reason=pause_reason,
            owner_order=self.trigger.order is not None,
        )
        outcome = await steps.run(
            steps.FINISH_DECISION,
            FinishDecisionInput(
                account_id=self.account_id,
                decision_id=self.decision_id,
                seq=self.seq,
                binding_id=self.binding_id,
                trigger_type=self.trigger.type.value,
                trigger_context=self._trigger_context(),
                status=status,
                risk_verdict=verdict,
                error_code=code,
                error=error,
                orders=orders or [],
                llm=self.llm,
                decision=decision,
                trader_status=trader_status.value,
                trader_status_reason=status_reason,
                trigger_key=self.trigger.key,
                owner_order=self.trigger.order is not None,
                paused=paused,
                halt_reason=halt,
                pause_reason=pause_reason,
            ),
        )
        # Decided once: the outcome recorded first stands (finish_decision answers with it,
        # and with the decision's own id and number).
        if outcome.seq is not None:
            self.seq = outcome.seq
            self.decision_id = outcome.decision_id
        if outcome.decision is not None:
            return outcome
        return outcome.model_copy(update={"decision": decision})
