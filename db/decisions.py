"""The decision row every step writes to: created once, by whichever step gets there first."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from db.models import DecisionRecord


def decision_row(s: Session, decision_id: str, **fields: Any) -> tuple[DecisionRecord, bool]:
    """(row, created). Keyed by the workflow-minted id, so a retried activity reuses the row.
    Runs inside a synchronous write transaction (db/transactions.py)."""
    rec = s.get(DecisionRecord, decision_id)
    if rec is not None:
        return rec, False
    rec = DecisionRecord(id=decision_id, **fields)
    s.add(rec)
    return rec, True
