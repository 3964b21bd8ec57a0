"""A manual trigger's Idempotency-Key: a retry gets the first decision, another body a 422.

The key is the `trigger` update's id, and the decision it made is recorded with the trigger key
`manual-<key>`. A request whose key is already on a decision is compared with that decision's
request (its binding and context) before anything runs; and since two requests with the same key
can race past that check (Temporal then answers both with the one update it ran), the decision
that comes back is compared again: a body it was not made for gets the 422, never its answer.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import ApiError
from api.schemas import TriggerBody
from db.models import DecisionRecord
from db.session import json_dumps


def trigger_key(idempotency_key: str) -> str:
    """The decision's trigger key for a manual trigger (the workflow's `manual-<update id>`)."""
    return f"manual-{idempotency_key}"


async def earlier_decision(
    s: AsyncSession, account_id: int, idempotency_key: str
) -> DecisionRecord | None:
    return await s.scalar(
        select(DecisionRecord).where(
            DecisionRecord.account_id == account_id,
            DecisionRecord.trigger_key == trigger_key(idempotency_key),
        )
    )


def _same_json(a: Any, b: Any) -> bool:
    """Equal JSON values: numbers by value (1 == 1.0, as a database may return them), but a
    boolean is never a number (Python's True == 1 would let {"x": true} pass for {"x": 1})."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same_json(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same_json(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


def same_request(rec: DecisionRecord, body: TriggerBody) -> bool:
    # The body as the decision row stores it (e.g. NaN becomes null there).
    context = json.loads(json_dumps(body.context))
    if not _same_json(context, rec.trigger_context or {}):
        return False
    # Why only an explicit binding on both sides is compared: a request without one leaves the
    # choice to the trader, and the recorded decision is that choice (or none was found).
    return body.binding_id is None or rec.binding_id in (None, body.binding_id)


def check_reuse(rec: DecisionRecord | None, body: TriggerBody) -> None:
    if rec is not None and not same_request(rec, body):
        raise ApiError(
            422,
            "IDEMPOTENCY_KEY_REUSED",
            f"This Idempotency-Key was used for decision {rec.id} with a different body "
            "(binding_id or context); use a new key for a new request",
        )
