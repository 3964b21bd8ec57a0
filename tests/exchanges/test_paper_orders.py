"""Paper placement records its outcome through the one status writer (db/order_status.py): a
fill and a refusal each land on the order's row with their columns, and a second placement of
the same order answers from the row without executing again."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import pytest_asyncio
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from adapters.exchanges.paper import PaperExchange
from config.settings import async_url
from db.models import Account, DecisionRecord, OrderRecord, ReconciliationEvent, TradeRecord
from db.session import make_engine, make_sessionmaker
from domain import paper
from domain.orders import OrderIntent, OrderStatus

MARK = Decimal(50000)


def _intent(coid: str, size_usd: Decimal) -> OrderIntent:
    return OrderIntent(client_order_id=coid, account_id=7, decision_id="dec-7-1", leg="entry",
                       symbol="BTC", side="buy", reduce_only=False, size_usd=size_usd,
                       leverage=Decimal(2))  # fmt: skip


@pytest_asyncio.fixture
async def sessions(sqlite_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(async_url(sqlite_url))
    made = make_sessionmaker(engine)
    async with made() as s, s.begin():
        s.add(Account(id=7, name="t", account_type="program", initial_capital=Decimal(1000),
                      max_leverage=Decimal(5), max_position_notional_usd=Decimal(100000),
                      max_concurrent_positions=3, symbols=["BTC"]))  # fmt: skip
        s.add(DecisionRecord(id="dec-7-1", account_id=7, trigger_type="manual"))
    async with made() as s, s.begin():
        for coid in ("ho-7-1-entry", "ho-7-2-entry"):
            s.add(OrderRecord(client_order_id=coid, decision_id="dec-7-1", account_id=7,
                              leg="entry", symbol="BTC", side="buy",
                              leverage=Decimal(2)))  # fmt: skip
    yield made
    await engine.dispose()


async def test_a_fill_is_recorded_once(sessions: async_sessionmaker[AsyncSession]) -> None:
    exchange = PaperExchange(sessions, paper.PaperConfig())
    intent = _intent("ho-7-1-entry", Decimal(100))
    first = await exchange.place_order(intent, MARK)
    again = await exchange.place_order(intent, MARK)
    assert first.status is OrderStatus.FILLED and again == first
    async with sessions() as s:
        row = await s.get(OrderRecord, "ho-7-1-entry")
        fills = await s.scalar(select(func.count()).select_from(TradeRecord))
        findings = await s.scalar(select(func.count()).select_from(ReconciliationEvent))
    assert row is not None and row.status == OrderStatus.FILLED
    assert (row.filled_size, row.avg_price, row.fee) == (
        first.filled_size,
        first.avg_price,
        first.fee,
    )
    assert row.exchange_order_id == "paper-ho-7-1-entry"
    assert (fills, findings) == (1, 0)


async def test_a_refusal_is_recorded(sessions: async_sessionmaker[AsyncSession]) -> None:
    exchange = PaperExchange(sessions, paper.PaperConfig())
    out = await exchange.place_order(_intent("ho-7-2-entry", Decimal(10**7)), MARK)
    assert out.status is OrderStatus.REJECTED and out.reject_reason
    async with sessions() as s:
        row = await s.get(OrderRecord, "ho-7-2-entry")
    assert row is not None
    assert (row.status, row.reject_reason) == (OrderStatus.REJECTED, out.reject_reason)
