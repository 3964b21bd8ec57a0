"""A paper fill records the trader's equity point in the fill's own transaction: an order's
fill and a TP/SL trigger's each add one point (with its event), valued as the account is right
after the fill; an order placed again (already executed) adds none."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import pytest_asyncio
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from adapters.exchanges.paper import PaperExchange
from config.settings import async_url
from db.models import DecisionRecord, OrderRecord
from db.session import make_engine, make_sessionmaker
from db.tables import EQUITY_SNAPSHOTS, EVENTS, TRADES
from domain import paper
from domain.events import EventType
from domain.orders import OrderIntent, OrderStatus
from domain.vocabulary import Side
from tests.equity.conftest import add_trader

MARK = Decimal(50000)
Sessions = async_sessionmaker[AsyncSession]


def _intent(coid: str, **fields: object) -> OrderIntent:
    values: dict[str, object] = {
        "client_order_id": coid, "account_id": 7, "decision_id": "dec-7-1", "leg": "entry",
        "symbol": "BTC", "side": Side.BUY, "reduce_only": False, "size_usd": Decimal(1000),
        "leverage": Decimal(2), **fields,
    }  # fmt: skip
    return OrderIntent.model_validate(values)


@pytest_asyncio.fixture
async def sessions(database_url: str) -> AsyncIterator[Sessions]:
    engine = make_engine(async_url(database_url))
    made = make_sessionmaker(engine)
    async with made() as s, s.begin():
        await s.run_sync(lambda sync: add_trader(sync, 7, initial_capital=Decimal(10000)))
        s.add(DecisionRecord(id="dec-7-1", account_id=7, trigger_type="manual"))
    async with made() as s, s.begin():
        s.add(OrderRecord(client_order_id="ho-7-1-entry", decision_id="dec-7-1", account_id=7,
                          leg="entry", symbol="BTC", side=Side.BUY,
                          leverage=Decimal(2)))  # fmt: skip
    yield made
    await engine.dispose()


async def _points(sessions: Sessions) -> list[tuple[Decimal, Decimal, Decimal, Decimal]]:
    async with sessions() as s:
        rows = await s.execute(
            select(
                EQUITY_SNAPSHOTS.c.cash,
                EQUITY_SNAPSHOTS.c.unrealized_pnl,
                EQUITY_SNAPSHOTS.c.equity,
                EQUITY_SNAPSHOTS.c.margin_used,
            ).order_by(EQUITY_SNAPSHOTS.c.id)
        )
        return [tuple(r) for r in rows]  # type: ignore[misc]


async def _count(sessions: Sessions, table, *where) -> int:  # type: ignore[no-untyped-def]
    async with sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(table).where(*where)) or 0)


async def test_an_order_fill_records_the_equity_after_it(sessions: Sessions) -> None:
    exchange = PaperExchange(sessions, paper.PaperConfig())
    out = await exchange.place_order(_intent("ho-7-1-entry"), MARK)
    assert out.status is OrderStatus.FILLED
    await exchange.place_order(_intent("ho-7-1-entry"), MARK)  # already executed: no new point
    view = await exchange.view(7, {"BTC": MARK})
    assert await _points(sessions) == [
        (view.cash_usd, view.unrealized_pnl_usd, view.equity_usd, view.used_margin_usd)
    ]
    assert view.used_margin_usd > 0 and view.cash_usd < 10000  # the fee was paid
    assert await _count(sessions, EVENTS, EVENTS.c.type == EventType.ASSET_CURVE.value) == 1


async def test_a_stop_loss_fill_records_a_point(sessions: Sessions) -> None:
    exchange = PaperExchange(sessions, paper.PaperConfig())
    await exchange.place_order(_intent("ho-7-1-entry", stop_loss_pct=Decimal(2)), MARK)
    await exchange.sync(7, {"BTC": MARK})  # nothing crossed: no fill, no point
    assert len(await _points(sessions)) == 1
    await exchange.sync(7, {"BTC": MARK * Decimal("0.9")})  # the stop-loss fires
    assert await _count(sessions, TRADES) == 2
    cash, upnl, equity_usd, margin = (await _points(sessions))[-1]
    assert (upnl, margin) == (0, 0) and equity_usd == cash < 10000  # flat, after the loss
