"""The trader page (`/traders/{id}`): the traders screen's row as its header (status and the
same buttons), KPI cards from `/overview`, a candle chart per symbol and the equity curve
(api/web/trader_charts.py), and the panels (api/web/trader_panels.py): positions, open orders,
trades, decisions, reconciliation. Each panel is a partial the live module re-fetches when the
stream reports a change; the actions are in api/web/trader_actions.py."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from api.web import trader_actions, trader_charts
from api.web.login import SignedIn
from api.web.render import pages
from api.web.trader_panels import PANELS, STATUSES, Panel, owned, panel_context, price_text
from api.web.trader_rows import trader_rows

router = APIRouter(include_in_schema=False)
router.include_router(trader_actions.router)
router.include_router(trader_charts.router)


@router.get("/traders/{account_id:int}", response_class=HTMLResponse)
async def trader_page(request: Request, who: SignedIn, account_id: int) -> Response:
    async with request.app.state.sessions() as s:
        acct = await owned(s, who, account_id)
        row = (await trader_rows(request, s, [acct]))[0]
        panels = {n: await panel_context(request, s, who, acct, n) for n in PANELS}
    return pages(request).html(
        request, "trader_page.html", who=who, row=row, acct=acct, panels=panels,
        statuses=STATUSES, price=price_text,
    )  # fmt: skip


@router.get("/traders/{account_id:int}/panel/{name}", response_class=HTMLResponse)
async def trader_panel(
    request: Request,
    who: SignedIn,
    account_id: int,
    name: Panel,
    page: int = Query(1, ge=1, le=1_000_000),
    status: str = Query("", max_length=20),
) -> Response:
    """One panel as it is now (the live module's refresh, paging, the status filter)."""
    if status and status not in STATUSES:
        status = ""
    async with request.app.state.sessions() as s:
        acct = await owned(s, who, account_id)
        ctx = await panel_context(request, s, who, acct, name, page, status)
    return pages(request).html(
        request, f"trader_panel_{name}.html", who=who, acct=acct, p=ctx, statuses=STATUSES,
        price=price_text,
    )  # fmt: skip
