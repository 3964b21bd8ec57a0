"""What a prompt strategy reads for one decision: the decision row with its input snapshot, the
trader's account (model settings, sealed key) and the bound prompt template (SQLAlchemy ORM on
the caller's session: the caller records the prompt's text on the same row, in the same
transaction)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import undefer

from db.models import Account, Binding, DecisionRecord, PromptTemplate


@dataclass
class PromptInputs:
    decision: DecisionRecord
    snapshot: dict[str, Any]  # the decision's input snapshot
    account: Account
    prompt: PromptTemplate | None  # None: the binding has no prompt


async def prompt_inputs(s: AsyncSession, decision_id: str, binding_id: int | None) -> PromptInputs:
    """LookupError if the decision (or its snapshot, or its account) is missing."""
    rec = await s.get(DecisionRecord, decision_id, options=[undefer(DecisionRecord.input_snapshot)])
    binding = await s.get(Binding, binding_id)
    acct = await s.get(Account, rec.account_id) if rec else None
    prompt = (
        await s.get(PromptTemplate, binding.prompt_id) if binding and binding.prompt_id else None
    )
    if rec is None or rec.input_snapshot is None or acct is None:
        raise LookupError(f"decision {decision_id} has no input snapshot")
    return PromptInputs(rec, rec.input_snapshot, acct, prompt)
