"""The AI Traders screen (`/`): every trader of the user, its row re-rendered on demand (the
live module asks for it when the stream reports a change), and the row's buttons, which call
the same route functions as POST /api/account/{id}/start|pause|resume|trigger."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from api.deps import ControlDep, SessionDep
from api.errors import ApiError
from api.queries import MAX_ID, get_account, listed_accounts
from api.routes import accounts as account_routes
from api.web.login import SignedIn, checked_form
from api.web.render import pages
from api.web.trader_rows import trader_rows

router = APIRouter(include_in_schema=False)
Action = Literal["start", "pause", "resume", "trigger"]


class PageNotFound(Exception):
    """Answered with the 404 page: a missing trader and another user's look the same."""


async def _rows(request: Request, s: SessionDep, who: SignedIn) -> list[object]:
    return list(await trader_rows(request, s, await listed_accounts(s, who.caller.id)))


@router.get("/", response_class=HTMLResponse)
async def traders_screen(request: Request, s: SessionDep, who: SignedIn) -> Response:
    rows = await _rows(request, s, who)
    return pages(request).html(request, "traders.html", who=who, rows=rows)


@router.get("/traders/rows", response_class=HTMLResponse)
async def traders_rows(request: Request, s: SessionDep, who: SignedIn) -> Response:
    """The list alone: the live module's fresh snapshot after a reconnect."""
    rows = await _rows(request, s, who)
    return pages(request).html(request, "trader_list.html", who=who, rows=rows)


async def _row(request: Request, who: SignedIn, account_id: int, message: str = "") -> Response:
    async with request.app.state.sessions() as s:  # a fresh read: after an action's commit
        try:
            acct = await get_account(s, account_id, who.caller.id)
        except ApiError as err:
            raise PageNotFound() from err
        rows = await trader_rows(request, s, [acct])
    return pages(request).html(request, "trader_row.html", who=who, row=rows[0], message=message)


@router.get("/traders/{account_id}/row", response_class=HTMLResponse)
async def trader_row(request: Request, who: SignedIn, account_id: int) -> Response:
    if not 0 < account_id <= MAX_ID:
        raise PageNotFound()
    return await _row(request, who, account_id)


def _outcome(action: Action, out: object) -> str:
    if action != "trigger":
        return ""
    status = getattr(out, "status", "")
    error = getattr(out, "error", None)
    return f"Decision {status}" + (f": {error}" if error else ".")


@router.post("/traders/{account_id}/{action}", response_class=HTMLResponse)
async def trader_action(
    request: Request,
    s: SessionDep,
    control: ControlDep,
    who: SignedIn,
    account_id: int,
    action: Action,
) -> Response:
    """Start, pause, resume or trigger, then the row as it now is (with what happened)."""
    await checked_form(request, who)
    if not 0 < account_id <= MAX_ID:
        raise PageNotFound()
    try:
        await get_account(s, account_id, who.caller.id)
    except ApiError as err:
        raise PageNotFound() from err
    user = who.caller
    try:
        if action in ("start", "resume"):
            out: object = await account_routes.start(account_id, s, control, user)
        elif action == "pause":
            out = await account_routes.pause(account_id, s, control, user, None)
        else:
            out = await account_routes.trigger(account_id, s, control, user, None, None, False)
        message = _outcome(action, out)
    except ApiError as err:
        message = f"{err.message} ({err.code})"
    return await _row(request, who, account_id, message)
