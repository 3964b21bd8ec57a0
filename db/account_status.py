"""A trader's recorded status (`accounts.status`, `status_reason`), and the `status_update` each
change of it reports on the live stream, in the transaction that writes it.

Three writers: the finish of a decision (`after_decision`, on every decision's path), the
workflow's own record (`record`: pause, resume, halt, error) and the API's ORM writes (pause,
resume, delete), which `ReportingSession` reports when it flushes them. A write that leaves
status and reason as they were reports nothing.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BindParameter, bindparam, event, inspect, or_, update
from sqlalchemy.orm import Session

from db import events, stream_events
from db.base import utcnow
from db.models import Account
from db.tables import ACCOUNTS
from domain.events import StatusUpdate
from domain.trader import TraderStatus

# Built once, values bound at execution (see db/decisions.py).
_ACCOUNT: BindParameter[int] = bindparam("b_account")
_STATUS: BindParameter[str] = bindparam("b_status")
_REASON: BindParameter[str | None] = bindparam("b_reason")
# Why the condition: a decision rarely changes the status, and a row updated only when it
# does tells (by its row count) whether there is anything to report, in the one statement a
# decision already ran. Under the row's lock, so the comparison is with what the row holds.
_SET = (
    update(ACCOUNTS)
    .where(
        ACCOUNTS.c.id == _ACCOUNT,
        or_(
            ACCOUNTS.c.status.is_distinct_from(_STATUS),
            ACCOUNTS.c.status_reason.is_distinct_from(_REASON),
        ),
    )
    .values(status=_STATUS, status_reason=_REASON)
)
_CHANGE = _SET.where(ACCOUNTS.c.is_deleted.is_(False))
_ENABLED = (
    update(ACCOUNTS)
    .where(ACCOUNTS.c.id == _ACCOUNT, ACCOUNTS.c.is_deleted.is_(False))
    .values(trading_enabled=bindparam("b_enabled"))
)


def after_decision(
    s: Session, account_id: int, status: TraderStatus, reason: str | None
) -> StatusUpdate | None:
    """Record the status a decision leaves the trader in (a deleted trader's row is left
    alone); the event to report if it changed, for the caller to append with its own."""
    params = {"b_account": account_id, "b_status": status.value, "b_reason": reason}
    if not s.connection().execute(_CHANGE, params).rowcount:
        return None
    return stream_events.status_changed(account_id, status.value, reason, utcnow())


def record(s: Session, account_id: int, status: str, reason: str | None) -> None:
    """The trader's status as its workflow sees it (a deleted trader's row is left alone),
    reported if it changed."""
    conn = s.connection()
    params = {"b_account": account_id, "b_status": status, "b_reason": reason}
    changed = conn.execute(_CHANGE, params).rowcount
    conn.execute(_ENABLED, {"b_account": account_id, "b_enabled": status != TraderStatus.PAUSED})
    if changed:
        events.append(s, stream_events.status_changed(account_id, status, reason, utcnow()))


class ReportingSession(Session):
    """The ORM session of every process (db/session.py): a flush that changes a trader's
    status or reason (the API's start, pause, delete) reports it in the same transaction."""


def _assigned(obj: Account) -> bool:
    state: Any = inspect(obj)
    return any(state.attrs[name].history.has_changes() for name in ("status", "status_reason"))


@event.listens_for(ReportingSession, "before_flush")
def _report_status_writes(session: Session, _context: Any, _instances: Any) -> None:
    # Why not the attributes' history alone: it compares with the value this session loaded,
    # and the workflow may have recorded the same status since (a resume: the workflow's
    # record and the API's write race). The row is set first here, under its lock, and only a
    # change of what it held is reported; the flush then writes the same values again. A new
    # trader's first status is no change.
    reports: list[StatusUpdate] = []
    conn = session.connection()
    at = utcnow()
    for obj in session.dirty:
        if not (isinstance(obj, Account) and _assigned(obj)):
            continue
        status = TraderStatus(obj.status)
        params = {"b_account": obj.id, "b_status": status.value, "b_reason": obj.status_reason}
        if conn.execute(_SET, params).rowcount:
            shown = TraderStatus.DELETED if obj.is_deleted else status
            reports.append(stream_events.status_changed(obj.id, shown, obj.status_reason, at))
    events.append(session, *reports)
