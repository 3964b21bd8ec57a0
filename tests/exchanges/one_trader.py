"""A database with one live trader's account row, for tests of what its venue reports."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from config.settings import async_url
from db.models import Account
from db.session import make_engine, make_sessionmaker


@asynccontextmanager
async def one_trader(
    database_url: str, account_id: int, exchange: str = "hyperliquid"
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(async_url(database_url))
    made = make_sessionmaker(engine)
    async with made() as s, s.begin():
        s.add(Account(id=account_id, name="t", account_type="program", exchange=exchange,
                      initial_capital=Decimal(10000), max_leverage=Decimal(5),
                      max_position_notional_usd=Decimal(100000), max_concurrent_positions=3,
                      symbols=["BTC"]))  # fmt: skip
    try:
        yield made
    finally:
        await engine.dispose()
