"""The trader page's panels (api/web/trader_page.py): what each shows, read through the
functions the REST routes call (api/trader_state.py, the history routes), and the check that a
trader is the viewer's."""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any, Literal

from fastapi import Request
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import ApiError
from api.queries import MAX_ID, decisions_out, get_account
from api.routes import history
from api.trader_state import open_orders_of, overview_of, positions_of
from api.web.login import SignedIn
from api.web.traders import PageNotFound
from db.models import Account, DecisionRecord, OrderRecord
from domain.vocabulary import DecisionStatus

log = logging.getLogger("hyperoru.api.web")
Panel = Literal["kpis", "positions", "orders", "trades", "decisions", "reconciliation"]
PANELS: tuple[str, ...] = ("kpis", "positions", "orders", "trades", "decisions", "reconciliation")
PER_PAGE = 20
STATUSES = [s.value for s in DecisionStatus]
UNAVAILABLE = "Prices or the venue did not answer: this panel is not current."


async def owned(s: AsyncSession, who: SignedIn, account_id: int) -> Account:
    """The viewer's trader, else the 404 page (a missing one and another user's alike)."""
    if not 0 < account_id <= MAX_ID:
        raise PageNotFound()
    try:
        return await get_account(s, account_id, who.caller.id)
    except ApiError as err:
        raise PageNotFound() from err


async def decision_ids(s: AsyncSession, client_order_ids: list[str]) -> dict[str, str]:
    """Each fill's decision, by its order's client order id."""
    if not client_order_ids:
        return {}
    found = await s.execute(
        select(OrderRecord.client_order_id, OrderRecord.decision_id).where(
            OrderRecord.client_order_id.in_(client_order_ids)
        )
    )
    return {coid: did for coid, did in found.all() if did}


def price_text(value: Any) -> str:
    """A price or size at a precision that suits its magnitude (the exact value is in the
    REST answer and the row's data-value)."""
    if value is None or value == "":
        return "—"
    d = Decimal(str(value))
    places = 2 if abs(d) >= 1000 else 4 if abs(d) >= 1 else 8
    return f"{d:,.{places}f}"


async def _venue(call: Any) -> tuple[Any, str]:
    """A read of live values: (value, "") or (None, why) when the venue or prices fail."""
    try:
        return await call, ""
    except Exception as err:  # venues and market data fail in open-ended ways (api/market.py)
        log.warning("trader page: %s", type(err).__name__)
        return None, UNAVAILABLE


async def _decisions(
    s: AsyncSession, account_id: int, status: str, page: int
) -> tuple[list[Any], int]:
    """A page of the decision log, newest first, as GET .../decisions answers it, with an
    optional status filter."""
    where = DecisionRecord.account_id == account_id
    if status:
        where = where & (DecisionRecord.status == status)
    total = await s.scalar(select(func.count()).select_from(DecisionRecord).where(where)) or 0
    rows = list(
        await s.scalars(
            select(DecisionRecord)
            .where(where)
            .order_by(DecisionRecord.seq.desc())
            .offset((page - 1) * PER_PAGE)
            .limit(PER_PAGE)
        )
    )
    return await decisions_out(s, rows, include_snapshot=False), total


async def panel_context(
    request: Request,
    s: AsyncSession,
    who: SignedIn,
    acct: Account,
    name: str,
    page: int = 1,
    status: str = "",
) -> dict[str, Any]:
    """What one panel shows (its template is `trader_panel_<name>.html`)."""
    aid = acct.id
    if name == "kpis":
        ov, problem = await _venue(overview_of(request, s, acct))
        return {"ov": ov, "problem": problem}
    if name == "positions":
        pos, problem = await _venue(positions_of(request, acct))
        return {"positions": pos, "problem": problem}
    if name == "orders":
        found, problem = await _venue(open_orders_of(request, acct))
        return {"orders": (found or {}).get("orders", []), "problem": problem}
    if name == "trades":
        got = await history.trades(aid, s, who.caller, page, PER_PAGE)
        decided = await decision_ids(s, [t["client_order_id"] for t in got.items])
        return {"trades": got.items, "decided": decided, "page": page, "pages": _pages(got.total)}
    if name == "decisions":
        items, total = await _decisions(s, aid, status, page)
        return {"decisions": items, "page": page, "pages": _pages(total), "status": status}
    got = await history.reconciliation(aid, s, who.caller, page, PER_PAGE)
    return {"findings": got.items, "page": page, "pages": _pages(got.total)}


def _pages(total: int) -> int:
    return max(1, -(-total // PER_PAGE))
