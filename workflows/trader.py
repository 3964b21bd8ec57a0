"""TraderWorkflow: one long-running workflow per trader (`trader-<account_id>`).

Signals push (signal_fired, pause, resume, config_changed, stop), the `trigger` update runs a
decision and returns it, the `status` query peeks. Decisions run one at a time from a FIFO queue.
Handling of each message: workflows/trader_messages.py; the steps: workflows/trader_steps.py.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import NoReturn

from temporalio import workflow
from temporalio.common import RawValue

with workflow.unsafe.imports_passed_through():
    from domain.contracts import (
        CancelOrderInput,
        CancelOrderResult,
        DecisionOutcome,
    )
    from domain.decision import Decision, Operation
    from domain.ids import is_order_of
    from domain.manual_orders import ManualOrder
    from domain.trader import (
        IDLE_SHED_MIN_EVENTS,
        CancelRequest,
        CarriedConfig,
        ClosePositionsRequest,
        PendingTrigger,
        TraderInput,
        TraderState,
        TraderStatus,
        TraderStatusView,
        TriggerRequest,
        TriggerType,
    )
    from workflows import steps
    from workflows.trader_messages import TraderMessages

__all__ = ["TraderWorkflow"]


@workflow.defn(name="TraderWorkflow")
class TraderWorkflow(TraderMessages):
    # Why @workflow.init: signal-with-start and early signals run before `run`, and must find
    # the state already built.
    @workflow.init
    def __init__(self, input: TraderInput) -> None:
        self.account_id = input.account_id
        self.state = input.state or TraderState(paused=input.start_paused)
        if input.state is None:
            self.state.status = TraderStatus.PAUSED if input.start_paused else TraderStatus.ACTIVE
        self.cas_events = input.continue_as_new_events
        self.bindings = []
        self.paper = False
        self.breakers = False
        self.notes = []
        self.results = {}
        self.config_dirty = False
        self.status_dirty = input.carried is None  # a continued run's status is recorded
        self.stopping = False
        self.stop_request = None
        self.resumed = False
        self.idle_seconds = input.idle_continue_as_new_seconds
        self.steps = 0
        self.idle_since = None

    @workflow.run
    async def run(self, input: TraderInput) -> None:
        if input.carried is not None:
            self._take_carried(input.carried)
        else:
            cfg = await self._load_config()
            if not cfg.found or cfg.deleted:
                return
            if self.state.next_seq is None:
                self.state.next_seq = cfg.last_seq + 1
            await self._sync_account("start")  # reconcile on every start
        while True:
            steps = self.steps
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(self._has_work, timeout=self._until_next_due())
            if self.stop_request is not None:
                await self._stop_if_deleted()
            if self.stopping:
                return
            if self._idle_long_enough():
                await workflow.wait_condition(
                    lambda: workflow.all_handlers_finished() or self._has_work()
                )
                if not self._has_work():
                    self._continue_as_new()
            if self.config_dirty:
                await self._load_config()
            await self._flush_notes()
            if self.status_dirty:
                await self._record_status()
            if self.resumed:
                self.resumed = False
                await self._sync_account("resume")
            self._enqueue_due_schedules()
            if self._runnable():
                await self._run_next()
            if self.state.next_sync is not None and workflow.now() >= self.state.next_sync:
                await self._sync_account()
            if self._should_continue_as_new():
                # Handlers (a manual trigger waiting for its decision) finish in this run.
                await workflow.wait_condition(workflow.all_handlers_finished)
                self._continue_as_new()
            if self.steps != steps:
                self.idle_since = None
            if self.idle_since is None and self._has_something_to_shed() and not self._has_work():
                self.idle_since = workflow.now()

    def _take_carried(self, carried: CarriedConfig) -> None:
        # Why no start steps: the run this one continues loaded the configuration, synced the
        # account and recorded the status; a signal or config change still wakes the loop.
        self.paper = carried.paper
        self.breakers = carried.breakers
        self._apply_bindings(carried.bindings)

    def _has_something_to_shed(self) -> bool:
        return self.idle_seconds > 0 and bool(
            self.steps or workflow.info().get_current_history_length() >= IDLE_SHED_MIN_EVENTS
        )

    def _idle_long_enough(self) -> bool:
        return (
            self.idle_since is not None
            and not self._has_work()
            and workflow.now() >= self.idle_since + timedelta(seconds=self.idle_seconds)
        )

    def _continue_as_new(self) -> NoReturn:
        # Why continue-as-new: a cached run keeps every step it ran in the worker's memory, and
        # its history grows; the new run starts from this state with nothing behind it.
        carried = CarriedConfig(paper=self.paper, bindings=self.bindings, breakers=self.breakers)
        workflow.continue_as_new(
            TraderInput(
                account_id=self.account_id,
                state=self.state,
                continue_as_new_events=self.cas_events,
                idle_continue_as_new_seconds=self.idle_seconds,
                carried=carried,
            )
        )

    # --- messages -------------------------------------------------------------------------

    # Why one dynamic handler over raw payloads: a malformed or mistyped message (from the CLI,
    # say) would otherwise be dropped by the SDK before any code sees it, or fail the workflow
    # task. Here every signal is decoded by hand and anything bad lands in the decision log.
    @workflow.signal(dynamic=True)
    def on_signal(self, name: str, args: Sequence[RawValue]) -> None:
        handlers: dict[str, Callable[[RawValue | None], None]] = {
            "signal_fired": self._on_signal_fired,
            "pause": self._on_pause,
            "resume": self._on_resume,
            "config_changed": self._on_config_changed,
            "stop": self._on_stop,
        }
        handler = handlers.get(name)
        if handler is None:
            self._reject(name, f"unknown signal {name!r}; expected one of {', '.join(handlers)}")
        elif len(args) > 1:
            self._reject(name, f"expected at most one input, got {len(args)}")
        else:
            handler(args[0] if args else None)

    # Why an update, not a signal: the caller wants the decision back, and a validator rejects
    # a bad request before it enters history.
    @workflow.update
    async def trigger(self, req: TriggerRequest) -> DecisionOutcome:
        key = f"manual-{workflow.current_update_info().id}"  # type: ignore[union-attr]
        if key in self.state.recent_manual:  # a client retry that outlived a continue-as-new
            return self.state.recent_manual[key]
        self.state.pending.append(
            PendingTrigger(
                key=key, type=TriggerType.MANUAL, binding_id=req.binding_id, context=req.context
            )
        )
        await workflow.wait_condition(lambda: key in self.results)
        return self.results.pop(key)

    # Why an update: the owner wants the order's outcome back. Queued like a manual trigger
    # (the same key, so a retried request gets the first order's decision); the decision runs
    # even while the trader is paused, where the risk gate lets only a reduce-only order pass.
    @workflow.update
    async def place_order(self, order: ManualOrder) -> DecisionOutcome:
        key = f"manual-{workflow.current_update_info().id}"  # type: ignore[union-attr]
        if key in self.state.recent_manual:  # a client retry that outlived a continue-as-new
            return self.state.recent_manual[key]
        if not any(p.key == key for p in self.state.pending):
            context = {"order": order.model_dump(mode="json")}
            self.state.pending.append(
                PendingTrigger(key=key, type=TriggerType.MANUAL, context=context, order=order)
            )
        await workflow.wait_condition(lambda: key in self.results)
        return self.results.pop(key)

    @place_order.validator
    def _validate_order(self, order: ManualOrder) -> None:
        if self.stopping:
            raise ValueError("trader is being deleted")

    # Why an update: the caller wants to know whether the order was cancelled. Cancels pass
    # even when the trader is paused (they only reduce exposure).
    @workflow.update
    async def cancel_order(self, req: CancelRequest) -> CancelOrderResult:
        return await steps.run(
            steps.CANCEL_ORDER,
            CancelOrderInput(
                account_id=self.account_id, client_order_id=req.client_order_id, symbol=req.symbol
            ),
        )

    # Why an update: the caller (the API, before deleting a trader) waits for the closes and
    # their outcomes. Each close is a decision of its own, queued like a manual trigger, and it
    # runs even while the trader is paused (closes only reduce exposure).
    @workflow.update
    async def close_positions(self, req: ClosePositionsRequest) -> list[DecisionOutcome]:
        uid = workflow.current_update_info().id  # type: ignore[union-attr]
        keys = [f"close-{uid}-{symbol}" for symbol in req.symbols]
        reason = req.reason or "closed by the owner"
        for key, symbol in zip(keys, req.symbols, strict=True):
            if key in self.state.recent_manual or any(p.key == key for p in self.state.pending):
                continue  # a retried update: the first one's closes stand
            self.state.pending.append(
                PendingTrigger(
                    key=key,
                    type=TriggerType.MANUAL,
                    context={"close": symbol, "reason": reason},
                    decision=Decision(operation=Operation.CLOSE, symbol=symbol, reasoning=reason),
                )
            )
        await workflow.wait_condition(
            lambda: all(k in self.results or k in self.state.recent_manual for k in keys)
        )
        return [
            self.results.pop(k) if k in self.results else self.state.recent_manual[k] for k in keys
        ]

    @close_positions.validator
    def _validate_close(self, req: ClosePositionsRequest) -> None:
        if self.stopping:
            raise ValueError("trader is being deleted")

    @cancel_order.validator
    def _validate_cancel(self, req: CancelRequest) -> None:
        if not is_order_of(req.client_order_id, self.account_id):
            raise ValueError("not an order of this trader")

    @trigger.validator
    def _validate_trigger(self, req: TriggerRequest) -> None:
        if self.stopping:
            raise ValueError("trader is being deleted")
        if self.state.paused:
            raise ValueError("trader is paused: resume it before triggering a decision")

    @workflow.query
    def status(self) -> TraderStatusView:
        return TraderStatusView(
            account_id=self.account_id,
            status=self.state.status,
            paused=self.state.paused,
            pause_reason=self.state.pause_reason,
            last_error=self.state.last_error,
            halted=self.state.halted,
            halt_reason=self.state.halt_reason,
            pending_triggers=len(self.state.pending),
            decisions_made=self.state.decisions_made,
            next_seq=self.state.next_seq,
            schedules=self.state.schedules,
            history_length=workflow.info().get_current_history_length(),
        )

    def _should_continue_as_new(self) -> bool:
        if any(p.type is TriggerType.MANUAL for p in self.state.pending) or self.notes:
            return False
        info = workflow.info()
        return info.is_continue_as_new_suggested() or (
            info.get_current_history_length() >= self.cas_events
        )
