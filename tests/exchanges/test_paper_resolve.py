"""Settling a paper order whose answer was lost (PaperExchange.resolve_order): the database is
the venue, so its row says what happened, and an unreachable database is asked again with
backoff (adapters/exchanges/retry.py) until the deadline, then the order stays `unknown`."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from adapters.exchanges.paper import PaperExchange
from config.settings import async_url
from db.models import Account, DecisionRecord, OrderRecord
from db.session import make_engine, make_sessionmaker
from domain import paper
from domain.orders import OrderIntent, OrderStatus

INTENT = OrderIntent(
    client_order_id="ho-7-1-entry",
    account_id=7,
    decision_id="dec-7-1",
    leg="entry",
    symbol="BTC",
    side="buy",
    reduce_only=False,
    size_usd=Decimal(100),
    leverage=Decimal(2),
)


@pytest_asyncio.fixture
async def sessions(sqlite_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(async_url(sqlite_url))
    yield make_sessionmaker(engine)
    await engine.dispose()


async def test_an_intent_that_never_executed_is_not_placed(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as s, s.begin():
        s.add(Account(id=7, name="t", account_type="program", initial_capital=Decimal(1000),
                      max_leverage=Decimal(5), max_position_notional_usd=Decimal(1000),
                      max_concurrent_positions=3, symbols=["BTC"]))  # fmt: skip
        s.add(DecisionRecord(id="dec-7-1", account_id=7, trigger_type="manual"))
    async with sessions() as s, s.begin():
        s.add(OrderRecord(client_order_id="ho-7-1-entry", decision_id="dec-7-1", account_id=7,
                          leg="entry", symbol="BTC", side="buy", leverage=Decimal(2)))  # fmt: skip
    out = await PaperExchange(sessions, paper.PaperConfig()).resolve_order(INTENT, time.time() + 5)
    assert out.status is OrderStatus.REJECTED
    assert out.reject_reason == "NOT_PLACED: never executed; not resent"
    async with sessions() as s:
        row = await s.get(OrderRecord, "ho-7-1-entry")
    assert row is not None and row.status == OrderStatus.REJECTED  # recorded, not only answered


async def test_a_missing_intent_row_is_not_placed(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    out = await PaperExchange(sessions, paper.PaperConfig()).resolve_order(INTENT, time.time() + 5)
    assert (out.status, out.reject_reason) == (OrderStatus.REJECTED, "NOT_PLACED: no intent row")


async def test_a_database_down_past_the_deadline_leaves_it_unknown(tmp_path: Path) -> None:
    """Asked again after the first backoff (0.5 s); the next wait (1 s) would end past the
    deadline, so the answer is `unknown` with the reason, never a guess."""
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path}/no-such-dir/x.db")
    real = make_sessionmaker(engine)
    asked = 0

    def counting() -> Any:
        nonlocal asked
        asked += 1
        return real()

    exchange = PaperExchange(counting, paper.PaperConfig())  # type: ignore[arg-type]
    out = await exchange.resolve_order(INTENT, time.time() + 0.8)
    assert out.status is OrderStatus.UNKNOWN and asked == 2
    assert out.reject_reason is not None
    assert out.reject_reason.startswith("still unknown at the deadline: database unavailable")
    await engine.dispose()
