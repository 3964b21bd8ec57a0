"""Messages and state of the trader workflow (carried across continue-as-new)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, TypeAlias

from pydantic import BaseModel, Field

from domain.contracts import BindingConfig, DecisionOutcome
from domain.decision import Decision
from domain.manual_orders import ManualOrder
from domain.vocabulary import DecisionStatus

# A point in time; workflows name it this way (they get it from workflow.now(), never a clock).
Instant: TypeAlias = datetime

MAX_RECENT_FIRE_IDS = 500
# While positions are open the trader syncs its account this often (paused or not), so
# exchange-side triggers such as a paper stop-loss fire without waiting for a decision.
POSITION_SYNC_SECONDS = 60
# Reconciliation with the exchange also runs this often with no position open, so drift such as
# an order placed by hand at the venue shows up within minutes.
RECONCILE_SECONDS = 300
# A run whose only steps were periodic account syncs continues as new (once idle) only when its
# history is this long: ~15 minutes of syncs with a position open, not one run a minute.
IDLE_SHED_MIN_EVENTS = 100
# Manual-trigger answers kept (and carried across continue-as-new) so a client retrying with the
# same idempotency key gets the first decision back instead of a second decision.
MAX_RECENT_MANUAL = 20


class TraderStatus(StrEnum):
    ACTIVE = "Active"
    PAUSED = "Paused"
    ERROR = "Error"
    DELETED = "Deleted"


def fails_the_trader(
    decision_status: DecisionStatus, error_code: str | None, owner_order: bool = False
) -> bool:
    """Whether a decision's outcome puts the trader in Error: a failed decision, except the
    exchange refusing the owner's own order (ORDER_REJECTED: a post-only order that would
    cross, say), which was answered to the owner who sent it and says nothing of the trader."""
    refused_owner_order = owner_order and error_code == "ORDER_REJECTED"
    return decision_status == DecisionStatus.FAILED and not refused_owner_order


def status_after_decision(
    decision_status: DecisionStatus,
    error_code: str | None,
    error: str | None,
    *,
    paused: bool,
    halt_reason: str | None,
    pause_reason: str = "",
    owner_order: bool = False,
) -> tuple[TraderStatus, str | None]:
    """The trader's status after a decision, and the reason shown with it.

    `owner_order`: the decision carried out the owner's own order (see fails_the_trader).

    A paused trader stays Paused; otherwise a failed decision, or a halt (an order whose outcome
    stayed unknown), is Error, and anything else Active. The reason: the failure's code and
    error, else (paused) the pause's reason, else the halt's, else none (a failure's reason is
    kept even while paused; a close that runs while paused keeps the pause's reason, such as a
    circuit breaker's)."""
    failed = fails_the_trader(decision_status, error_code, owner_order)
    if paused:
        status = TraderStatus.PAUSED
    elif failed or halt_reason:
        status = TraderStatus.ERROR
    else:
        status = TraderStatus.ACTIVE
    if failed:
        return status, f"{error_code}: {error}"
    return status, (pause_reason if paused else "") or halt_reason or None


class TriggerType(StrEnum):
    MANUAL = "manual"
    SCHEDULE = "schedule"
    SIGNAL = "signal"
    # A close the trader decided itself when a circuit breaker tripped (domain/breakers.py).
    CIRCUIT_BREAKER = "circuit_breaker"


class SignalFired(BaseModel):
    """Payload of the `signal_fired` signal (from a signal pool, the API or the CLI)."""

    fire_id: str = Field(min_length=1, max_length=128)
    pool_id: int | None = None
    symbol: str | None = Field(default=None, max_length=32)
    binding_id: int | None = None
    context: dict[str, Any] = Field(default_factory=dict)


class PauseRequest(BaseModel):
    reason: str = Field(default="", max_length=500)
    # The owner's kill switch (README "Circuit breakers and the kill switch"): recorded in the
    # decision log, and its reason replaces an earlier pause's.
    kill_switch: bool = False


class TriggerRequest(BaseModel):
    """Argument of the `trigger` update: run one decision now and return it."""

    binding_id: int | None = None
    context: dict[str, Any] = Field(default_factory=dict)


class PendingTrigger(BaseModel):
    key: str
    type: TriggerType
    binding_id: int | None = None
    context: dict[str, Any] = Field(default_factory=dict)
    fire_id: str | None = None
    # The owner's own decision (a close, say), carried out instead of asking the strategy.
    # Only a close may run while the trader is paused.
    decision: Decision | None = None
    # The owner's own order (POST /api/orders/create): likewise no strategy is asked, and
    # only a reduce-only one may execute while the trader is paused.
    order: ManualOrder | None = None

    @property
    def owners(self) -> bool:
        """The owner's own (a close or a manual order): it runs, and is kept, while paused."""
        return self.decision is not None or self.order is not None


class ClosePositionsRequest(BaseModel):
    """Argument of the `close_positions` update: close these positions now, each as a decision
    of its own in the decision log (risk-checked, recorded, ordered like any other); allowed
    while the trader is paused."""

    symbols: list[str] = Field(min_length=1, max_length=50)
    reason: str = Field(default="", max_length=500)


class StopRequest(BaseModel):
    """Payload of the `stop` signal, which the API sends once it has deleted the trader: the
    workflow ends (after checking the trader is deleted). `left_positions`: positions the owner
    chose to leave open, unwatched from now on; recorded in the decision log."""

    left_positions: list[dict[str, Any]] = Field(default_factory=list, max_length=50)


class ScheduleState(BaseModel):
    binding_id: int
    interval_seconds: int
    next_due: datetime


class Note(BaseModel):
    """Something the trader must write to its decision log that is not a decision run."""

    status: DecisionStatus  # rejected_input | ignored | resumed | deleted
    trigger_type: str
    context: dict[str, Any] = Field(default_factory=dict)
    error: str = ""


class TraderState(BaseModel):
    paused: bool = True
    pause_reason: str = ""
    status: TraderStatus = TraderStatus.PAUSED
    last_error: str | None = None
    next_seq: int | None = None  # None until loaded from the database on a fresh start
    pending: list[PendingTrigger] = Field(default_factory=list)
    recent_fire_ids: list[str] = Field(default_factory=list)
    schedules: list[ScheduleState] = Field(default_factory=list)
    decisions_made: int = 0
    next_sync: datetime | None = None
    # An order whose outcome stayed unknown halts new entries (closes still run) until an
    # operator checks the venue and resumes; the reason says which order.
    halted: bool = False
    halt_reason: str = ""
    recent_manual: dict[str, DecisionOutcome] = Field(default_factory=dict)
    # Notes recorded so far (in every run of this workflow): numbers each note's key.
    notes_made: int = 0


class CarriedConfig(BaseModel):
    """What a run loaded at its start, handed to the run it continues as, so that run skips
    the start steps (configuration, start sync, patch checks) and stays as small as it can."""

    paper: bool
    bindings: list[BindingConfig]
    breakers: bool = False  # see TraderConfig.breakers


class TraderInput(BaseModel):
    account_id: int
    start_paused: bool = True
    state: TraderState | None = None
    continue_as_new_events: int = 2000
    # A run that did work and then stays idle this long continues as new (0: never), so an
    # idle trader's cached run holds no record of the steps it ran (see docs/performance.md).
    idle_continue_as_new_seconds: int = Field(default=60, ge=0)
    carried: CarriedConfig | None = None


class TraderStatusView(BaseModel):
    """Result of the `status` query."""

    account_id: int
    status: TraderStatus
    paused: bool
    pause_reason: str
    last_error: str | None
    halted: bool = False
    halt_reason: str = ""
    pending_triggers: int
    decisions_made: int
    next_seq: int | None
    schedules: list[ScheduleState]
    history_length: int


class CancelRequest(BaseModel):
    """Argument of the `cancel_order` update: one of this trader's resting orders (TP/SL legs
    are `<entry client order id>:tp` / `:sl`)."""

    client_order_id: str = Field(min_length=1, max_length=80)
    symbol: str | None = Field(default=None, max_length=32)
