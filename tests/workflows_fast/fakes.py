"""Fake activities under the real activity names (`domain.contracts.Activity`).

The real workflows call their steps by name, so a worker that registers these instead of the
real ones runs the real TraderWorkflow and SignalPoolWorkflow with no database, sandbox, LLM or
exchange behind them. Each answer is a plain function the test may replace (sync or async); the
defaults are a healthy trader whose strategy holds. Every call is recorded, in order, and a test
waits for a call with `called` (a condition, not a sleep).
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any, TypeVar

from temporalio import activity

from domain import risk
from domain.contracts import (
    Activity,
    BindingConfig,
    CancelOrderInput,
    CancelOrderResult,
    ContextSummary,
    DecisionOutcome,
    EvaluatePoolInput,
    EvaluatePoolResult,
    FanOutInput,
    FanOutResult,
    FinishDecisionInput,
    GatherContextInput,
    LoadConfigInput,
    PoolConfig,
    PoolConfigInput,
    RecordIntentsInput,
    RecordIntentsResult,
    RecordNoteInput,
    RecordNoteResult,
    RecordStatusInput,
    ResolveOrderInput,
    RunProgramInput,
    RunPromptInput,
    StrategyOutput,
    SyncAccountInput,
    SyncAccountResult,
    TraderConfig,
)
from domain.decision import Decision, Operation
from domain.equity import EquitySampleInput, EquitySampleResult, EquityThinInput, EquityThinResult
from domain.orders import OrderIntent, OrderOutcome, OrderStatus
from domain.risk import PositionView, RiskCheckInput, RiskLimits, RiskVerdict

ACCOUNT = 7
PROGRAM_BINDING = BindingConfig(id=1, program_id=11, schedule_interval_seconds=None)
PROMPT_BINDING = BindingConfig(id=2, program_id=None, prompt_id=21, schedule_interval_seconds=None)
LIMITS = RiskLimits(
    max_leverage=Decimal(10), max_position_notional_usd=Decimal(10_000), max_concurrent_positions=3
)
BTC_LONG = PositionView(
    symbol="BTC",
    side="long",
    size=Decimal("0.01"),
    entry_price=Decimal(50_000),
    mark_price=Decimal(50_000),
    leverage=Decimal(2),
    unrealized_pnl=Decimal(0),
)

In = TypeVar("In")
Out = TypeVar("Out")
Answer = Callable[[In], Out | Awaitable[Out]]


def hold() -> StrategyOutput:
    return StrategyOutput(ok=True, decision=Decision(operation=Operation.HOLD, reasoning="wait"))


def long_btc(size: str = "200", leverage: str = "2") -> StrategyOutput:
    decision = Decision(
        operation=Operation.LONG, symbol="BTC", size_usd=Decimal(size), leverage=Decimal(leverage)
    )
    return StrategyOutput(ok=True, decision=decision)


def healthy_context(req: GatherContextInput) -> ContextSummary:
    return ContextSummary(
        decision_id=req.decision_id,
        seq=req.seq,
        ok=True,
        symbols=["BTC", "ETH"],
        prices={"BTC": Decimal(50_000), "ETH": Decimal(3_000)},
        available_usd=Decimal(10_000),
        equity_usd=Decimal(10_000),
        limits=LIMITS,
    )


def holding_btc(req: GatherContextInput) -> ContextSummary:
    """The healthy context, with a BTC long open (something to close)."""
    return healthy_context(req).model_copy(update={"positions": [BTC_LONG]})


def filled(intent: OrderIntent) -> OrderOutcome:
    return OrderOutcome(
        client_order_id=intent.client_order_id,
        status=OrderStatus.FILLED,
        symbol=intent.symbol,
        side=intent.side,
        filled_size=Decimal("0.004"),
        avg_price=Decimal(50_000),
        fee=Decimal("0.1"),
    )


def with_status(status: OrderStatus, reason: str) -> Callable[[OrderIntent], OrderOutcome]:
    def answer(intent: OrderIntent) -> OrderOutcome:
        return OrderOutcome(
            client_order_id=intent.client_order_id,
            status=status,
            symbol=intent.symbol,
            side=intent.side,
            reject_reason=reason,
        )

    return answer


def recorded_as_given(req: RecordIntentsInput) -> RecordIntentsResult:
    return RecordIntentsResult(recorded=len(req.intents), verdict=req.verdict, intents=req.intents)


def finished_as_given(req: FinishDecisionInput) -> DecisionOutcome:
    return DecisionOutcome(
        decision_id=req.decision_id,
        status=req.status,
        seq=req.seq,
        decision=req.decision,
        risk_verdict=req.risk_verdict,
        error_code=req.error_code,
        error=req.error,
        orders=req.orders,
    )


class FakeActivities:
    """One set of answers per test; `calls` holds (activity name, input) in call order."""

    def __init__(self) -> None:
        self.calls: list[tuple[Activity, Any]] = []
        self._changed = asyncio.Condition()
        self.config: Answer[LoadConfigInput, TraderConfig] = lambda req: TraderConfig(
            account_id=req.account_id, found=True, bindings=[PROGRAM_BINDING]
        )
        self.gather: Answer[GatherContextInput, ContextSummary] = healthy_context
        self.program: Answer[RunProgramInput, StrategyOutput] = lambda _: hold()
        self.prompt: Answer[RunPromptInput, StrategyOutput] = lambda _: hold()
        self.risk: Answer[RiskCheckInput, RiskVerdict] = risk.evaluate  # the real rules
        self.intents: Answer[RecordIntentsInput, RecordIntentsResult] = recorded_as_given
        self.place: Answer[OrderIntent, OrderOutcome] = filled
        self.resolve: Answer[ResolveOrderInput, OrderOutcome] = lambda req: filled(req.intent)
        self.finish: Answer[FinishDecisionInput, DecisionOutcome] = finished_as_given
        self.sync: Answer[SyncAccountInput, SyncAccountResult] = lambda _: SyncAccountResult(
            open_positions=0
        )
        self.pool: Answer[PoolConfigInput, PoolConfig] = lambda req: PoolConfig(
            pool_id=req.pool_id, found=False
        )
        self.evaluate: Answer[EvaluatePoolInput, EvaluatePoolResult] = lambda _: (
            EvaluatePoolResult()
        )
        self.fan_out: Answer[FanOutInput, FanOutResult] = lambda _: FanOutResult(delivered=[1])
        self.sample_equity_answer: Answer[EquitySampleInput, EquitySampleResult] = lambda _: (
            EquitySampleResult(sampled=1)
        )
        self.thin_equity_answer: Answer[EquityThinInput, EquityThinResult] = lambda _: (
            EquityThinResult()
        )

    # --- what the test reads ------------------------------------------------------------------

    def inputs(self, name: Activity) -> list[Any]:
        return [arg for called, arg in self.calls if called is name]

    @property
    def finished(self) -> list[FinishDecisionInput]:
        return self.inputs(Activity.FINISH_DECISION)

    @property
    def notes(self) -> list[RecordNoteInput]:
        return self.inputs(Activity.RECORD_NOTE)

    async def called(self, name: Activity, times: int = 1, timeout: float = 20) -> list[Any]:
        """The inputs of `name` once it has been called `times` times (fails after `timeout`)."""
        async with self._changed:
            await asyncio.wait_for(
                self._changed.wait_for(lambda: len(self.inputs(name)) >= times), timeout
            )
        return self.inputs(name)

    async def _answer(self, name: Activity, arg: In, answer: Answer[In, Out]) -> Out:
        async with self._changed:
            self.calls.append((name, arg))
            self._changed.notify_all()
        out = answer(arg)
        if inspect.isawaitable(out):
            return await out  # type: ignore[no-any-return]
        return out

    def all(self) -> list[Callable[..., Any]]:
        return [
            self.load_trader_config,
            self.record_trader_status,
            self.record_note,
            self.gather_context,
            self.run_program,
            self.run_prompt,
            self.check_risk,
            self.record_order_intents,
            self.place_order,
            self.resolve_order,
            self.finish_decision,
            self.sync_account,
            self.cancel_order,
            self.load_signal_pool,
            self.evaluate_signal_pool,
            self.fan_out_fire,
            self.sample_equity,
            self.thin_equity,
        ]

    # --- the activities, by their real names ---------------------------------------------------

    @activity.defn(name=Activity.LOAD_CONFIG)
    async def load_trader_config(self, req: LoadConfigInput) -> TraderConfig:
        return await self._answer(Activity.LOAD_CONFIG, req, self.config)

    @activity.defn(name=Activity.RECORD_STATUS)
    async def record_trader_status(self, req: RecordStatusInput) -> None:
        await self._answer(Activity.RECORD_STATUS, req, lambda _: None)

    @activity.defn(name=Activity.RECORD_NOTE)
    async def record_note(self, req: RecordNoteInput) -> RecordNoteResult:
        return await self._answer(
            Activity.RECORD_NOTE,
            req,
            lambda r: RecordNoteResult(decision_id=r.decision_id, seq=r.seq),
        )

    @activity.defn(name=Activity.GATHER_CONTEXT)
    async def gather_context(self, req: GatherContextInput) -> ContextSummary:
        return await self._answer(Activity.GATHER_CONTEXT, req, self.gather)

    @activity.defn(name=Activity.RUN_PROGRAM)
    async def run_program(self, req: RunProgramInput) -> StrategyOutput:
        return await self._answer(Activity.RUN_PROGRAM, req, self.program)

    @activity.defn(name=Activity.RUN_PROMPT)
    async def run_prompt(self, req: RunPromptInput) -> StrategyOutput:
        return await self._answer(Activity.RUN_PROMPT, req, self.prompt)

    @activity.defn(name=Activity.CHECK_RISK)
    async def check_risk(self, req: RiskCheckInput) -> RiskVerdict:
        return await self._answer(Activity.CHECK_RISK, req, self.risk)

    @activity.defn(name=Activity.RECORD_INTENTS)
    async def record_order_intents(self, req: RecordIntentsInput) -> RecordIntentsResult:
        return await self._answer(Activity.RECORD_INTENTS, req, self.intents)

    @activity.defn(name=Activity.PLACE_ORDER)
    async def place_order(self, req: OrderIntent) -> OrderOutcome:
        return await self._answer(Activity.PLACE_ORDER, req, self.place)

    @activity.defn(name=Activity.RESOLVE_ORDER)
    async def resolve_order(self, req: ResolveOrderInput) -> OrderOutcome:
        return await self._answer(Activity.RESOLVE_ORDER, req, self.resolve)

    @activity.defn(name=Activity.FINISH_DECISION)
    async def finish_decision(self, req: FinishDecisionInput) -> DecisionOutcome:
        return await self._answer(Activity.FINISH_DECISION, req, self.finish)

    @activity.defn(name=Activity.SYNC_ACCOUNT)
    async def sync_account(self, req: SyncAccountInput) -> SyncAccountResult:
        return await self._answer(Activity.SYNC_ACCOUNT, req, self.sync)

    @activity.defn(name=Activity.CANCEL_ORDER)
    async def cancel_order(self, req: CancelOrderInput) -> CancelOrderResult:
        return await self._answer(
            Activity.CANCEL_ORDER,
            req,
            lambda r: CancelOrderResult(client_order_id=r.client_order_id, cancelled=True),
        )

    @activity.defn(name=Activity.LOAD_POOL)
    async def load_signal_pool(self, req: PoolConfigInput) -> PoolConfig:
        return await self._answer(Activity.LOAD_POOL, req, self.pool)

    @activity.defn(name=Activity.EVALUATE_POOL)
    async def evaluate_signal_pool(self, req: EvaluatePoolInput) -> EvaluatePoolResult:
        return await self._answer(Activity.EVALUATE_POOL, req, self.evaluate)

    @activity.defn(name=Activity.FAN_OUT_FIRE)
    async def fan_out_fire(self, req: FanOutInput) -> FanOutResult:
        return await self._answer(Activity.FAN_OUT_FIRE, req, self.fan_out)

    @activity.defn(name=Activity.SAMPLE_EQUITY)
    async def sample_equity(self, req: EquitySampleInput) -> EquitySampleResult:
        return await self._answer(Activity.SAMPLE_EQUITY, req, self.sample_equity_answer)

    @activity.defn(name=Activity.THIN_EQUITY)
    async def thin_equity(self, req: EquityThinInput) -> EquityThinResult:
        return await self._answer(Activity.THIN_EQUITY, req, self.thin_equity_answer)
