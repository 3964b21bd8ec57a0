"""The trader page's actions: close a position, close them all, cancel a resting order (each
through the REST route's own function, so through the trader's workflow), and the trades' CSV
export (the export route itself: it needs a caller, which a page has by its cookie, not by a
bearer token). Each action answers the panel it changed, with what happened."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, Response

from api.deps import ControlDep, SessionDep
from api.errors import ApiError
from api.exports import ExportKind
from api.queries import MAX_ID, get_account
from api.routes import accounts as account_routes
from api.routes import exports as export_routes
from api.routes import positions as position_routes
from api.web.login import SignedIn, checked_form
from api.web.render import pages
from api.web.trader_panels import STATUSES, owned, panel_context, price_text
from api.web.traders import PageNotFound

router = APIRouter(include_in_schema=False)
Symbol = Annotated[str, Path(max_length=32, pattern=position_routes.SYMBOL)]
OrderId = Annotated[str, Path(max_length=80, pattern=account_routes.ORDER_ID)]


async def _check(request: Request, s: SessionDep, who: SignedIn, account_id: int) -> None:
    await checked_form(request, who)
    if not 0 < account_id <= MAX_ID:
        raise PageNotFound()
    try:
        await get_account(s, account_id, who.caller.id)
    except ApiError as err:
        raise PageNotFound() from err


async def _panel(
    request: Request, who: SignedIn, account_id: int, name: str, message: str
) -> Response:
    async with request.app.state.sessions() as s:  # a fresh read: after the workflow's commit
        acct = await owned(s, who, account_id)
        ctx = await panel_context(request, s, who, acct, name)
    return pages(request).html(
        request, f"trader_panel_{name}.html", who=who, acct=acct, p=ctx, message=message,
        statuses=STATUSES, price=price_text,
    )  # fmt: skip


def _closed(out: position_routes.ClosesOut) -> str:
    if not out.decisions:
        return "No open position: nothing was sent."
    return "Close recorded: " + ", ".join(d.status.value for d in out.decisions) + "."


@router.post("/traders/{account_id:int}/positions/close-all", response_class=HTMLResponse)
async def close_all(
    request: Request, s: SessionDep, control: ControlDep, who: SignedIn, account_id: int
) -> Response:
    await _check(request, s, who, account_id)
    try:
        out = await position_routes.close_all(account_id, s, control, request, who.caller)
        message = _closed(out)
    except ApiError as err:
        message = f"{err.message} ({err.code})"
    return await _panel(request, who, account_id, "positions", message)


@router.post("/traders/{account_id:int}/positions/{symbol}/close", response_class=HTMLResponse)
async def close_one(
    request: Request,
    s: SessionDep,
    control: ControlDep,
    who: SignedIn,
    account_id: int,
    symbol: Symbol,
) -> Response:
    await _check(request, s, who, account_id)
    try:
        out = await position_routes.close_one(account_id, symbol, s, control, request, who.caller)
        message = _closed(out)
    except ApiError as err:
        message = f"{err.message} ({err.code})"
    return await _panel(request, who, account_id, "positions", message)


@router.post(
    "/traders/{account_id:int}/orders/{client_order_id}/cancel", response_class=HTMLResponse
)
async def cancel_order(
    request: Request,
    s: SessionDep,
    control: ControlDep,
    who: SignedIn,
    account_id: int,
    client_order_id: OrderId,
    symbol: Annotated[str | None, Query(max_length=32, pattern=position_routes.SYMBOL)] = None,
) -> Response:
    await _check(request, s, who, account_id)
    try:
        await account_routes.cancel_order(
            account_id, client_order_id, s, control, who.caller, symbol
        )
        message = f"Cancel of {client_order_id} sent."
    except ApiError as err:
        message = f"{err.message} ({err.code})"
    return await _panel(request, who, account_id, "orders", message)


@router.get("/traders/{account_id:int}/export/{kind}.csv")
async def export_csv(
    request: Request, s: SessionDep, who: SignedIn, account_id: int, kind: ExportKind
) -> Response:
    """GET /api/account/{id}/export/{kind}.csv, for the signed-in page."""
    if not 0 < account_id <= MAX_ID:
        raise PageNotFound()
    try:
        await get_account(s, account_id, who.caller.id)
    except ApiError as err:
        raise PageNotFound() from err
    return await export_routes.export_csv(account_id, kind, s, request, who.caller)
