"""The live stream's event log (domain/events.py): appended by the worker inside the
transaction of what an event reports, read by the API in id order, trimmed by age.

Every function takes a plain `Session` and runs inside the caller's transaction (see
db/transactions.py), so an event commits or rolls back with its subject.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import bindparam, delete, func, insert, select
from sqlalchemy.orm import Session

from db.tables import EVENTS
from domain.events import TYPE_OF, Event, EventData

# Built once, values bound at execution (see db/decisions.py).
_INSERT = insert(EVENTS)
_LAST_ID = select(func.max(EVENTS.c.id))
_FIRST_ID = select(func.min(EVENTS.c.id))
_AFTER = (
    select(EVENTS.c.id, EVENTS.c.account_id, EVENTS.c.type, EVENTS.c.data, EVENTS.c.created_at)
    .where(EVENTS.c.id > bindparam("b_after"))
    .order_by(EVENTS.c.id)
    .limit(bindparam("b_limit"))
)


def append(s: Session, *events: EventData) -> None:
    """Record `events` in the caller's transaction (nothing if none)."""
    if not events:
        return
    s.connection().execute(
        _INSERT,
        [
            {
                "account_id": e.account_id,
                "type": TYPE_OF[type(e)].value,
                "data": e.model_dump(mode="json"),
                "created_at": e.time,
            }
            for e in events
        ],
    )


def after(
    s: Session, after_id: int, limit: int, account_ids: Iterable[int] | None = None
) -> list[Event]:
    """Up to `limit` events with an id above `after_id`, oldest first; only those of
    `account_ids` when given."""
    stmt = _AFTER
    if account_ids is not None:
        stmt = stmt.where(EVENTS.c.account_id.in_(list(account_ids)))
    rows = s.connection().execute(stmt, {"b_after": after_id, "b_limit": limit})
    return [
        Event(id=r.id, account_id=r.account_id, type=r.type, data=r.data, created_at=r.created_at)
        for r in rows
    ]


def last_id(s: Session) -> int:
    """The newest event's id (0: none yet)."""
    return int(s.connection().execute(_LAST_ID).scalar() or 0)


def first_id(s: Session) -> int:
    """The oldest event still kept (0: none): a client whose last id is below it missed some."""
    return int(s.connection().execute(_FIRST_ID).scalar() or 0)


def trim(s: Session, older_than: datetime, limit: int | None = None) -> int:
    """Delete events recorded before `older_than` (at most the `limit` oldest); how many went."""
    old = EVENTS.c.created_at < older_than
    if limit is not None:
        oldest = select(EVENTS.c.id).where(old).order_by(EVENTS.c.id).limit(limit)
        old = EVENTS.c.id.in_(oldest.scalar_subquery())
    result = s.connection().execute(delete(EVENTS).where(old))
    return int(result.rowcount or 0)


def by_ids(s: Session, ids: Iterable[int]) -> list[Event]:
    """The events among `ids` recorded by now, oldest first (a reader watching for ids that
    were missing when it read past them: PostgreSQL commits ids out of order)."""
    wanted = sorted(set(ids))
    if not wanted:
        return []
    stmt = (
        select(EVENTS.c.id, EVENTS.c.account_id, EVENTS.c.type, EVENTS.c.data, EVENTS.c.created_at)
        .where(EVENTS.c.id.in_(wanted))
        .order_by(EVENTS.c.id)
    )
    return [
        Event(id=r.id, account_id=r.account_id, type=r.type, data=r.data, created_at=r.created_at)
        for r in s.connection().execute(stmt)
    ]
