"""How the trader pauses itself: the one pause every path shares (the owner's pause signal,
the kill switch, a circuit breaker), and what a tripped circuit breaker does.

Workflow code, mixed into TraderWorkflow (workflows/trader.py) below TraderSteps, whose account
sync hands a trip here. The breakers themselves are judged in the sync activity
(adapters/breakers.py, domain/breakers.py): this module only orchestrates.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.breakers import BreakerTrip
    from domain.contracts import DecisionOutcome
    from domain.decision import Decision, Operation
    from domain.round_trips import BREAKER_CLOSE_KEY_PREFIX
    from domain.trader import Note, PendingTrigger, TraderState, TraderStatus, TriggerType
    from domain.vocabulary import DecisionStatus

CIRCUIT_BREAKER = TriggerType.CIRCUIT_BREAKER.value


class TraderBreakers:
    # Set by TraderWorkflow.__init__.
    state: TraderState
    notes: list[Note]
    results: dict[str, DecisionOutcome]
    status_dirty: bool
    stopping: bool
    breakers: bool  # from the configuration: circuit breakers are set (TraderConfig.breakers)

    def _pause_now(self, reason: str) -> None:
        """Pause: triggers waiting for a decision are dropped (each noted); the owner's and the
        breakers' closes still run (they only reduce exposure)."""
        self.state.paused = True
        self.state.pause_reason = reason
        self.state.status = TraderStatus.PAUSED
        self.status_dirty = True
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

    def _on_breaker(self, trip: BreakerTrip) -> None:
        """A circuit breaker tripped on the last sync: pause with its stable reason, note it in
        the decision log, and close each position when the trader is set to. A trader already
        paused (by its owner, or an earlier trip) is left as it is."""
        if self.state.paused or self.stopping:
            return
        self._pause_now(trip.reason)
        self.notes.append(
            Note(
                status=DecisionStatus.PAUSED,
                trigger_type=CIRCUIT_BREAKER,
                context={
                    "breaker": trip.kind.value,
                    "equity": str(trip.equity),
                    "closes_positions": trip.closes_positions,
                    "symbols": trip.symbols,
                },
                error=trip.reason,
            )
        )
        stamp = f"{workflow.now():%Y%m%dT%H%M%S%f}"
        for symbol in trip.symbols if trip.closes_positions else []:
            self.state.pending.append(
                PendingTrigger(
                    key=f"{BREAKER_CLOSE_KEY_PREFIX}{stamp}-{symbol}",
                    type=TriggerType.CIRCUIT_BREAKER,
                    context={"close": symbol, "reason": trip.reason},
                    decision=Decision(
                        operation=Operation.CLOSE, symbol=symbol, reasoning=trip.reason
                    ),
                )
            )
