"""The decision row every step writes to: created once, by whichever step gets there first."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from db.models import DecisionRecord


async def decision_row(
    s: AsyncSession, decision_id: str, **fields: Any
) -> tuple[DecisionRecord, bool]:
    """(row, created). Keyed by the workflow-minted id, so a retried activity reuses the row."""
    rec = await s.get(DecisionRecord, decision_id)
    if rec is not None:
        return rec, False
    rec = DecisionRecord(id=decision_id, **fields)
    s.add(rec)
    return rec, True
