"""GET/POST /api/users/exchange-config: the caller's selected exchange (api/exchange_config.py)."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy.exc import IntegrityError

from api.auth import CurrentUser
from api.deps import SessionDep
from api.exact_json import ExactNumbersRoute
from api.exchange_config import (
    ExchangeConfigBody,
    ExchangeConfigOut,
    selected_exchange,
)
from db.exchange_config import UserExchangeConfig
from domain.vocabulary import Exchange

router = APIRouter(prefix="/api/users", tags=["users"], route_class=ExactNumbersRoute)


async def _store(s: SessionDep, user_id: int, exchange: Exchange) -> None:
    row = await s.get(UserExchangeConfig, user_id)
    if row is None:
        s.add(UserExchangeConfig(user_id=user_id, selected_exchange=exchange))
    else:
        row.selected_exchange = exchange
    await s.commit()


@router.get("/exchange-config", response_model=ExchangeConfigOut)
async def read_exchange_config(s: SessionDep, user: CurrentUser) -> ExchangeConfigOut:
    """Your selected exchange (`paper` until you select one): the exchange of every trader you
    create without naming one."""
    return ExchangeConfigOut(selected_exchange=await selected_exchange(s, user.id))


@router.post("/exchange-config", response_model=ExchangeConfigOut)
async def set_exchange_config(
    body: ExchangeConfigBody, s: SessionDep, user: CurrentUser
) -> ExchangeConfigOut:
    """Select `hyperliquid`, `binance` or `paper` for the traders you create from now on
    (existing traders keep theirs)."""
    try:
        await _store(s, user.id, body.selected_exchange)
    except IntegrityError:  # a concurrent first selection added the row: update that one
        await s.rollback()
        await _store(s, user.id, body.selected_exchange)
    return ExchangeConfigOut(selected_exchange=body.selected_exchange)
