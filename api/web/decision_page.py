"""The decision page (`/decisions/{decision_id}`): everything recorded about one decision, read
through the same function as GET /api/account/{id}/decisions/{decision_id} (api/routes/history.py),
its fills through the trades table the /trades route reads, and its neighbours of the same trader.

Another user's decision is the same 404 page as a missing one. Every text here (prompt, raw
answer, reasoning, logs, error, reject reasons) comes from models, programs or exchanges: the
template shows it as text, never as markup."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import or_, select

from api.deps import SessionDep
from api.errors import ApiError
from api.queries import account_out, get_account, trade_dict
from api.routes import history
from api.web.decision_view import risk_rules, timeline
from api.web.login import SignedIn
from api.web.render import pages
from api.web.traders import PageNotFound
from db.models import DecisionRecord, TradeRecord

router = APIRouter(include_in_schema=False)
MAX_DECISION_ID = 64  # the column's width: a longer id names nothing


@dataclass(frozen=True)
class Neighbour:
    id: str
    seq: int


def _aware(at: datetime | None) -> datetime | None:
    return at if at is None or at.tzinfo else at.replace(tzinfo=UTC)


async def _neighbours(s: SessionDep, account_id: int, seq: int) -> tuple[Any, Any]:
    where = DecisionRecord.account_id == account_id
    prev = (
        await s.execute(
            select(DecisionRecord.id, DecisionRecord.seq)
            .where(where, DecisionRecord.seq < seq)
            .order_by(DecisionRecord.seq.desc())
            .limit(1)
        )
    ).first()
    nxt = (
        await s.execute(
            select(DecisionRecord.id, DecisionRecord.seq)
            .where(where, DecisionRecord.seq > seq)
            .order_by(DecisionRecord.seq.asc())
            .limit(1)
        )
    ).first()
    return (
        Neighbour(prev.id, prev.seq) if prev else None,
        Neighbour(nxt.id, nxt.seq) if nxt else None,
    )


async def _fills(s: SessionDep, account_id: int, order_ids: list[str]) -> list[dict[str, Any]]:
    """The trades of the decision's orders, and of their TP/SL children (`<id>:tp`, `<id>:sl`)."""
    if not order_ids:
        return []
    match = [TradeRecord.client_order_id.in_(order_ids)] + [
        TradeRecord.client_order_id.startswith(f"{o}:", autoescape=True) for o in order_ids
    ]
    rows = await s.scalars(
        select(TradeRecord)
        .where(TradeRecord.account_id == account_id, or_(*match))
        .order_by(TradeRecord.id)
    )
    return [trade_dict(t) for t in rows]


def _temporal_link(request: Request, workflow_id: str | None, run_id: str | None) -> str:
    """The run in the embedded dev server's Temporal Web UI, or in an external cluster's where
    HYPERORU_TEMPORAL_UI_URL says it is (none: the page shows the ids instead)."""
    settings = request.app.state.settings
    if settings.temporal_address is None:
        ui = f"http://127.0.0.1:{settings.temporal_ui_port}"
    else:
        ui = (settings.temporal_ui_url or "").rstrip("/")
    if not workflow_id or not ui.startswith(("http://", "https://")):
        return ""
    path = f"/namespaces/{quote(settings.temporal_namespace, safe='')}/workflows/"
    return (
        ui + path + quote(workflow_id, safe="") + (f"/{quote(run_id, safe='')}" if run_id else "")
    )


@router.get("/decisions/{decision_id}", response_class=HTMLResponse)
async def decision_page(
    request: Request, s: SessionDep, who: SignedIn, decision_id: str
) -> Response:
    if not decision_id or len(decision_id) > MAX_DECISION_ID:
        raise PageNotFound()
    account_id = await s.scalar(
        select(DecisionRecord.account_id).where(DecisionRecord.id == decision_id)
    )
    if account_id is None:
        raise PageNotFound()
    try:
        acct = account_out(await get_account(s, account_id, who.caller.id))
        d = await history.decision(account_id, decision_id, s, who.caller)
    except ApiError as err:  # another user's decision: the same page as a missing one
        raise PageNotFound() from err
    fills = await _fills(s, account_id, [str(o["client_order_id"]) for o in d.orders])
    prev, nxt = await _neighbours(s, account_id, d.seq)
    decided_at = await s.scalar(
        select(DecisionRecord.decided_at).where(DecisionRecord.id == decision_id)
    )
    llm = d.llm_exchange or {}
    output = d.output or {}
    decision = output.get("decision") if isinstance(output.get("decision"), dict) else None
    reasoning = (decision or {}).get("reasoning") or llm.get("reasoning") or ""
    return pages(request).html(
        request,
        "decision.html",
        who=who,
        d=d,
        account=acct,
        llm=llm,
        decision=decision,
        reasoning=reasoning,
        rules=risk_rules(d, acct),
        steps=timeline(d.created_at, _aware(decided_at), d.orders, fills, d.completed_at),
        fills=fills,
        trigger_json=json.dumps(d.trigger_context, indent=2, sort_keys=True)
        if d.trigger_context
        else "",
        output_json=json.dumps(d.output, indent=2, sort_keys=True) if d.output else "",
        prev=prev,
        next=nxt,
        temporal_link=_temporal_link(request, d.workflow_id, d.run_id),
    )
