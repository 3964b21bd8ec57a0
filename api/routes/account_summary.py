"""GET /api/account/overview (your default trader's overview) and
GET /api/account/{id}/strategy (a trader's strategy configuration, no secrets)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth import CurrentUser
from api.deps import SessionDep
from api.errors import ApiError
from api.exact_json import ExactNumbersRoute
from api.money import MoneyOut
from api.queries import get_account
from api.schemas import OverviewOut, UtcDateTime
from api.trader_state import overview_of
from db.models import Account, Binding, Program, PromptTemplate, SignalPoolRecord
from domain.trader import TraderStatus
from domain.vocabulary import AccountType, Exchange, ExchangeEnvironment

# Why its own router, included before the accounts router: `/api/account/overview` must not
# reach `/api/account/{account_id}` (an id that is not a number is a 422 there).
router = APIRouter(prefix="/api/account", tags=["accounts"], route_class=ExactNumbersRoute)


async def default_account(s: AsyncSession, owner: int) -> Account:
    """The user's default trader: their oldest one not deleted (hidden ones count)."""
    acct = await s.scalar(
        select(Account)
        .where(Account.owner_id == owner, Account.is_deleted.is_(False))
        .order_by(Account.id)
        .limit(1)
    )
    if acct is None:
        raise ApiError(404, "ACCOUNT_NOT_FOUND", "You have no trader yet: create one first")
    return acct


@router.get("/overview", response_model=OverviewOut)
async def default_overview(s: SessionDep, request: Request, user: CurrentUser) -> OverviewOut:
    """Your default trader's overview (your oldest trader not deleted), as
    GET /api/account/{id}/overview answers it; 404 when you have none."""
    return await overview_of(request, s, await default_account(s, user.id))


class RiskLimitsOut(BaseModel):
    max_leverage: MoneyOut
    max_position_notional_usd: MoneyOut
    max_concurrent_positions: int


class LlmOut(BaseModel):
    provider: str | None
    model: str | None
    base_url: str | None
    api_key_set: bool  # write-only: never the key


class NamedRef(BaseModel):
    id: int
    name: str | None  # None: no longer there


class PoolRef(NamedRef):
    signals_count: int | None
    symbols: list[str]
    enabled: bool | None


class BindingStrategyOut(BaseModel):
    id: int
    enabled: bool
    program: NamedRef | None
    prompt: NamedRef | None
    schedule_interval_seconds: int | None
    signal_pools: list[PoolRef]
    created_at: UtcDateTime


class StrategyOut(BaseModel):
    account_id: int
    name: str
    account_type: AccountType
    exchange: Exchange
    exchange_environment: ExchangeEnvironment | None
    symbols: list[str]
    status: TraderStatus
    trading_enabled: bool
    initial_capital: MoneyOut
    risk_limits: RiskLimitsOut
    llm: LlmOut | None  # prompt traders only
    bindings: list[BindingStrategyOut]
    updated_at: UtcDateTime


async def _names(
    s: AsyncSession, model: type[Program] | type[PromptTemplate], ids: set[int], owner: int
) -> dict[int, str]:
    if not ids:
        return {}
    found = await s.execute(
        select(model.id, model.name).where(model.id.in_(ids), model.owner_id == owner)
    )
    return {ident: name for ident, name in found.all()}


def _pool(pools: dict[int, SignalPoolRecord], pool_id: int) -> PoolRef:
    p = pools.get(pool_id)
    if p is None:
        return PoolRef(id=pool_id, name=None, signals_count=None, symbols=[], enabled=None)
    return PoolRef(
        id=p.id, name=p.name, signals_count=len(p.signal_ids), symbols=list(p.symbols),
        enabled=p.enabled,
    )  # fmt: skip


@router.get("/{account_id}/strategy", response_model=StrategyOut)
async def strategy(account_id: int, s: SessionDep, user: CurrentUser) -> StrategyOut:
    """A trader's strategy configuration: its bindings (program or prompt, schedule, signal
    pools), symbols, risk limits and model settings. Keys are never shown (only whether one
    is set)."""
    acct = await get_account(s, account_id, user.id)
    bindings = list(
        await s.scalars(select(Binding).where(Binding.account_id == acct.id).order_by(Binding.id))
    )
    programs = await _names(s, Program, {b.program_id for b in bindings if b.program_id}, user.id)
    prompts = await _names(
        s, PromptTemplate, {b.prompt_id for b in bindings if b.prompt_id}, user.id
    )
    pool_ids = {p for b in bindings for p in b.signal_pool_ids}
    pools = {
        p.id: p
        for p in await s.scalars(
            select(SignalPoolRecord).where(
                SignalPoolRecord.id.in_(pool_ids), SignalPoolRecord.owner_id == user.id
            )
        )
    }
    llm = None
    if acct.account_type == AccountType.PROMPT:
        llm = LlmOut(
            provider=acct.llm_provider,
            model=acct.llm_model,
            base_url=acct.llm_base_url,
            api_key_set=acct.llm_api_key_sealed is not None,
        )
    return StrategyOut(
        account_id=acct.id,
        name=acct.name,
        account_type=AccountType(acct.account_type),
        exchange=Exchange(acct.exchange),
        exchange_environment=(
            ExchangeEnvironment(acct.exchange_environment) if acct.exchange_environment else None
        ),
        symbols=list(acct.symbols),
        status=TraderStatus.DELETED if acct.is_deleted else TraderStatus(acct.status),
        trading_enabled=acct.trading_enabled and not acct.is_deleted,
        initial_capital=acct.initial_capital,
        risk_limits=RiskLimitsOut(
            max_leverage=acct.max_leverage,
            max_position_notional_usd=acct.max_position_notional_usd,
            max_concurrent_positions=acct.max_concurrent_positions,
        ),
        llm=llm,
        bindings=[
            BindingStrategyOut(
                id=b.id,
                enabled=b.enabled,
                program=(
                    NamedRef(id=b.program_id, name=programs.get(b.program_id))
                    if b.program_id
                    else None
                ),
                prompt=(
                    NamedRef(id=b.prompt_id, name=prompts.get(b.prompt_id)) if b.prompt_id else None
                ),
                schedule_interval_seconds=b.schedule_interval_seconds,
                signal_pools=[_pool(pools, p) for p in b.signal_pool_ids],
                created_at=b.created_at,
            )
            for b in bindings
        ],
        updated_at=acct.updated_at,
    )
