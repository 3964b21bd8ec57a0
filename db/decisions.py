"""The decision row every step writes to: created once, by whichever step gets there first.

The functions run inside a synchronous transaction (db/transactions.py). The per-decision ones
(`store_snapshot`, `set_fields`, `decision_state`) are SQLAlchemy Core statements on the
session's connection: the ORM's identity map and unit of work cost more CPU than the statements
themselves, several times per decision.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from db.models import DecisionRecord
from db.tables import DECISIONS


def decision_row(s: Session, decision_id: str, **fields: Any) -> tuple[DecisionRecord, bool]:
    """(row, created). Keyed by the workflow-minted id, so a retried activity reuses the row."""
    rec = s.get(DecisionRecord, decision_id)
    if rec is not None:
        return rec, False
    rec = DecisionRecord(id=decision_id, **fields)
    s.add(rec)
    return rec, True


def store_snapshot(s: Session, decision_id: str, snapshot: dict[str, Any], **fields: Any) -> bool:
    """Create the row with its input snapshot, or (a retried gathering) replace the snapshot of
    the row an earlier attempt created. True if created."""
    conn = s.connection()
    found = conn.execute(select(DECISIONS.c.id).where(DECISIONS.c.id == decision_id)).first()
    if found is None:
        conn.execute(insert(DECISIONS).values(id=decision_id, input_snapshot=snapshot, **fields))
        return True
    conn.execute(
        update(DECISIONS).where(DECISIONS.c.id == decision_id).values(input_snapshot=snapshot)
    )
    return False


def set_fields(s: Session, decision_id: str, **values: Any) -> None:
    """Set columns of an existing row; LookupError if there is none."""
    res = s.connection().execute(
        update(DECISIONS).where(DECISIONS.c.id == decision_id).values(**values)
    )
    if res.rowcount == 0:
        raise LookupError(f"decision {decision_id} has no row")


@dataclass
class DecisionState:
    """What finishing a decision needs to know of its row."""

    llm_exchange: dict[str, Any] | None
    output: dict[str, Any] | None
    created_at: datetime | None
    completed_at: datetime | None


def decision_state(s: Session, decision_id: str) -> DecisionState | None:
    t = DECISIONS
    row = (
        s.connection()
        .execute(
            select(t.c.llm_exchange, t.c.output, t.c.created_at, t.c.completed_at).where(
                t.c.id == decision_id
            )
        )
        .first()
    )
    return None if row is None else DecisionState(*row)


def create_row(s: Session, decision_id: str, **values: Any) -> None:
    s.connection().execute(insert(DECISIONS).values(id=decision_id, **values))
