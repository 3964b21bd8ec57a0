"""What a replay-mode prompt backtest reads: a trader's recorded prompt decisions (the exact
text sent, the parsed answer, the input snapshot) and the round trips they opened."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import String, cast, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, undefer

from db.models import DecisionRecord, RoundTripRecord


@dataclass(frozen=True)
class Recorded:
    decision_id: str
    created_at: datetime
    operation: str | None  # the recorded answer's operation (None: there was no valid answer)
    symbol: str | None
    round_trip_pnl: Decimal | None  # net PnL of the round trip this decision opened


def _answer(output: Any) -> dict[str, Any]:
    output = output or {}
    decision = output.get("decision") if isinstance(output, dict) else None
    return decision if isinstance(decision, dict) else {}


async def recorded_decisions(
    s: AsyncSession,
    account_id: int,
    decision_ids: list[str] | None,
    start: datetime | None,
    end: datetime | None,
    limit: int,
) -> list[Recorded]:
    """The trader's prompt decisions (those that asked its model), oldest first: the ids given,
    else every one in [start, end). At most `limit` + 1 (the caller refuses more)."""
    query = select(DecisionRecord.id, DecisionRecord.created_at, DecisionRecord.output).where(
        DecisionRecord.account_id == account_id,
        # A decision that asked the model recorded the exchange; others hold SQL NULL or, when
        # written as None through the ORM, JSON null.
        DecisionRecord.llm_exchange.is_not(None),
        cast(DecisionRecord.llm_exchange, String) != "null",
    )
    if decision_ids is not None:
        query = query.where(DecisionRecord.id.in_(decision_ids))
    if start is not None:
        query = query.where(DecisionRecord.created_at >= start)
    if end is not None:
        query = query.where(DecisionRecord.created_at < end)
    rows = list(
        await s.execute(
            query.order_by(DecisionRecord.created_at, DecisionRecord.seq).limit(limit + 1)
        )
    )
    ids = [r.id for r in rows]
    pnl: dict[str, Decimal] = {}
    if ids:
        trips = await s.execute(
            select(RoundTripRecord.entry_decision_id, RoundTripRecord.net_pnl).where(
                RoundTripRecord.account_id == account_id,
                RoundTripRecord.entry_decision_id.in_(ids),
            )
        )
        for decision_id, net in trips:
            if decision_id is not None:
                pnl[decision_id] = pnl.get(decision_id, Decimal(0)) + net
    out = []
    for r in rows:
        answer = _answer(r.output)
        out.append(
            Recorded(
                decision_id=r.id,
                created_at=r.created_at,
                operation=answer.get("operation"),
                symbol=answer.get("symbol"),
                round_trip_pnl=pnl.get(r.id),
            )
        )
    return out


@dataclass(frozen=True)
class ReplaySource:
    snapshot: dict[str, Any]
    created_at: datetime
    recorded_user: str | None  # the exact prompt text the live run sent
    recorded_system: str | None


def replay_source(s: Session, account_id: int, decision_id: str) -> ReplaySource:
    """LookupError when the decision is gone, another trader's, or has no snapshot."""
    rec = s.get(DecisionRecord, decision_id, options=[undefer(DecisionRecord.input_snapshot)])
    if rec is None or rec.account_id != account_id or rec.input_snapshot is None:
        raise LookupError(f"decision {decision_id} has no input snapshot")
    exchange = rec.llm_exchange or {}
    return ReplaySource(
        snapshot=rec.input_snapshot,
        created_at=rec.created_at,
        recorded_user=exchange.get("user"),
        recorded_system=exchange.get("system"),
    )


def recent_completion_tokens(s: Session, account_id: int, limit: int = 50) -> list[int]:
    """Output tokens of the trader's latest model answers (for an estimate)."""
    return [t for t, _, _ in _recent_usage(s, account_id, limit) if t is not None]


def recent_chars_per_token(s: Session, account_id: int, limit: int = 50) -> list[float]:
    """Characters per prompt token of the trader's latest calls, as its provider counted them."""
    ratios = []
    for _, prompt_tokens, chars in _recent_usage(s, account_id, limit):
        if prompt_tokens and chars:
            ratios.append(chars / prompt_tokens)
    return ratios


def _recent_usage(s: Session, account_id: int, limit: int) -> list[tuple[int | None, int, int]]:
    rows = s.scalars(
        select(DecisionRecord.llm_exchange)
        .where(DecisionRecord.account_id == account_id, DecisionRecord.llm_exchange.is_not(None))
        .order_by(DecisionRecord.created_at.desc())
        .limit(limit)
    )
    out = []
    for ex in rows:
        if not isinstance(ex, dict):
            continue
        chars = len(ex.get("system") or "") + len(ex.get("user") or "")
        completion, prompt = ex.get("completion_tokens"), ex.get("prompt_tokens")
        out.append(
            (
                completion if isinstance(completion, int) else None,
                prompt if isinstance(prompt, int) else 0,
                chars,
            )
        )
    return out
