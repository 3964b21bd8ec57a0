"""GET /api/programs/signal-pools/ and /api/programs/accounts/: what a binding can use, the
caller's own only (the product's paths, with and without the trailing slash)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import select

from api.auth import CurrentUser
from api.deps import SessionDep
from api.exact_json import ExactNumbersRoute
from api.schemas import UtcDateTime
from db.models import Account, SignalPoolRecord
from domain.trader import TraderStatus
from domain.vocabulary import AccountType, Exchange

# Why its own router, included before the programs router: these paths must not reach
# `/api/programs/{program_id}` (a 422 there, for an id that is not a number).
router = APIRouter(prefix="/api/programs", tags=["programs"], route_class=ExactNumbersRoute)


class PoolChoice(BaseModel):
    id: int
    name: str
    signals_count: int
    symbols: list[str]
    logic: str
    enabled: bool  # a disabled pool can be bound; it fires once enabled
    created_at: UtcDateTime


class AccountChoice(BaseModel):
    id: int
    name: str
    account_type: AccountType  # program traders bind programs, prompt traders prompts
    exchange: Exchange
    status: TraderStatus
    created_at: UtcDateTime


@router.get("/signal-pools/", response_model=list[PoolChoice])
@router.get("/signal-pools", response_model=list[PoolChoice], include_in_schema=False)
async def signal_pools(s: SessionDep, user: CurrentUser) -> list[PoolChoice]:
    """Your signal pools, to name in a binding's `signal_pool_ids`, each with its number of
    signals."""
    rows = await s.scalars(
        select(SignalPoolRecord)
        .where(SignalPoolRecord.owner_id == user.id)
        .order_by(SignalPoolRecord.id)
    )
    return [
        PoolChoice(
            id=p.id,
            name=p.name,
            signals_count=len(p.signal_ids),
            symbols=list(p.symbols),
            logic=p.logic,
            enabled=p.enabled,
            created_at=p.created_at,
        )  # fmt: skip
        for p in rows
    ]


@router.get("/accounts/", response_model=list[AccountChoice])
@router.get("/accounts", response_model=list[AccountChoice], include_in_schema=False)
async def accounts(s: SessionDep, user: CurrentUser) -> list[AccountChoice]:
    """Your traders that can take a binding: every one not deleted (hidden ones included)."""
    rows = await s.scalars(
        select(Account)
        .where(Account.owner_id == user.id, Account.is_deleted.is_(False))
        .order_by(Account.id)
    )
    return [
        AccountChoice(
            id=a.id,
            name=a.name,
            account_type=AccountType(a.account_type),
            exchange=Exchange(a.exchange),
            status=TraderStatus(a.status),
            created_at=a.created_at,
        )  # fmt: skip
        for a in rows
    ]
