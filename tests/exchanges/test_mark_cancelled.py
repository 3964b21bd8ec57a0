"""Recording a cancel the venue confirmed (ExchangeRouter.mark_cancelled; the venue found the
order resting first): the order state table decides. An order whose answer was lost is now
known cancelled; one recorded filled cannot have been cancelled, so it stays filled and the
report is one `illegal_transition` finding."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import pytest_asyncio
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from adapters.exchanges.router import ExchangeRouter
from config.settings import async_url
from db.models import Account, DecisionRecord, OrderRecord, ReconciliationEvent
from db.session import make_engine, make_sessionmaker
from domain.orders import OrderStatus

ORDERS = {"ho-7-1-entry": OrderStatus.UNKNOWN, "ho-7-2-entry": OrderStatus.FILLED}


@pytest_asyncio.fixture
async def sessions(sqlite_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(async_url(sqlite_url))
    made = make_sessionmaker(engine)
    async with made() as s, s.begin():
        s.add(Account(id=7, name="t", account_type="program", initial_capital=Decimal(1000),
                      max_leverage=Decimal(5), max_position_notional_usd=Decimal(1000),
                      max_concurrent_positions=3, symbols=["BTC"]))  # fmt: skip
        s.add(DecisionRecord(id="dec-7-1", account_id=7, trigger_type="manual"))
    async with made() as s, s.begin():
        for coid, status in ORDERS.items():
            s.add(OrderRecord(client_order_id=coid, decision_id="dec-7-1", account_id=7,
                              leg="entry", symbol="BTC", side="buy", leverage=Decimal(2),
                              status=status))  # fmt: skip
    yield made
    await engine.dispose()


async def test_a_confirmed_cancel_is_checked_against_the_table(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    router = ExchangeRouter(sessions, None, None, None)  # type: ignore[arg-type]
    for coid in ORDERS:
        await router.mark_cancelled(coid)
    await router.mark_cancelled("ho-9-9-entry")  # not ours: nothing to record
    async with sessions() as s:
        rows = {o.client_order_id: o.status for o in await s.scalars(select(OrderRecord))}
        events = list(await s.scalars(select(ReconciliationEvent)))
    assert rows == {"ho-7-1-entry": "cancelled", "ho-7-2-entry": "filled"}
    assert [(e.kind, e.subject, e.detail["where"]) for e in events] == [
        ("illegal_transition", "ho-7-2-entry", "cancel")
    ]
