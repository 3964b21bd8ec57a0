"""Each user's selected exchange: what a trader they create without an `exchange` trades on
(README "Exchange config"). Read by trader creation (api/routes/accounts.py), set through
/api/users/exchange-config (api/routes/exchange_config.py)."""

from __future__ import annotations

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from api.schemas import Strict
from db.exchange_config import UserExchangeConfig
from domain.vocabulary import Exchange

DEFAULT_EXCHANGE = Exchange.PAPER


class ExchangeConfigBody(Strict):
    selected_exchange: Exchange


class ExchangeConfigOut(BaseModel):
    selected_exchange: Exchange


async def selected_exchange(s: AsyncSession, user_id: int) -> Exchange:
    """The user's selected exchange; the paper exchange until they select one."""
    row = await s.get(UserExchangeConfig, user_id)
    return DEFAULT_EXCHANGE if row is None else Exchange(row.selected_exchange)
