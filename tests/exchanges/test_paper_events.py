"""The paper exchange reports each fill it records, and what the fill did to the position, on
the live stream, in the fill's transaction: the values are the ones the exchange's own view
(what `GET .../positions` answers) and the trades table (`GET .../trades`) show right after.
A trigger (TP/SL) fill is reported once, with its trigger."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import pytest_asyncio
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from adapters.exchanges.paper import PaperExchange
from config.settings import async_url
from db import events
from db.models import Account, DecisionRecord, OrderRecord, TradeRecord
from db.session import make_engine, make_sessionmaker
from domain import paper
from domain.events import Event, EventType
from domain.orders import OrderIntent

MARK = Decimal(50000)
D = Decimal


def _intent(coid: str) -> OrderIntent:
    return OrderIntent(client_order_id=coid, account_id=7, decision_id="dec-7-1", leg="entry",
                       symbol="BTC", side="buy", reduce_only=False, size_usd=D(100),
                       leverage=D(2), stop_loss_pct=D(1))  # fmt: skip


@pytest_asyncio.fixture
async def sessions(sqlite_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(async_url(sqlite_url))
    made = make_sessionmaker(engine)
    async with made() as s, s.begin():
        s.add(Account(id=7, name="t", account_type="program", initial_capital=D(1000),
                      max_leverage=D(5), max_position_notional_usd=D(100000),
                      max_concurrent_positions=3, symbols=["BTC"]))  # fmt: skip
        s.add(DecisionRecord(id="dec-7-1", account_id=7, trigger_type="manual"))
    async with made() as s, s.begin():
        for coid in ("ho-7-1-entry", "ho-7-2-entry"):
            s.add(OrderRecord(client_order_id=coid, decision_id="dec-7-1", account_id=7,
                              leg="entry", symbol="BTC", side="buy",
                              leverage=D(2)))  # fmt: skip
    yield made
    await engine.dispose()


async def _after(sessions: async_sessionmaker[AsyncSession], after_id: int) -> list[Event]:
    """The trade and position reports after `after_id` (a fill's equity point, also reported
    in its transaction, is tests/equity's subject)."""
    async with sessions() as s:
        found = await s.run_sync(lambda sync: events.after(sync, after_id, 100))
    return [e for e in found if e.type in (EventType.TRADE, EventType.POSITION)]


def _position_as_viewed(event: Event, view: object) -> None:
    """The event's position is the view's (what the positions endpoint answers)."""
    (pos,) = view.positions  # type: ignore[attr-defined]
    data = event.data
    assert (data["symbol"], data["side"]) == (pos.symbol, pos.side)
    for name in ("size", "entry_price", "leverage", "mark_price", "unrealized_pnl"):
        assert D(str(data[name])) == getattr(pos, name), name


async def _trade_as_recorded(
    sessions: async_sessionmaker[AsyncSession], event: Event
) -> TradeRecord:
    async with sessions() as s:
        row = await s.scalar(
            select(TradeRecord).where(TradeRecord.trade_id == event.data["trade_id"])
        )
    assert row is not None
    data = event.data
    assert (data["kind"], data["symbol"], data["side"], data["client_order_id"]) == (
        "fill", row.symbol, row.side, row.client_order_id)  # fmt: skip
    for name in ("size", "price", "fee", "realized_pnl"):
        assert D(str(data[name])) == getattr(row, name), name
    assert data["trigger"] == row.trigger
    return row


async def test_fills_report_the_trade_and_the_position_they_open_and_change(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    exchange = PaperExchange(sessions, paper.PaperConfig())
    await exchange.place_order(_intent("ho-7-1-entry"), MARK)
    fill, opened = await _after(sessions, 0)
    _position_as_viewed(opened, await exchange.view(7, {"BTC": MARK}))
    assert (fill.type, opened.type, opened.data["kind"]) == (
        EventType.TRADE, EventType.POSITION, "opened")  # fmt: skip
    assert fill.data["exchange_order_id"] == "paper-ho-7-1-entry"
    await _trade_as_recorded(sessions, fill)

    await exchange.place_order(_intent("ho-7-2-entry"), MARK + 100)
    await exchange.place_order(_intent("ho-7-2-entry"), MARK + 100)  # answered from the row
    fill2, changed = await _after(sessions, opened.id)
    assert changed.data["kind"] == "changed"
    _position_as_viewed(changed, await exchange.view(7, {"BTC": MARK + 100}))
    await _trade_as_recorded(sessions, fill2)


async def test_a_stop_loss_fill_reports_the_trade_and_the_close_once(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    exchange = PaperExchange(sessions, paper.PaperConfig())
    await exchange.place_order(_intent("ho-7-1-entry"), MARK)
    seen = (await _after(sessions, 0))[-1].id
    low = {"BTC": MARK * D("0.95")}
    view = await exchange.sync(7, low)
    await exchange.sync(7, low)  # nothing left to trigger: nothing more to report
    fill, closed = await _after(sessions, seen)
    assert view.positions == []
    row = await _trade_as_recorded(sessions, fill)
    assert fill.data["trigger"] == "stop_loss" and row.realized_pnl < 0
    assert (closed.data["kind"], closed.data["side"], closed.data["size"]) == (
        "closed", "long", "0")  # fmt: skip
    assert closed.data["time"] == fill.data["time"]
