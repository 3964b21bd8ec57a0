"""What the trader does with each message: signal fired, pause, resume, config changed, stop.

Workflow code, mixed into TraderWorkflow (workflows/trader.py), whose dynamic signal handler
decodes nothing itself and dispatches here; a bad payload becomes a note, never a failed task.
One rule for every message: one that is rejected (recorded as `rejected_input`) has no effect.
"""

from __future__ import annotations

from typing import Any

from temporalio import workflow
from temporalio.common import RawValue

with workflow.unsafe.imports_passed_through():
    from pydantic import BaseModel

    from domain import schedules
    from domain.contracts import DecisionOutcome
    from domain.trader import (
        MAX_RECENT_FIRE_IDS,
        Note,
        PauseRequest,
        PendingTrigger,
        SignalFired,
        StopRequest,
        TraderStatus,
        TriggerType,
    )
    from domain.vocabulary import DecisionStatus
    from workflows.trader_steps import TraderSteps


class TraderMessages(TraderSteps):
    resumed: bool  # a resume arrived: reconcile before the next decision
    stop_request: StopRequest | None  # a stop arrived: checked (and recorded) by the loop

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
                    status=DecisionStatus.IGNORED,
                    trigger_type=TriggerType.SIGNAL.value,
                    context=context,
                    error="trader paused",
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
        req = self._decode(payload, PauseRequest, "pause", allow_empty=True)
        if req is None and payload is not None:
            return
        req = req or PauseRequest()
        if self.state.paused:
            return
        self.state.paused = True
        self.state.pause_reason = req.reason
        self.state.status = TraderStatus.PAUSED
        self.status_dirty = True
        # The owner's closes still run while paused (they only reduce exposure).
        owners = [t for t in self.state.pending if t.owners]
        for trig in (t for t in self.state.pending if not t.owners):
            self.notes.append(
                Note(
                    status=DecisionStatus.IGNORED,
                    trigger_type=trig.type.value,
                    context=trig.context,
                    error="trader paused before the decision ran",
                )
            )
            if trig.type is TriggerType.MANUAL:
                self.results[trig.key] = DecisionOutcome(
                    decision_id="",
                    status=DecisionStatus.IGNORED,
                    error="trader paused before the decision ran",
                )
        self.state.pending = owners

    def _on_resume(self, payload: RawValue | None) -> None:
        if not self._no_input(payload, "resume"):
            return
        if not self.state.paused and not self.state.halted:
            return
        if self.state.halted:  # the operator checked the venue after an unknown order
            self.state.halted = False
            self.state.halt_reason = ""
            self.notes.append(
                Note(
                    status=DecisionStatus.RESUMED,
                    trigger_type="resume",
                    error="operator cleared the halt",
                )
            )
        self.resumed = True
        self.state.paused = False
        self.state.pause_reason = ""
        self.state.status = TraderStatus.ACTIVE
        self.status_dirty = True
        schedules.restart(self.state.schedules, workflow.now())

    def _on_config_changed(self, payload: RawValue | None) -> None:
        if self._no_input(payload, "config_changed"):
            self.config_dirty = True

    def _on_stop(self, payload: RawValue | None) -> None:
        req = self._decode(payload, StopRequest, "stop", allow_empty=True)
        if req is None and payload is not None:
            return
        self.stop_request = req or StopRequest()

    def _no_input(self, payload: RawValue | None, name: str) -> bool:
        """A message that takes no input: none, null or {} pass; anything else is rejected."""
        if payload is None:
            return True
        try:
            raw: object = workflow.payload_converter().from_payload(payload.payload, Any)
        except Exception as err:  # any bad input is recorded, never fails the task
            self._reject(name, f"invalid payload: {str(err)[:800]}")
            return False
        if raw is None or raw == {}:
            return True
        self._reject(name, f"{name} takes no input, got {str(raw)[:200]!r}")
        return False

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
        self.notes.append(
            Note(status=DecisionStatus.REJECTED_INPUT, trigger_type=name, error=error)
        )
