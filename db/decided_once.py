"""A decision's intents and outcome: recorded the first time, and that record stands.

Why (see also db/decisions.py): the workflow task that ran a decision's local steps can be lost
after they committed, and its rerun may see a different world (the position the lost attempt
opened, a pause that arrived meanwhile). Whatever the rerun computes, the decision is the one
first recorded: `record_intents` answers with the verdict and intents already recorded, and
`finish` with the outcome already recorded. If a rerun finishes without carrying out intents an
earlier attempt recorded (it was denied, say, by a pause that came later), the record follows
what the orders' rows say happened: one that never went out is marked NOT_PLACED (a paper order
still in flight elsewhere then cannot fill: it checks its row under lock), the rest stand.

Each function runs inside one write transaction (db/transactions.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BindParameter, bindparam, insert, select, update
from sqlalchemy.orm import Session

from db import account_status, events, stream_events
from db.base import utcnow
from db.decisions import claim, create_row
from db.order_status import set_order_status
from db.orders import outcome_of
from db.tables import DECISIONS, ORDERS
from domain.contracts import (
    DecisionOutcome,
    FinishDecisionInput,
    RecordIntentsInput,
    RecordIntentsResult,
)
from domain.decision import Decision
from domain.events import EventData
from domain.ids import OrderLeg, decision_id
from domain.order_outcomes import settled_ok
from domain.orders import OrderIntent, OrderOutcome, OrderStatus
from domain.risk import RiskVerdict
from domain.trader import status_after_decision
from domain.vocabulary import DecisionStatus

NOT_PLACED = "NOT_PLACED: the decision was finished without sending this order"

# Built once, values bound at execution (see db/decisions.py).
_ID: BindParameter[str] = bindparam("b_id")
# What every call reads of the row (no JSON to decode), and what only the rare paths need.
_STATE = (
    select(
        DECISIONS.c.id,
        DECISIONS.c.seq,
        DECISIONS.c.created_at,
        DECISIONS.c.completed_at,
        DECISIONS.c.decided_at,
        DECISIONS.c.output.is_(None).label("no_output"),
        DECISIONS.c.trigger_type,  # the live stream's report of the finish (no JSON either)
        DECISIONS.c.error_code,
    )
    .where(DECISIONS.c.id == _ID)
    .with_for_update()
)
_RECORDED = select(
    DECISIONS.c.id,
    DECISIONS.c.seq,
    DECISIONS.c.status,
    DECISIONS.c.risk_verdict,
    DECISIONS.c.error_code,
    DECISIONS.c.error,
    DECISIONS.c.strategy_output,
    DECISIONS.c.output,
).where(DECISIONS.c.id == _ID)
_VERDICT = select(DECISIONS.c.risk_verdict).where(DECISIONS.c.id == _ID)
_LLM_EXCHANGE = select(DECISIONS.c.llm_exchange).where(DECISIONS.c.id == _ID)
# The decision's own legs (entry or close), as recorded with its intents; a live venue's TP/SL
# legs (`<entry id>:tp`) are the venue's orders, recorded beside them.
INTENT_LEGS = (OrderLeg.ENTRY, OrderLeg.CLOSE)
_ORDERS_OF = (
    select(ORDERS)
    .where(ORDERS.c.decision_id == _ID, ORDERS.c.leg.in_(INTENT_LEGS))
    .order_by(ORDERS.c.client_order_id)
)
_ORDER_IDS = select(ORDERS.c.client_order_id).where(
    ORDERS.c.decision_id == _ID, ORDERS.c.leg.in_(INTENT_LEGS)
)
_KNOWN_ORDERS = select(ORDERS.c.client_order_id).where(
    ORDERS.c.client_order_id.in_(bindparam("b_ids", expanding=True))
)
_INSERT_ORDER = insert(ORDERS)
_UPDATE = update(DECISIONS).where(DECISIONS.c.id == _ID)


def _intent_of(row: Any) -> OrderIntent:
    return OrderIntent(
        client_order_id=row.client_order_id,
        account_id=row.account_id,
        decision_id=row.decision_id,
        leg=row.leg,
        symbol=row.symbol,
        side=row.side,
        reduce_only=row.reduce_only,
        size_usd=row.size_usd,
        leverage=row.leverage,
        take_profit_pct=row.take_profit_pct,
        stop_loss_pct=row.stop_loss_pct,
        order_type=row.order_type,
        limit_price=row.limit_price,
        time_in_force=row.time_in_force,
        size_base=row.size_base,
    )


def _verdict(stored: Any) -> RiskVerdict | None:
    return None if stored is None else RiskVerdict.model_validate(stored)


def record_intents(s: Session, req: RecordIntentsInput) -> RecordIntentsResult:
    """Record the verdict and intents unless the decision already has them (or is finished);
    either way, answer with the ones recorded."""
    conn = s.connection()
    row = conn.execute(_STATE, {"b_id": req.decision_id}).first()
    if row is None:
        raise LookupError(f"decision {req.decision_id} has no row")
    if row.decided_at is not None or row.completed_at is not None:
        stored = conn.execute(_VERDICT, {"b_id": req.decision_id}).scalar()
        return RecordIntentsResult(
            recorded=0,
            verdict=_verdict(stored),
            intents=[_intent_of(o) for o in conn.execute(_ORDERS_OF, {"b_id": req.decision_id})],
            completed=row.completed_at is not None,
        )
    known = set(conn.scalars(_KNOWN_ORDERS, {"b_ids": [i.client_order_id for i in req.intents]}))
    rows = [
        {
            "client_order_id": intent.client_order_id,
            "decision_id": req.decision_id,
            "account_id": intent.account_id,
            "leg": intent.leg,
            "symbol": intent.symbol,
            "side": intent.side,
            "reduce_only": intent.reduce_only,
            "size_usd": intent.size_usd,
            "leverage": intent.leverage,
            "take_profit_pct": intent.take_profit_pct,
            "stop_loss_pct": intent.stop_loss_pct,
            "order_type": intent.order_type.value,
            "limit_price": intent.limit_price,
            "time_in_force": intent.time_in_force,
            "size_base": intent.size_base,
            "name": req.label or None,
            "status": OrderStatus.INTENT.value,
        }
        for intent in req.intents
        if intent.client_order_id not in known
    ]
    if rows:
        conn.execute(_INSERT_ORDER, rows)
    verdict = req.verdict.model_dump(mode="json") if req.verdict else None
    conn.execute(
        _UPDATE, {"b_id": req.decision_id, "decided_at": utcnow(), "risk_verdict": verdict}
    )
    return RecordIntentsResult(recorded=len(req.intents), verdict=req.verdict, intents=req.intents)


def _decision(row: Any) -> Decision | None:
    for stored in (row.strategy_output, row.output):
        if stored and stored.get("decision"):
            return Decision.model_validate(stored["decision"])
    return None


def _recorded(row: Any, orders: list[OrderOutcome]) -> DecisionOutcome:
    return DecisionOutcome(
        decision_id=row.id,
        seq=row.seq,
        status=row.status,
        decision=_decision(row),
        risk_verdict=_verdict(row.risk_verdict),
        error_code=row.error_code,
        error=row.error,
        orders=orders,
    )


def _from_orders(
    s: Session, row: Any, req: FinishDecisionInput, orders: list[OrderOutcome]
) -> DecisionOutcome:
    """The outcome of a decision whose recorded intents this attempt did not carry out."""
    intents = {
        i.client_order_id: i
        for i in map(_intent_of, s.connection().execute(_ORDERS_OF, {"b_id": row.id}))
    }
    bad = [o for o in orders if not settled_ok(intents[o.client_order_id], o)]
    return DecisionOutcome(
        decision_id=row.id,
        seq=row.seq,
        status=DecisionStatus.FAILED if bad else DecisionStatus.EXECUTED,
        decision=_decision(row) or req.decision,
        risk_verdict=_verdict(row.risk_verdict),
        error_code="ORDER_REJECTED" if bad else None,
        error="; ".join(f"{o.client_order_id}: {o.reject_reason}" for o in bad) or None,
        orders=orders,
    )


def _orders(s: Session, decision: str) -> list[OrderOutcome]:
    return [outcome_of(o) for o in s.connection().execute(_ORDERS_OF, {"b_id": decision})]


def finish(s: Session, req: FinishDecisionInput) -> DecisionOutcome:
    """Record the decision's outcome, unless one is recorded already: the answer is the
    recorded outcome either way (see the module docstring). The first finish reports the
    decision on the live stream (a re-answer reports nothing new), and either reports the
    trader's status if it changed, in the same transaction."""
    conn = s.connection()
    now = utcnow()
    row = conn.execute(_STATE, {"b_id": req.decision_id}).first()
    if row is None:  # context gathering never created it
        claimed = claim(
            s,
            req.account_id,
            req.trigger_key,
            req.decision_id,
            req.seq,
            lambda seq: decision_id(req.account_id, seq),
        )
        if not claimed.found:
            outcome = _as_asked(req, claimed.decision_id, claimed.seq)
            create_row(
                s,
                claimed.decision_id,
                account_id=req.account_id,
                seq=claimed.seq,
                binding_id=req.binding_id,
                trigger_type=req.trigger_type,
                trigger_context=req.trigger_context,
                trigger_key=req.trigger_key or None,
                completed_at=now,
                **_values(s, req, outcome, None),
            )
            report = _report(req.account_id, req.trigger_type, outcome, outcome.error_code, now)
            _record_trader_status(s, req, outcome, report)
            return outcome
        row = conn.execute(_STATE, {"b_id": claimed.decision_id}).one()
    if row.completed_at is not None:
        outcome = _recorded(conn.execute(_RECORDED, {"b_id": row.id}).one(), _orders(s, row.id))
        _record_trader_status(s, req, outcome)
        return outcome
    carried = {o.client_order_id for o in req.orders}
    recorded_ids: list[str] = (
        [] if row.decided_at is None else list(conn.scalars(_ORDER_IDS, {"b_id": row.id}))
    )
    if any(i not in carried for i in recorded_ids):
        # (The usual finish carries every intent it recorded: it reads ids only, no JSON.)
        for o in _orders(s, row.id):
            if o.status is OrderStatus.INTENT:
                set_order_status(
                    s,
                    o.client_order_id,
                    OrderStatus.REJECTED,
                    "not_placed",
                    only_from=(OrderStatus.INTENT,),  # under its lock: it may be in flight
                    reject_reason=NOT_PLACED,
                )
        recorded = conn.execute(_RECORDED, {"b_id": row.id}).one()
        outcome = _from_orders(s, recorded, req, _orders(s, row.id))
    else:
        # The verdict is the one the intents were recorded with: the workflow carries that.
        outcome = _as_asked(req, row.id, row.seq)
    values = _values(s, req, outcome, row)
    values["completed_at"] = now
    if row.created_at is not None:
        created = row.created_at
        if created.tzinfo is None:
            created = created.replace(tzinfo=now.tzinfo)
        values["duration_ms"] = int((now - created).total_seconds() * 1000)
    conn.execute(_UPDATE, {"b_id": row.id, **values})
    # The row keeps an earlier error code (the strategy's) unless the outcome sets one.
    error_code = values.get("error_code", row.error_code)
    report = _report(req.account_id, row.trigger_type, outcome, error_code, now)
    _record_trader_status(s, req, outcome, report)
    return outcome


def _report(
    account_id: int,
    trigger_type: str,
    outcome: DecisionOutcome,
    error_code: str | None,
    at: datetime,
) -> EventData:
    """The finished decision as its row now says (domain/events.py ModelChatUpdate)."""
    return stream_events.decision_finished(
        account_id,
        outcome.decision_id,
        outcome.seq or 0,
        trigger_type,
        outcome.status,
        outcome.decision,
        outcome.risk_verdict,
        error_code,
        at,
    )


def _as_asked(req: FinishDecisionInput, decision: str, seq: int) -> DecisionOutcome:
    return DecisionOutcome(
        decision_id=decision,
        seq=seq,
        status=req.status,
        decision=req.decision,
        risk_verdict=req.risk_verdict,
        error_code=req.error_code,
        error=req.error,
        orders=req.orders,
    )


def _values(
    s: Session, req: FinishDecisionInput, outcome: DecisionOutcome, row: Any
) -> dict[str, Any]:
    """The row's columns for `outcome`; `row`: its _STATE (None: a new row)."""
    verdict = outcome.risk_verdict
    values: dict[str, Any] = {
        "status": outcome.status,
        "risk_verdict": verdict.model_dump(mode="json") if verdict else None,
    }
    if outcome.error_code or outcome.error:
        values.update(error_code=outcome.error_code, error=outcome.error)
    if req.llm:
        earlier = None
        if row is not None:
            earlier = s.connection().execute(_LLM_EXCHANGE, {"b_id": row.id}).scalar()
        values["llm_exchange"] = {**(earlier or {}), **req.llm}
    if outcome.decision is not None and (row is None or row.no_output):  # prompts
        values["output"] = {"decision": outcome.decision.model_dump(mode="json")}
    return values


def _record_trader_status(
    s: Session, req: FinishDecisionInput, outcome: DecisionOutcome, *reports: EventData
) -> None:
    """The trader's status after this decision, from the outcome that stands; `reports` and
    the status change, if any, go to the live stream in one insert."""
    status, reason = status_after_decision(
        outcome.status,
        outcome.error_code,
        outcome.error,
        paused=req.paused,
        halt_reason=req.halt_reason,
        pause_reason=req.pause_reason,
        owner_order=req.owner_order,
    )
    changed = account_status.after_decision(s, req.account_id, status, reason)
    events.append(s, *reports, *([changed] if changed else []))
