"""The trader's steps and timing: configuration, status, notes, account syncs, decisions.

Workflow code, mixed into TraderWorkflow (workflows/trader.py), which owns the state these
methods use; pure orchestration like the rest of workflows/.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from domain import schedules
    from domain.contracts import (
        BindingConfig,
        DecisionOutcome,
        LoadConfigInput,
        RecordNoteInput,
        RecordStatusInput,
        SyncAccountInput,
        TraderConfig,
    )
    from domain.ids import decision_id
    from domain.trader import (
        MAX_RECENT_MANUAL,
        POSITION_SYNC_SECONDS,
        RECONCILE_SECONDS,
        Instant,
        Note,
        PendingTrigger,
        StopRequest,
        TraderState,
        TraderStatus,
        TriggerType,
        fails_the_trader,
    )
    from domain.vocabulary import DecisionStatus
    from workflows import steps
    from workflows.decision import ORDER_UNKNOWN, DecisionRun
    from workflows.trader_breakers import TraderBreakers


class TraderSteps(TraderBreakers):
    # Set by TraderWorkflow.__init__.
    account_id: int
    state: TraderState
    bindings: list[BindingConfig]
    paper: bool  # from the configuration: the account is on the paper exchange
    notes: list[Note]
    results: dict[str, DecisionOutcome]
    config_dirty: bool
    status_dirty: bool
    stopping: bool
    stop_request: StopRequest | None  # a stop signal, checked by the loop (_stop_if_deleted)
    steps: int  # steps this run has run, periodic syncs aside (a continued run: none)
    idle_seconds: int
    idle_since: Instant | None  # when this run went idle after its last step

    def _has_work(self) -> bool:
        return bool(
            self.stopping
            or self.stop_request is not None
            or self.config_dirty
            or self.notes
            or self.status_dirty
            or self._runnable()
        )

    def _runnable(self) -> bool:
        """A trigger waits and may run now: any while active; only the owner's own decisions
        (closes) while paused."""
        pending = self.state.pending
        return bool(pending) and (not self.state.paused or pending[0].owners)

    async def _stop_if_deleted(self) -> None:
        """`stop` ends the run of a deleted trader only (the API sends it after the delete);
        anything else would leave the API and the workflow disagreeing, so it is rejected."""
        req, self.stop_request = self.stop_request, None
        cfg = await self._load_config()  # a deleted trader: stopping
        if not cfg.found:
            self.stopping = True
        if not self.stopping:
            self.notes.append(
                Note(
                    status=DecisionStatus.REJECTED_INPUT,
                    trigger_type="stop",
                    error="stop only ends a deleted trader's workflow and this trader is not "
                    "deleted (pause it, or delete it through the API)",
                )
            )
            return
        if req is not None and req.left_positions:
            self.notes.append(
                Note(
                    status=DecisionStatus.DELETED,
                    trigger_type="delete",
                    context={"left_positions": req.left_positions},
                    error="deleted with open positions, left unwatched at the owner's request",
                )
            )
        await self._flush_notes()

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
        req = SyncAccountInput(account_id=self.account_id, reason=reason)
        if reason != "periodic":  # periodic syncs are background: they do not end idleness
            self.steps += 1
        try:
            step = steps.SYNC_PAPER_ACCOUNT if self.paper else steps.SYNC_ACCOUNT
            result = await steps.run(step, req)
        except ActivityError as err:
            workflow.logger.warning("account sync failed, retrying next interval: %s", err)
            self._schedule_sync(True)
            return
        # A resting limit order is checked against the marks on each sync: the position pace.
        self._schedule_sync(result.open_positions > 0 or result.resting_orders > 0)
        if result.breaker is not None:
            self._on_breaker(result.breaker)

    def _schedule_sync(self, watching: bool) -> None:
        every = POSITION_SYNC_SECONDS if watching else RECONCILE_SECONDS
        self.state.next_sync = workflow.now() + timedelta(seconds=every)

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
        binding_id = None if trig.owners else self._binding_for(trig)
        binding = next((b for b in self.bindings if b.id == binding_id), None)
        run = DecisionRun(
            self.account_id,
            seq,
            trig,
            binding_id,
            lambda: self.state.paused,
            prompt=binding is not None and binding.prompt_id is not None,
            halt_reason=lambda: self.state.halt_reason,
            pause_reason=lambda: self.state.pause_reason,
        )
        outcome = await run.run()
        # The number the decision was recorded under (decided once: not always the proposed).
        self.state.next_seq = max(self.state.next_seq, run.seq + 1)
        self.state.decisions_made += 1
        if outcome.orders:
            if self.breakers:  # the breakers judge the equity the decision left: sync now
                self.state.next_sync = workflow.now()
            elif self.state.next_sync is None:
                self._schedule_sync(True)
            else:  # positions may be open now: sync at the position pace
                self.state.next_sync = min(
                    self.state.next_sync,
                    workflow.now() + timedelta(seconds=POSITION_SYNC_SECONDS),
                )
        if outcome.error_code == ORDER_UNKNOWN:
            self.state.halted = True
            self.state.halt_reason = f"{outcome.error_code}: {outcome.error}"
        failed = fails_the_trader(outcome.status, outcome.error_code, trig.order is not None)
        if failed:
            self.state.last_error = f"{outcome.error_code}: {outcome.error}"
            if not self.state.paused:
                self.state.status = TraderStatus.ERROR
        else:
            self.state.last_error = None  # a later success clears it (as it clears Error)
        if not failed and not self.state.paused:
            self.state.status = TraderStatus.ERROR if self.state.halted else TraderStatus.ACTIVE
        if trig.type is TriggerType.MANUAL:
            self.results[trig.key] = outcome
            recent = {**self.state.recent_manual, trig.key: outcome}
            self.state.recent_manual = dict(list(recent.items())[-MAX_RECENT_MANUAL:])

    async def _load_config(self) -> TraderConfig:
        self.config_dirty = False
        self.steps += 1
        cfg = await steps.run(
            steps.LOAD_CONFIG,
            LoadConfigInput(account_id=self.account_id, run_id=workflow.info().run_id),
        )
        if cfg.deleted:
            self.stopping = True
        self.paper = cfg.paper
        self.breakers = cfg.breakers
        self._apply_bindings(cfg.bindings)
        return cfg

    async def _record_status(self) -> None:
        self.status_dirty = False
        self.steps += 1
        await steps.run(
            steps.RECORD_STATUS,
            RecordStatusInput(
                account_id=self.account_id,
                status=self.state.status.value,
                reason=self.state.pause_reason
                if self.state.paused
                else self.state.halt_reason or self.state.last_error
                if self.state.status is TraderStatus.ERROR
                else None,
            ),
        )

    async def _flush_notes(self) -> None:
        while self.notes:
            note = self.notes.pop(0)
            self.steps += 1
            assert self.state.next_seq is not None
            seq = self.state.next_seq
            self.state.next_seq += 1
            info = workflow.info()
            # Why a key: a note is recorded once even if the task that recorded it is lost and
            # rerun; numbered in the order notes arise, within this chain of runs.
            self.state.notes_made += 1
            key = f"note-{info.first_execution_run_id}-{self.state.notes_made}"
            recorded = await steps.run(
                steps.RECORD_NOTE,
                RecordNoteInput(
                    account_id=self.account_id,
                    decision_id=decision_id(self.account_id, seq),
                    seq=seq,
                    status=note.status,
                    trigger_type=note.trigger_type,
                    context=note.context,
                    error=note.error,
                    workflow_id=info.workflow_id,
                    run_id=info.run_id,
                    trigger_key=key,
                ),
            )
            self.state.next_seq = max(self.state.next_seq, recorded.seq + 1)
