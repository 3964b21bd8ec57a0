"""The decision row every step writes to: created once, by whichever step gets there first.

The functions run inside a synchronous transaction (db/transactions.py). The per-decision ones
(`store_snapshot`, `set_fields`, `decision_state`) are SQLAlchemy Core statements on the
session's connection: the ORM's identity map and unit of work cost more CPU than the statements
themselves, several times per decision. The statements are built once (values are bound at
execution): building one costs several times more than running it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import BindParameter, bindparam, insert, select, update
from sqlalchemy.orm import Session

from db.models import DecisionRecord
from db.session import EncodedJSON
from db.tables import DECISIONS

_ID: BindParameter[str] = bindparam("b_id")
FIND = select(DECISIONS.c.id).where(DECISIONS.c.id == _ID)
INSERT = insert(DECISIONS)
UPDATE = update(DECISIONS).where(DECISIONS.c.id == _ID)  # SET: the other parameters given
STATE = select(
    DECISIONS.c.llm_exchange,
    DECISIONS.c.output,
    DECISIONS.c.created_at,
    DECISIONS.c.completed_at,
).where(DECISIONS.c.id == _ID)


def decision_row(s: Session, decision_id: str, **fields: Any) -> tuple[DecisionRecord, bool]:
    """(row, created). Keyed by the workflow-minted id, so a retried activity reuses the row."""
    rec = s.get(DecisionRecord, decision_id)
    if rec is not None:
        return rec, False
    rec = DecisionRecord(id=decision_id, **fields)
    s.add(rec)
    return rec, True


def store_snapshot(
    s: Session, decision_id: str, snapshot: dict[str, Any] | EncodedJSON, **fields: Any
) -> bool:
    """Create the row with its input snapshot, or (a retried gathering) replace the snapshot of
    the row an earlier attempt created. True if created."""
    conn = s.connection()
    if conn.execute(FIND, {"b_id": decision_id}).first() is None:
        conn.execute(INSERT, {"id": decision_id, "input_snapshot": snapshot, **fields})
        return True
    conn.execute(UPDATE, {"b_id": decision_id, "input_snapshot": snapshot})
    return False


def set_fields(s: Session, decision_id: str, **values: Any) -> None:
    """Set columns of an existing row; LookupError if there is none."""
    if s.connection().execute(UPDATE, {"b_id": decision_id, **values}).rowcount == 0:
        raise LookupError(f"decision {decision_id} has no row")


@dataclass
class DecisionState:
    """What finishing a decision needs to know of its row."""

    llm_exchange: dict[str, Any] | None
    output: dict[str, Any] | None
    created_at: datetime | None
    completed_at: datetime | None


def decision_state(s: Session, decision_id: str) -> DecisionState | None:
    row = s.connection().execute(STATE, {"b_id": decision_id}).first()
    return None if row is None else DecisionState(*row)


def create_row(s: Session, decision_id: str, **values: Any) -> None:
    s.connection().execute(INSERT, {"id": decision_id, **values})
