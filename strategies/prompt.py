"""Prompt strategies: the exact messages a trader's model receives."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import TradeRecord
from domain.llm_output import output_contract
from domain.prompts import MAX_PROMPT_CHARS, render

SYSTEM_PROMPT = (
    "You are the decision engine of an automated trading account. Read the market context and "
    "the instructions, then answer with exactly one JSON trading decision as specified."
)
MAX_TOKENS = 1200


async def recent_trades(
    s: AsyncSession, account_id: int, limit: int = 10, before: datetime | None = None
) -> list[dict[str, Any]]:
    """The trader's last fills; `before`: the last ones before then (a replayed decision sees
    the fills its live run saw)."""
    query = select(TradeRecord).where(TradeRecord.account_id == account_id)
    if before is not None:
        query = query.where(TradeRecord.created_at < before)
    rows = await s.scalars(query.order_by(TradeRecord.id.desc()).limit(limit))
    return [
        {
            "symbol": t.symbol,
            "side": t.side,
            "size": str(t.size),
            "price": str(t.price),
            "realized_pnl": str(t.realized_pnl),
            "fee": str(t.fee),
            "trigger": t.trigger,
            "time": t.created_at.isoformat(),
        }
        for t in rows
    ]


def build_messages(
    template: str,
    snapshot: dict[str, Any],
    trades: list[dict[str, Any]],
    max_size_usd: Decimal | None = None,
) -> tuple[str, str, dict[str, str]]:
    """(system, user, variables): exactly what the model receives. Raises PromptTooLarge when
    the rendered template passes MAX_PROMPT_CHARS (a template saved before the cap existed)."""
    # Imported here: it loads numpy and TA-Lib, which only prompt strategies need in the worker.
    from strategies.prompt_context import variables_from_snapshot

    variables = variables_from_snapshot(snapshot, trades)
    contract = output_contract(snapshot.get("symbols") or None, max_size_usd)
    user = render(template, variables, MAX_PROMPT_CHARS).rstrip() + "\n\n" + contract
    return SYSTEM_PROMPT, user, variables
