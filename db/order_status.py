"""Every change of an order's status, checked against the order state table (domain/orders.py).

`set_order_status` is the one writer of `orders.status` after the row's creation (a guard test,
tests/unit/test_order_status_writes.py, keeps it so). A move the table allows is written with the
columns given; a move it does not allow (a venue that reports a filled order as cancelled, say)
keeps the stored status and columns, since what we knew is not lost to a later, impossible
report, and is recorded as an `illegal_transition` reconciliation finding in the same
transaction, once per order and move.

A move to `cancelled` is reported on the live stream (a `trade_update` of kind cancel) in the
same transaction.

An order its decision finished with unsettled (`unknown`: its answer lost; `intent`: never
sent), once settled, is recorded as an `order_resolved` reconciliation finding in the same
transaction as the move, whoever settles it (a reconciliation, a lookup that outlived its
step), once per order and new status: no reader ever sees such an order settled without its
finding, and no failure after the write can lose it.

It runs inside the caller's write transaction (a plain `Session`, db/transactions.py) and reads
the row FOR UPDATE (PostgreSQL; SQLite has one writer), so the check and the write see the same
status.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from typing import Any, overload

from sqlalchemy import BindParameter, Row, bindparam, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from db import events, stream_events
from db.base import utcnow
from db.orders import outcome_of
from db.tables import DECISIONS, ORDERS, RECONCILIATION_EVENTS
from domain.orders import OrderOutcome, OrderStatus, can_transition

log = logging.getLogger(__name__)

ILLEGAL_TRANSITION = "illegal_transition"
ORDER_RESOLVED = "order_resolved"
# `reconciliation_events.reason` says what found it: here the write itself, not a sync.
FOUND_BY = "order_write"
# What a finished decision can leave an order in, for a later lookup to settle.
UNSETTLED = (OrderStatus.UNKNOWN, OrderStatus.INTENT)

# Built once, values bound at execution (see db/decisions.py).
_COID: BindParameter[str] = bindparam("b_coid")
_LOCKED = select(ORDERS).where(ORDERS.c.client_order_id == _COID).with_for_update()
_UPDATE = update(ORDERS).where(ORDERS.c.client_order_id == _COID)
_FINISHED = select(DECISIONS.c.completed_at.is_not(None)).where(
    DECISIONS.c.id == bindparam("b_decision")
)
# Once per fingerprint: a second report of the same move inserts nothing (and aborts nothing).
_FINDING = {
    name: dialect.insert(RECONCILIATION_EVENTS).on_conflict_do_nothing()
    for name, dialect in (("sqlite", sqlite), ("postgresql", postgresql))
}


@overload
def set_order_status(
    s: Session,
    order: Row[Any],
    new: OrderStatus,
    where: str,
    *,
    only_from: Collection[OrderStatus] | None = None,
    found_by: str = FOUND_BY,
    **values: Any,
) -> OrderOutcome: ...


@overload
def set_order_status(
    s: Session,
    order: str,
    new: OrderStatus,
    where: str,
    *,
    only_from: Collection[OrderStatus] | None = None,
    found_by: str = FOUND_BY,
    **values: Any,
) -> OrderOutcome | None: ...


def set_order_status(
    s: Session,
    order: str | Row[Any],
    new: OrderStatus,
    where: str,
    *,
    only_from: Collection[OrderStatus] | None = None,
    found_by: str = FOUND_BY,
    **values: Any,
) -> OrderOutcome | None:
    """Move an order to `new` (with `values`: other columns of the row) if the table allows it.

    `order`: its client order id (the row is read here, FOR UPDATE), or its row as the caller
    already read it FOR UPDATE in this transaction. `where`: which writer asks, for the finding.
    `only_from`: the caller's own precondition (e.g. "only an order that never went out"); a
    row in another status is left alone and is no finding. `found_by`: the `reason` of the
    `order_resolved` finding this move records, if it settles an order its finished decision
    left unsettled (a sync passes its own: start, resume, periodic). Returns what the row says
    afterwards (None: no such order)."""
    conn = s.connection()
    row = conn.execute(_LOCKED, {"b_coid": order}).first() if isinstance(order, str) else order
    if row is None:
        return None
    current = OrderStatus(row.status)
    if only_from is not None and current not in only_from:
        return outcome_of(row)
    if not can_transition(current, new):
        _record_illegal(s, row, current, new, where, values)
        return outcome_of(row)
    at = utcnow()
    changed = {"status": new.value, **values}
    conn.execute(_UPDATE, {"b_coid": row.client_order_id, "updated_at": at, **changed})
    after = outcome_of(row, **changed)
    if current in UNSETTLED and new is not current and _finished(s, row):
        _record_settled(s, row, current, new, where, found_by)
    if new is OrderStatus.CANCELLED and current is not OrderStatus.CANCELLED:
        # A cancel is the only event of its transaction (router.mark_cancelled, a venue's
        # word recorded by the live exchange): appended here, with the row's `updated_at`.
        events.append(s, stream_events.cancelled(row, after.exchange_order_id, at))
    return after


_RESTING = (
    select(func.count())
    .select_from(ORDERS)
    .where(
        ORDERS.c.account_id == bindparam("b_account"),
        ORDERS.c.status == OrderStatus.SUBMITTED.value,
    )
)


def resting_orders(s: Session, account_id: int) -> int:
    """How many of the trader's orders rest at the venue (sent, not settled: `submitted`)."""
    return int(s.connection().execute(_RESTING, {"b_account": account_id}).scalar_one())


def _finished(s: Session, row: Row[Any]) -> bool:
    """Whether the order's decision is finished (its outcome recorded, the order in it)."""
    done = s.connection().execute(_FINISHED, {"b_decision": row.decision_id}).scalar()
    return bool(done)


def _record_settled(
    s: Session, row: Row[Any], current: OrderStatus, new: OrderStatus, where: str, found_by: str
) -> None:
    coid = row.client_order_id
    conn = s.connection()
    detail = {"from": current.value, "to": new.value, "symbol": row.symbol, "where": where}
    conn.execute(
        _FINDING[conn.dialect.name],
        {
            "account_id": row.account_id,
            "kind": ORDER_RESOLVED,
            "subject": coid[:128],
            "reason": found_by[:16],
            "detail": detail,
            "fingerprint": f"order:{coid}:{new.value}"[:255],
        },
    )


def _record_illegal(
    s: Session,
    row: Row[Any],
    current: OrderStatus,
    new: OrderStatus,
    where: str,
    values: dict[str, Any],
) -> None:
    coid = row.client_order_id
    log.warning(
        "order %s: %s -> %s is not a legal move (%s); kept %s, recorded as %s",
        coid, current.value, new.value, where, current.value, ILLEGAL_TRANSITION,
    )  # fmt: skip
    conn = s.connection()
    detail: dict[str, Any] = {
        "from": current.value,
        "to": new.value,
        "symbol": row.symbol,
        "where": where,
    }
    reported = {k: str(v) for k, v in values.items() if v is not None}
    if reported:
        detail["reported"] = reported  # what the refused report said, kept for the operator
    conn.execute(
        _FINDING[conn.dialect.name],
        {
            "account_id": row.account_id,
            "kind": ILLEGAL_TRANSITION,
            "subject": coid[:128],
            "reason": FOUND_BY,
            "detail": detail,
            "fingerprint": f"order:{coid}:{current.value}->{new.value}"[:255],
        },
    )
