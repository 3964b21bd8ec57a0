"""Closing positions on the owner's word: one, all of a trader's, and the kill switch over every
trader (api/position_closes.py; README "Circuit breakers and the kill switch")."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Path, Request
from sqlalchemy import select

from api.auth import CurrentUser
from api.deps import ControlDep, SessionDep
from api.exact_json import ExactNumbersRoute
from api.position_closes import (
    ClosesOut,
    KillSwitchOut,
    close_positions,
    kill_reason,
    kill_switch,
)
from api.queries import get_account
from api.schemas import CloseBody, KillSwitchBody
from db.models import Account

router = APIRouter(prefix="/api/account", tags=["accounts"], route_class=ExactNumbersRoute)
SYMBOL = r"^[A-Za-z0-9._-]+$"
IdempotencyKey = Annotated[str | None, Header(max_length=200)]


@router.post("/kill-switch", response_model=KillSwitchOut)
async def kill_switch_route(
    body: KillSwitchBody,
    s: SessionDep,
    control: ControlDep,
    request: Request,
    user: CurrentUser,
    idempotency_key: IdempotencyKey = None,
) -> KillSwitchOut:
    """Pause every one of your traders (reason `KILL_SWITCH`) and, with flatten, close every
    open position of each through its workflow. Answers per trader; one trader's failure never
    stops the others. Idempotent."""
    accounts = list(
        await s.scalars(
            select(Account)
            .where(Account.owner_id == user.id, Account.is_deleted.is_(False))
            .order_by(Account.id)
        )
    )
    return await kill_switch(
        s,
        control,
        request.app.state.exchange,
        accounts,
        kill_reason(body.reason),
        body.flatten,
        idempotency_key,
    )


@router.post("/{account_id}/positions/close-all", response_model=ClosesOut)
async def close_all(
    account_id: int,
    s: SessionDep,
    control: ControlDep,
    request: Request,
    user: CurrentUser,
    body: CloseBody | None = None,
    idempotency_key: IdempotencyKey = None,
) -> ClosesOut:
    """Close every open position (each a decision in the log, even while paused)."""
    acct = await get_account(s, account_id, user.id, live=True)
    reason = body.reason if body else ""
    exchange = request.app.state.exchange
    return await close_positions(s, control, exchange, acct, None, reason, idempotency_key)


@router.post("/{account_id}/positions/{symbol}/close", response_model=ClosesOut)
async def close_one(
    account_id: int,
    symbol: Annotated[str, Path(max_length=32, pattern=SYMBOL)],
    s: SessionDep,
    control: ControlDep,
    request: Request,
    user: CurrentUser,
    body: CloseBody | None = None,
    idempotency_key: IdempotencyKey = None,
) -> ClosesOut:
    """Close the position in one symbol (a decision in the log, even while paused); 404
    POSITION_NOT_FOUND when there is none (nothing is sent)."""
    acct = await get_account(s, account_id, user.id, live=True)
    reason = body.reason if body else ""
    exchange = request.app.state.exchange
    return await close_positions(
        s, control, exchange, acct, symbol.upper(), reason, idempotency_key
    )
