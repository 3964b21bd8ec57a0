"""The paper exchange records a round trip in the transaction of the fill that leaves a position
flat (db/round_trips.py): its PnL is its fills' realised PnL less their fees (no funding is
recorded), on SQLite and PostgreSQL, whether a decision, a take-profit or a stop-loss closed it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import pytest_asyncio
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from adapters.exchanges.paper import PaperExchange
from config.settings import async_url
from db.models import (
    Account,
    Binding,
    DecisionRecord,
    OrderRecord,
    Program,
    RoundTripRecord,
    TradeRecord,
)
from db.round_trips import record_after_fills
from db.session import make_engine, make_sessionmaker
from db.transactions import write
from domain import paper
from domain.orders import OrderIntent, OrderStatus

MARK = Decimal(50000)
A = 7  # the trader


@pytest_asyncio.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(async_url(database_url))
    made = make_sessionmaker(engine)
    async with made() as s, s.begin():
        s.add(Account(id=A, name="t", account_type="program", initial_capital=Decimal(10000),
                      max_leverage=Decimal(5), max_position_notional_usd=Decimal(100000),
                      max_concurrent_positions=3, symbols=["BTC"]))  # fmt: skip
        s.add(Program(id=3, name="p", code="x"))
    async with made() as s, s.begin():
        s.add(Binding(id=4, account_id=A, program_id=3))
    yield made
    await engine.dispose()


async def order(
    sessions: async_sessionmaker[AsyncSession],
    seq: int,
    leg: str,
    side: str,
    size_usd: str | None,
    trigger_key: str | None = None,
    **pct: Decimal,
) -> OrderIntent:
    """Decision `dec-7-<seq>` (scheduled, of binding 4) and its recorded order intent."""
    coid, did = f"ho-{A}-{seq}-{leg}", f"dec-{A}-{seq}"
    async with sessions() as s, s.begin():
        s.add(DecisionRecord(id=did, account_id=A, seq=seq, binding_id=4,
                             trigger_type="schedule", trigger_key=trigger_key))  # fmt: skip
    async with sessions() as s, s.begin():
        s.add(OrderRecord(client_order_id=coid, decision_id=did, account_id=A, leg=leg,
                          symbol="BTC", side=side, reduce_only=leg == "close",
                          leverage=Decimal(2)))  # fmt: skip
    return OrderIntent(client_order_id=coid, account_id=A, decision_id=did, leg=leg,
                       symbol="BTC", side=side, reduce_only=leg == "close",
                       size_usd=None if size_usd is None else Decimal(size_usd),
                       leverage=Decimal(2), **pct)  # fmt: skip


async def place(exchange: PaperExchange, intent: OrderIntent, mark: Decimal = MARK) -> None:
    out = await exchange.place_order(intent, mark)
    assert out.status is OrderStatus.FILLED, out


async def trips(sessions: async_sessionmaker[AsyncSession]) -> list[RoundTripRecord]:
    async with sessions() as s:
        return list(await s.scalars(select(RoundTripRecord).order_by(RoundTripRecord.id)))


async def fills(sessions: async_sessionmaker[AsyncSession]) -> list[TradeRecord]:
    async with sessions() as s:
        return list(await s.scalars(select(TradeRecord).order_by(TradeRecord.id)))


async def test_partial_closes_make_one_round_trip_whose_pnl_is_its_fills(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    exchange = PaperExchange(sessions, paper.PaperConfig())
    await place(exchange, await order(sessions, 1, "entry", "buy", "1000"))
    await place(exchange, await order(sessions, 2, "close", "sell", "400"), Decimal(51000))
    assert await trips(sessions) == []  # still open
    await place(exchange, await order(sessions, 3, "close", "sell", None), Decimal(52000))
    (trip,) = await trips(sessions)
    rows = await fills(sessions)
    assert len(rows) == 3 and trip.fill_count == 3
    assert trip.gross_pnl == sum(f.realized_pnl for f in rows) != 0
    assert trip.fees == sum(f.fee for f in rows)
    assert trip.funding == 0
    assert trip.net_pnl == sum(f.realized_pnl for f in rows) - sum(f.fee for f in rows)
    assert (trip.side, trip.size, trip.entry_price) == ("long", rows[0].size, rows[0].price)
    assert trip.exit_price == (rows[1].size * rows[1].price + rows[2].size * rows[2].price) / (
        trip.size
    )
    assert trip.notional == trip.size * trip.entry_price and trip.leverage == 2
    assert (trip.entry_decision_id, trip.exit_decision_id) == (f"dec-{A}-1", f"dec-{A}-3")
    assert (trip.exit_reason, trip.trigger_type, trip.program_id, trip.prompt_id) == (
        "decision",
        "schedule",
        3,
        None,
    )
    assert (trip.first_fill_id, trip.last_fill_id) == (rows[0].id, rows[2].id)
    assert trip.opened_at == rows[0].created_at and trip.closed_at == rows[2].created_at


async def test_take_profit_and_stop_loss_exits(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """The paper engine fires TP/SL on a sync whose marks crossed them (check_triggers)."""
    exchange = PaperExchange(sessions, paper.PaperConfig())
    tp = await order(sessions, 1, "entry", "buy", "1000", take_profit_pct=Decimal(2))
    await place(exchange, tp)
    await exchange.sync(A, {"BTC": Decimal(52000)})  # above +2 %
    sl = await order(sessions, 2, "entry", "sell", "1000", stop_loss_pct=Decimal(2))
    await place(exchange, sl)
    await exchange.sync(A, {"BTC": Decimal(52000)})  # a short's stop: above +2 %
    first, second = await trips(sessions)
    assert (first.side, first.exit_reason, first.gross_pnl > 0) == ("long", "take_profit", True)
    assert (second.side, second.exit_reason, second.gross_pnl < 0) == ("short", "stop_loss", True)
    for trip, decision in ((first, f"dec-{A}-1"), (second, f"dec-{A}-2")):
        assert (trip.entry_decision_id, trip.exit_decision_id) == (decision, None)
    rows = await fills(sessions)
    assert [f.trigger for f in rows] == [None, "take_profit", None, "stop_loss"]
    assert first.net_pnl == rows[1].realized_pnl - rows[0].fee - rows[1].fee


async def test_the_owners_close_is_a_manual_close(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """DELETE ...?positions=close closes through a decision keyed `close-...`."""
    exchange = PaperExchange(sessions, paper.PaperConfig())
    await place(exchange, await order(sessions, 1, "entry", "sell", "1000"))
    owner = await order(sessions, 2, "close", "buy", None, trigger_key="close-u1-BTC")
    await place(exchange, owner)
    (trip,) = await trips(sessions)
    assert (trip.exit_reason, trip.exit_decision_id) == ("manual_close", f"dec-{A}-2")


async def test_a_round_trip_is_recorded_once(sessions: async_sessionmaker[AsyncSession]) -> None:
    """A placement answered from its row, or recording again, adds no second round trip."""
    exchange = PaperExchange(sessions, paper.PaperConfig())
    await place(exchange, await order(sessions, 1, "entry", "buy", "1000"))
    close = await order(sessions, 2, "close", "sell", None)
    await place(exchange, close)
    await place(exchange, close)
    assert await write(sessions, lambda s: record_after_fills(s, A, ["BTC"])) == 0
    await place(exchange, await order(sessions, 3, "entry", "buy", "500"))
    await place(exchange, await order(sessions, 4, "close", "sell", None))
    async with sessions() as s:
        count = await s.scalar(select(func.count()).select_from(RoundTripRecord))
    assert count == 2
    first, second = await trips(sessions)
    assert (first.entry_decision_id, second.entry_decision_id) == (f"dec-{A}-1", f"dec-{A}-3")
