"""A live trader's account read straight from its venue, in the product's shapes:
GET /api/hyperliquid/accounts/{id}/positions, /api/hyperliquid/account/{id}/state and the
Binance equivalents under /api/binance/. Each state read is stored as an account snapshot for
the trader's exchange and environment (db/account_snapshots.py)."""

from __future__ import annotations

from decimal import Decimal

from fastapi import APIRouter, Request
from pydantic import BaseModel

from adapters.account_snapshots import reading_of, record_view
from adapters.exchanges.base import AccountView
from api.auth import CurrentUser
from api.deps import SessionDep
from api.errors import ApiError
from api.exact_json import ExactNumbersRoute
from api.money import MoneyOut
from api.queries import get_account
from api.schemas import PositionOut, PositionsOut, UtcDateTime
from db.models import Account
from domain.vocabulary import Exchange, ExchangeEnvironment

router = APIRouter(tags=["venues"], route_class=ExactNumbersRoute)


class AccountStateOut(BaseModel):
    id: int  # the stored snapshot's id
    account_id: int
    exchange: Exchange
    environment: ExchangeEnvironment
    balance_total: MoneyOut
    balance_available: MoneyOut
    margin_used: MoneyOut
    unrealized_pnl: MoneyOut
    taken_at: UtcDateTime


async def _venue_account(
    request: Request, s: SessionDep, account_id: int, owner: int, venue: Exchange
) -> tuple[Account, AccountView]:
    """The caller's trader on `venue` and its account as the venue has it now: 409
    EXCHANGE_MISMATCH for a trader on another exchange, 409 EXCHANGE_NOT_CONNECTED before its
    keys are connected, the venue's own errors as elsewhere (EXCHANGE_*)."""
    acct = await get_account(s, account_id, owner)
    if acct.exchange != venue:
        raise ApiError(
            409,
            "EXCHANGE_MISMATCH",
            f"Account {account_id} trades on {acct.exchange}, not {venue}",
        )
    async with request.app.state.exchange.live.client(acct.id) as client:
        view = await client.account()
    return acct, view


def _positions(acct: Account, view: AccountView) -> PositionsOut:
    return PositionsOut(
        account_id=acct.id,
        positions=[PositionOut.model_validate(p.model_dump()) for p in view.positions],
        total_count=len(view.positions),
        total_unrealized_pnl=sum((p.unrealized_pnl for p in view.positions), Decimal(0)),
    )


async def _state(request: Request, acct: Account, view: AccountView) -> AccountStateOut:
    reading = reading_of(view)
    stored = await record_view(request.app.state.sessions, acct.id, view)
    if stored is None:  # the trader's connection was removed while the venue was asked
        raise ApiError(409, "EXCHANGE_NOT_CONNECTED", f"Account {acct.id} is not connected")
    return AccountStateOut(
        id=stored.id,
        account_id=acct.id,
        exchange=Exchange(stored.exchange),
        environment=ExchangeEnvironment(stored.environment),
        balance_total=reading.balance_total,
        balance_available=reading.balance_available,
        margin_used=reading.margin_used,
        unrealized_pnl=reading.unrealized_pnl,
        taken_at=stored.taken_at,
    )


@router.get("/api/hyperliquid/accounts/{account_id}/positions", response_model=PositionsOut)
async def hyperliquid_positions(
    account_id: int, s: SessionDep, request: Request, user: CurrentUser
) -> PositionsOut:
    """A Hyperliquid trader's open positions as the venue reports them (mark, liquidation
    price, margin), with their count and total unrealized PnL."""
    return _positions(*await _venue_account(request, s, account_id, user.id, Exchange.HYPERLIQUID))


@router.get("/api/hyperliquid/account/{account_id}/state", response_model=AccountStateOut)
async def hyperliquid_state(
    account_id: int, s: SessionDep, request: Request, user: CurrentUser
) -> AccountStateOut:
    """A Hyperliquid trader's account now (balances, margin used, unrealized PnL), stored as
    a snapshot for its environment."""
    acct, view = await _venue_account(request, s, account_id, user.id, Exchange.HYPERLIQUID)
    return await _state(request, acct, view)


@router.get("/api/binance/accounts/{account_id}/positions", response_model=PositionsOut)
async def binance_positions(
    account_id: int, s: SessionDep, request: Request, user: CurrentUser
) -> PositionsOut:
    """A Binance trader's open positions as the venue reports them."""
    return _positions(*await _venue_account(request, s, account_id, user.id, Exchange.BINANCE))


@router.get("/api/binance/account/{account_id}/state", response_model=AccountStateOut)
async def binance_state(
    account_id: int, s: SessionDep, request: Request, user: CurrentUser
) -> AccountStateOut:
    """A Binance trader's account now, stored as a snapshot for its environment."""
    acct, view = await _venue_account(request, s, account_id, user.id, Exchange.BINANCE)
    return await _state(request, acct, view)
