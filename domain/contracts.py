"""Activity names and their single-model inputs/outputs, shared by workflows and activities."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from domain.breakers import BreakerTrip
from domain.decision import Decision
from domain.orders import OrderIntent, OrderOutcome
from domain.risk import PositionView, RiskLimits, RiskVerdict
from domain.signals import PoolFire, PoolResult, SignalPool
from domain.vocabulary import DecisionStatus


class Activity(StrEnum):
    LOAD_CONFIG = "load_trader_config"
    RECORD_STATUS = "record_trader_status"
    RECORD_NOTE = "record_note"
    GATHER_CONTEXT = "gather_context"
    RUN_PROGRAM = "run_program"
    RUN_PROMPT = "run_prompt"
    CHECK_RISK = "check_risk"
    RECORD_INTENTS = "record_order_intents"
    PLACE_ORDER = "place_order"
    RESOLVE_ORDER = "resolve_order"
    FINISH_DECISION = "finish_decision"
    SYNC_ACCOUNT = "sync_account"
    CANCEL_ORDER = "cancel_order"
    LOAD_POOL = "load_signal_pool"
    EVALUATE_POOL = "evaluate_signal_pool"
    FAN_OUT_FIRE = "fan_out_fire"
    SAMPLE_EQUITY = "sample_equity"
    THIN_EQUITY = "thin_equity"


class LoadConfigInput(BaseModel):
    account_id: int
    # The asking run: its own decision rows do not count towards last_seq. A first workflow task
    # that wrote a decision row and then died unrecorded must mint the same ids when it reruns.
    run_id: str | None = None


class BindingConfig(BaseModel):
    id: int
    program_id: int | None
    prompt_id: int | None = None
    schedule_interval_seconds: int | None
    signal_pool_ids: list[int] = Field(default_factory=list)


class TraderConfig(BaseModel):
    account_id: int
    found: bool
    deleted: bool = False
    bindings: list[BindingConfig] = Field(default_factory=list)
    last_seq: int = 0
    # A paper trader's account sync is a database read (see ContextSummary.paper). False in
    # histories from before the field.
    paper: bool = False
    # Circuit breakers are set: a decision that traded is followed at once by an account sync,
    # which judges the equity it left (domain/breakers.py). False in histories from before.
    breakers: bool = False


class RecordStatusInput(BaseModel):
    account_id: int
    status: str
    reason: str | None = None


class RecordNoteInput(BaseModel):
    account_id: int
    decision_id: str
    seq: int
    status: DecisionStatus
    trigger_type: str
    context: dict[str, Any] = Field(default_factory=dict)
    error: str = ""
    workflow_id: str = ""
    run_id: str = ""
    # The note's own key (see DecisionRecord.trigger_key): recorded once, whatever reruns.
    trigger_key: str = ""


class RecordNoteResult(BaseModel):
    """Where the note was recorded: the proposed id, or the next free one if a decision of a
    lost workflow task took it. None in histories from before the field (see TraderSteps)."""

    decision_id: str
    seq: int


class GatherContextInput(BaseModel):
    account_id: int
    decision_id: str
    seq: int
    binding_id: int | None
    trigger_type: str
    trigger_context: dict[str, Any] = Field(default_factory=dict)
    workflow_id: str = ""
    run_id: str = ""
    # What woke the trader, unique per trader (DecisionRecord.trigger_key): a rerun of the same
    # trigger finds the decision it already made. Empty: the decision id alone keys the row.
    trigger_key: str = ""


class ContextSummary(BaseModel):
    """Small by design: the full snapshot stays in the database, not in workflow history.

    Decided once: `decision_id` and `seq` are the decision this trigger has, which is not the
    proposed one when a lost workflow task already decided the trigger (its decision is reused)
    or took the proposed id for another trigger (the next free id is used)."""

    decision_id: str
    ok: bool
    seq: int | None = None  # None in histories from before the field: the proposed seq
    # An earlier attempt already finished this decision: nothing is run again, the recorded
    # outcome is returned (finish_decision).
    completed: bool = False
    error: str | None = None
    symbols: list[str] = Field(default_factory=list)
    prices: dict[str, Decimal] = Field(default_factory=dict)
    positions: list[PositionView] = Field(default_factory=list)
    available_usd: Decimal = Decimal(0)
    equity_usd: Decimal = Decimal(0)
    limits: RiskLimits | None = None
    # The paper exchange fills in one database transaction, no venue I/O: its orders may run as
    # local activities (see workflows/decision.py). False in histories from before the field.
    paper: bool = False


class RunProgramInput(BaseModel):
    decision_id: str
    binding_id: int


class RunPromptInput(BaseModel):
    decision_id: str
    binding_id: int


class StrategyOutput(BaseModel):
    ok: bool
    decision: Decision | None = None
    error_code: str | None = None
    error: str | None = None
    # The strategy answered, but not with a usable decision (e.g. an LLM's malformed JSON):
    # recorded as an invalid decision; the trader itself did not fail.
    invalid: bool = False
    # Prompt strategies: the model's raw answer, usage, latency and cost (kept in history, so a
    # replay or a worker restart never asks the model again).
    llm: dict[str, Any] | None = None


class RecordIntentsInput(BaseModel):
    decision_id: str
    intents: list[OrderIntent]
    verdict: RiskVerdict | None = None  # recorded with the intents: the decision is made
    label: str = ""  # a manual order's name, recorded on its row


class ResolveOrderInput(BaseModel):
    """Settle an order whose answer was lost: look it up (never resend) until bounded time."""

    intent: OrderIntent
    reason: str = ""


class RecordIntentsResult(BaseModel):
    recorded: int
    # Decided once: the verdict and intents as first recorded for this decision (this call's,
    # or an earlier attempt's), which the workflow carries out instead of its own. None in
    # histories from before the fields.
    verdict: RiskVerdict | None = None
    intents: list[OrderIntent] | None = None
    completed: bool = False  # an earlier attempt already finished the decision


class FinishDecisionInput(BaseModel):
    account_id: int
    decision_id: str
    seq: int
    binding_id: int | None = None
    trigger_type: str
    trigger_context: dict[str, Any] = Field(default_factory=dict)
    status: DecisionStatus
    risk_verdict: RiskVerdict | None = None
    error_code: str | None = None
    error: str | None = None
    orders: list[OrderOutcome] = Field(default_factory=list)
    llm: dict[str, Any] | None = None
    decision: Decision | None = None
    trader_status: str
    trader_status_reason: str | None = None
    trigger_key: str = ""
    # The trader's state as the workflow saw it, so the trader's recorded status follows the
    # recorded outcome when an earlier attempt's outcome stands (see finish_decision).
    paused: bool = False
    halt_reason: str = ""
    pause_reason: str = ""  # why it is paused (kept as the status reason); "" before the field
    owner_order: bool = False  # it carried out the owner's own order (domain.trader)


class DecisionOutcome(BaseModel):
    """What the `trigger` update returns: the recorded decision, its verdict and its orders."""

    decision_id: str
    status: DecisionStatus
    seq: int | None = None  # the decision's number (None: from before the field)
    decision: Decision | None = None
    risk_verdict: RiskVerdict | None = None
    error_code: str | None = None
    error: str | None = None
    orders: list[OrderOutcome] = Field(default_factory=list)


# Re-exported so activity modules import contracts from one place.
__all__ = ["OrderIntent", "OrderOutcome", "RiskVerdict", "Decision"]


class SyncAccountInput(BaseModel):
    account_id: int
    reason: str = "periodic"  # start | resume | periodic | after_order: recorded with any drift


class SyncAccountResult(BaseModel):
    open_positions: int
    resting_orders: int = 0  # limit orders resting at the venue (the trader's submitted rows)
    trigger_fills: int = 0
    # Reconciliation: fills first learnt from the venue here, orders whose state it settled,
    # and drift (a position or order the platform did not expect), each recorded as an event.
    fills_recorded: int = 0
    orders_resolved: int = 0
    drift: int = 0
    # The account's equity as the sync found it, and the circuit breaker it crossed (the trader
    # pauses with its reason). None in histories from before the fields.
    equity_usd: Decimal | None = None
    breaker: BreakerTrip | None = None


# --- signal pools -------------------------------------------------------------------------


class PoolConfigInput(BaseModel):
    pool_id: int


class PoolConfig(BaseModel):
    pool_id: int
    found: bool
    enabled: bool = False
    pool: SignalPool | None = None
    # The smallest timeframe among the pool's enabled definitions: evaluate on each of its closes.
    interval_seconds: int = 60


class EvaluatePoolInput(BaseModel):
    pool_id: int
    now_ms: int


class EvaluatePoolResult(BaseModel):
    results: dict[str, PoolResult] = Field(default_factory=dict)


class FanOutInput(BaseModel):
    fire: PoolFire


class FanOutResult(BaseModel):
    delivered: list[int] = Field(default_factory=list)


class CancelOrderInput(BaseModel):
    account_id: int
    client_order_id: str
    symbol: str | None = None


class CancelOrderResult(BaseModel):
    client_order_id: str
    cancelled: bool
    reason: str = ""
