"""TraderWorkflow: one long-running workflow per trader (`trader-<account_id>`).

Signals push (signal_fired, pause, resume, config_changed, stop), the `trigger` update runs a
decision and returns it, the `status` query peeks. Decisions run one at a time from a FIFO queue.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any, NoReturn

from temporalio import workflow
from temporalio.common import RawValue
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from pydantic import BaseModel

    from domain import schedules
    from domain.contracts import (
        Activity,
        BindingConfig,
        CancelOrderInput,
        CancelOrderResult,
        DecisionOutcome,
        LoadConfigInput,
        RecordNoteInput,
        RecordStatusInput,
        SyncAccountInput,
        SyncAccountResult,
        TraderConfig,
    )
    from domain.trader import (
        IDLE_SHED_MIN_EVENTS,
        MAX_RECENT_FIRE_IDS,
        MAX_RECENT_MANUAL,
        POSITION_SYNC_SECONDS,
        RECONCILE_SECONDS,
        CancelRequest,
        CarriedConfig,
        Instant,
        Note,
        PauseRequest,
        PendingTrigger,
        SignalFired,
        TraderInput,
        TraderState,
        TraderStatus,
        TraderStatusView,
        TriggerRequest,
        TriggerType,
    )
    from workflows import profiles
    from workflows.decision import ORDER_UNKNOWN, DecisionRun
    from workflows.steps import LOCAL_TRADER_STEPS_PATCH, execute_local, run_step


# Why a patch: the position sync (at start, then every POSITION_SYNC_SECONDS while positions are
# open) adds commands; histories recorded before it must replay unchanged.
POSITION_SYNC_PATCH = "position-sync-v1"
# Why a patch: a paper trader's account sync became a local activity; histories that ran it as
# a normal activity must replay the same way.
LOCAL_PAPER_SYNC_PATCH = "local-paper-sync-v1"
# Why a patch: reconciliation also runs on resume and every RECONCILE_SECONDS with no position
# open (new commands and timers); histories recorded before must replay unchanged.
RECONCILE_PATCH = "reconcile-v1"
# Why a patch: a run that did work and then stays idle continues as new (new timers and a
# continue-as-new command); histories recorded before must replay unchanged.
IDLE_CONTINUE_AS_NEW_PATCH = "idle-continue-as-new-v1"


@workflow.defn(name="TraderWorkflow")
class TraderWorkflow:
    # Why @workflow.init: signal-with-start and early signals run before `run`, and must find
    # the state already built.
    @workflow.init
    def __init__(self, input: TraderInput) -> None:
        self.account_id = input.account_id
        self.state = input.state or TraderState(paused=input.start_paused)
        if input.state is None:
            self.state.status = TraderStatus.PAUSED if input.start_paused else TraderStatus.ACTIVE
        self.cas_events = input.continue_as_new_events
        self.bindings: list[BindingConfig] = []
        self.paper = False  # from the configuration: the account is on the paper exchange
        self.notes: list[Note] = []
        self.results: dict[str, DecisionOutcome] = {}
        self.config_dirty = False
        self.status_dirty = input.carried is None  # a continued run's status is recorded
        self.stopping = False
        self.reconcile = False  # reconcile-v1 is in effect for this run
        self.resumed = False  # a resume arrived: reconcile before the next decision
        self.idle_seconds = input.idle_continue_as_new_seconds
        self.idle_cas = False  # idle-continue-as-new-v1 is in effect for this run
        self.steps = 0  # steps this run has run, periodic syncs aside (a continued run: none)
        self.idle_since: Instant | None = None  # when this run went idle after its last step

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
            self.reconcile = workflow.patched(RECONCILE_PATCH)
            self.idle_cas = self.idle_seconds > 0 and workflow.patched(IDLE_CONTINUE_AS_NEW_PATCH)
            if workflow.patched(POSITION_SYNC_PATCH):
                await self._sync_account("start")  # reconcile on every start
        while True:
            steps = self.steps
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(self._has_work, timeout=self._until_next_due())
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
            if self.resumed and self.reconcile:
                self.resumed = False
                await self._sync_account("resume")
            self._enqueue_due_schedules()
            if self.state.pending and not self.state.paused:
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
        self._apply_bindings(carried.bindings)
        self.reconcile = carried.reconcile
        self.idle_cas = True  # only a run with idle-continue-as-new-v1 carries its config

    def _has_something_to_shed(self) -> bool:
        return self.idle_cas and bool(
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
        carried = (
            CarriedConfig(paper=self.paper, bindings=self.bindings, reconcile=self.reconcile)
            if self.idle_cas
            else None
        )
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
            "config_changed": lambda _: self._on_config_changed(),
            "stop": lambda _: self._on_stop(),
        }
        handler = handlers.get(name)
        if handler is None:
            self._reject(name, f"unknown signal {name!r}; expected one of {', '.join(handlers)}")
        elif len(args) > 1:
            self._reject(name, f"expected at most one input, got {len(args)}")
        else:
            handler(args[0] if args else None)

    def _on_signal_fired(self, payload: RawValue | None) -> None:
        fired = self._decode(payload, SignalFired, "signal_fired")
        if fired is None:
            return
        if fired.fire_id in self.state.recent_fire_ids:
            return  # the same fire delivered twice yields one decision
        self.state.recent_fire_ids = (self.state.recent_fire_ids + [fired.fire_id])[
            -MAX_RECENT_FIRE_IDS:
        ]
        context = {"pool_id": fired.pool_id, "symbol": fired.symbol, **fired.context}
        if self.state.paused:
            self.notes.append(
                Note(
                    status="ignored", trigger_type="signal", context=context, error="trader paused"
                )
            )
            return
        self.state.pending.append(
            PendingTrigger(
                key=f"fire-{fired.fire_id}",
                type=TriggerType.SIGNAL,
                binding_id=fired.binding_id,
                context=context,
                fire_id=fired.fire_id,
            )
        )

    def _on_pause(self, payload: RawValue | None) -> None:
        req = self._decode(payload, PauseRequest, "pause", allow_empty=True) or PauseRequest()
        if self.state.paused:
            return
        self.state.paused = True
        self.state.pause_reason = req.reason
        self.state.status = TraderStatus.PAUSED
        self.status_dirty = True
        for trig in self.state.pending:
            self.notes.append(
                Note(
                    status="ignored",
                    trigger_type=trig.type.value,
                    context=trig.context,
                    error="trader paused before the decision ran",
                )
            )
            if trig.type is TriggerType.MANUAL:
                self.results[trig.key] = DecisionOutcome(
                    decision_id="", status="ignored", error="trader paused before the decision ran"
                )
        self.state.pending = []

    def _on_resume(self, payload: RawValue | None) -> None:
        if not self.state.paused and not self.state.halted:
            return
        if self.state.halted:  # the operator checked the venue after an unknown order
            self.state.halted = False
            self.state.halt_reason = ""
            self.notes.append(
                Note(status="resumed", trigger_type="resume", error="operator cleared the halt")
            )
        self.resumed = True
        self.state.paused = False
        self.state.pause_reason = ""
        self.state.status = TraderStatus.ACTIVE
        self.status_dirty = True
        schedules.restart(self.state.schedules, workflow.now())

    def _on_config_changed(self) -> None:
        self.config_dirty = True

    def _on_stop(self) -> None:
        self.stopping = True

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

    # Why an update: the caller wants to know whether the order was cancelled. Cancels pass
    # even when the trader is paused (they only reduce exposure).
    @workflow.update
    async def cancel_order(self, req: CancelRequest) -> CancelOrderResult:
        result: CancelOrderResult = await workflow.execute_activity(
            Activity.CANCEL_ORDER,
            CancelOrderInput(
                account_id=self.account_id, client_order_id=req.client_order_id, symbol=req.symbol
            ),
            result_type=CancelOrderResult,
            start_to_close_timeout=profiles.ORDER.start_to_close,
            retry_policy=profiles.ORDER.retry,
        )
        return result

    @cancel_order.validator
    def _validate_cancel(self, req: CancelRequest) -> None:
        if not req.client_order_id.startswith(f"ho-{self.account_id}-"):
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

    # --- internals ------------------------------------------------------------------------

    def _decode(
        self, payload: RawValue | None, model: type[BaseModel], name: str, allow_empty: bool = False
    ) -> Any:
        if payload is None:
            if allow_empty:
                return None
            error = "missing payload"
        else:
            try:
                raw = workflow.payload_converter().from_payload(payload.payload, dict)
                return model.model_validate(raw)
            except Exception as err:  # any bad input is recorded, never fails the task
                error = f"invalid payload: {str(err)[:800]}"
        self._reject(name, error)
        return None

    def _reject(self, name: str, error: str) -> None:
        self.notes.append(Note(status="rejected_input", trigger_type=name, error=error))

    def _has_work(self) -> bool:
        return bool(
            self.stopping
            or self.config_dirty
            or self.notes
            or self.status_dirty
            or (self.state.pending and not self.state.paused)
        )

    def _until_next_due(self) -> timedelta | None:
        now = workflow.now()
        waits = [] if self.state.paused else [schedules.until_next_due(self.state.schedules, now)]
        if self.state.next_sync is not None:
            waits.append(max(self.state.next_sync - now, timedelta(0)))
        if self.idle_since is not None:
            idle_until = self.idle_since + timedelta(seconds=self.idle_seconds)
            waits.append(max(idle_until - now, timedelta(0)))
        known = [w for w in waits if w is not None]
        return min(known) if known else None

    async def _sync_account(self, reason: str = "periodic") -> None:
        profile = profiles.SYNC if self.reconcile else profiles.CONTEXT
        req = SyncAccountInput(account_id=self.account_id, reason=reason)
        if reason != "periodic":  # periodic syncs are background: they do not end idleness
            self.steps += 1
        try:
            if self.paper and workflow.patched(LOCAL_PAPER_SYNC_PATCH):
                # Why a local activity: see profiles.PAPER_SYNC.
                result: SyncAccountResult = await execute_local(
                    Activity.SYNC_ACCOUNT, req, SyncAccountResult, profiles.PAPER_SYNC
                )
            else:
                result = await workflow.execute_activity(
                    Activity.SYNC_ACCOUNT,
                    req,
                    result_type=SyncAccountResult,
                    start_to_close_timeout=profile.start_to_close,
                    heartbeat_timeout=profile.heartbeat,
                    retry_policy=profile.retry,
                )
        except ActivityError as err:
            workflow.logger.warning("account sync failed, retrying next interval: %s", err)
            self._schedule_sync(True)
            return
        self._schedule_sync(result.open_positions > 0)

    def _schedule_sync(self, positions_open: bool) -> None:
        every = (
            POSITION_SYNC_SECONDS
            if positions_open
            else RECONCILE_SECONDS
            if self.reconcile
            else None
        )
        self.state.next_sync = None if every is None else workflow.now() + timedelta(seconds=every)

    def _enqueue_due_schedules(self) -> None:
        if not self.state.paused:
            self.state.pending += schedules.take_due(
                self.state.schedules, self.state.pending, workflow.now()
            )

    def _apply_bindings(self, bindings: list[BindingConfig]) -> None:
        self.bindings = bindings
        intervals = {b.id: b.schedule_interval_seconds for b in bindings}
        self.state.schedules = schedules.reconcile(self.state.schedules, intervals, workflow.now())

    def _binding_for(self, trig: PendingTrigger) -> int | None:
        ids = [b.id for b in self.bindings]
        if trig.binding_id is not None:
            return trig.binding_id if trig.binding_id in ids else None
        pool = trig.context.get("pool_id")
        if pool is not None:
            for b in self.bindings:
                if pool in b.signal_pool_ids:
                    return b.id
        return ids[0] if ids else None

    async def _run_next(self) -> None:
        trig = self.state.pending.pop(0)
        self.steps += 1
        assert self.state.next_seq is not None
        seq = self.state.next_seq
        self.state.next_seq += 1
        binding_id = self._binding_for(trig)
        binding = next((b for b in self.bindings if b.id == binding_id), None)
        run = DecisionRun(
            self.account_id,
            seq,
            trig,
            binding_id,
            lambda: self.state.paused,
            prompt=binding is not None and binding.prompt_id is not None,
            halt_reason=lambda: self.state.halt_reason,
        )
        outcome = await run.run()
        self.state.decisions_made += 1
        if outcome.orders and workflow.patched(POSITION_SYNC_PATCH):
            if self.state.next_sync is None:
                self._schedule_sync(True)
            elif self.reconcile:  # positions may be open now: sync at the position pace
                self.state.next_sync = min(
                    self.state.next_sync,
                    workflow.now() + timedelta(seconds=POSITION_SYNC_SECONDS),
                )
        if outcome.error_code == ORDER_UNKNOWN:
            self.state.halted = True
            self.state.halt_reason = f"{outcome.error_code}: {outcome.error}"
        if outcome.status == "failed":
            self.state.last_error = f"{outcome.error_code}: {outcome.error}"
            if not self.state.paused:
                self.state.status = TraderStatus.ERROR
        elif not self.state.paused:
            self.state.status = TraderStatus.ERROR if self.state.halted else TraderStatus.ACTIVE
        if trig.type is TriggerType.MANUAL:
            self.results[trig.key] = outcome
            recent = {**self.state.recent_manual, trig.key: outcome}
            self.state.recent_manual = dict(list(recent.items())[-MAX_RECENT_MANUAL:])

    async def _load_config(self) -> TraderConfig:
        self.config_dirty = False
        self.steps += 1
        cfg: TraderConfig = await run_step(
            Activity.LOAD_CONFIG,
            LoadConfigInput(account_id=self.account_id, run_id=workflow.info().run_id),
            TraderConfig,
            profiles.CONFIG,
            LOCAL_TRADER_STEPS_PATCH,
        )
        if cfg.deleted:
            self.stopping = True
        self.paper = cfg.paper
        self._apply_bindings(cfg.bindings)
        return cfg

    async def _record_status(self) -> None:
        self.status_dirty = False
        self.steps += 1
        await run_step(
            Activity.RECORD_STATUS,
            RecordStatusInput(
                account_id=self.account_id,
                status=self.state.status.value,
                reason=self.state.pause_reason
                if self.state.paused
                else self.state.halt_reason or self.state.last_error
                if self.state.status is TraderStatus.ERROR
                else None,
            ),
            None,
            profiles.RECORD,
            LOCAL_TRADER_STEPS_PATCH,
        )

    async def _flush_notes(self) -> None:
        while self.notes:
            note = self.notes.pop(0)
            self.steps += 1
            assert self.state.next_seq is not None
            seq = self.state.next_seq
            self.state.next_seq += 1
            info = workflow.info()
            await run_step(
                Activity.RECORD_NOTE,
                RecordNoteInput(
                    account_id=self.account_id,
                    decision_id=f"dec-{self.account_id}-{seq}",
                    seq=seq,
                    status=note.status,
                    trigger_type=note.trigger_type,
                    context=note.context,
                    error=note.error,
                    workflow_id=info.workflow_id,
                    run_id=info.run_id,
                ),
                None,
                profiles.RECORD,
                LOCAL_TRADER_STEPS_PATCH,
            )

    def _should_continue_as_new(self) -> bool:
        if any(p.type is TriggerType.MANUAL for p in self.state.pending) or self.notes:
            return False
        info = workflow.info()
        return info.is_continue_as_new_suggested() or (
            info.get_current_history_length() >= self.cas_events
        )
