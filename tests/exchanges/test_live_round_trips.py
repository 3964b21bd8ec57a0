"""A live trader's round trips come from the venue's fills as recorded (LiveExchanges
`_record_fills`): the venue reports our order ids in its own form (a Hyperliquid cloid), a
TP/SL leg's fill is that trigger's exit, and a fill no order of ours made (a close by hand at
the venue, learnt by reconciliation) is a reconciliation exit, flips included."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import pytest_asyncio
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from adapters.exchanges.client import Fill
from adapters.exchanges.live import LiveExchanges
from config.settings import async_url
from db.models import Account, DecisionRecord, OrderRecord, RoundTripRecord, TradeRecord
from db.session import make_engine, make_sessionmaker
from domain.exchange_rules import hyperliquid_cloid

A = 7
ENTRY, STOP = f"ho-{A}-1-entry", f"ho-{A}-1-entry:sl"


@pytest_asyncio.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(async_url(database_url))
    made = make_sessionmaker(engine)
    async with made() as s, s.begin():
        s.add(Account(id=A, name="t", account_type="program", exchange="hyperliquid",
                      initial_capital=Decimal(10000), max_leverage=Decimal(5),
                      max_position_notional_usd=Decimal(100000), max_concurrent_positions=3,
                      symbols=["BTC"]))  # fmt: skip
        s.add(DecisionRecord(id=f"dec-{A}-1", account_id=A, seq=1, trigger_type="signal"))
    async with made() as s, s.begin():
        for coid, leg, side in ((ENTRY, "entry", "buy"), (STOP, "sl", "sell")):
            s.add(OrderRecord(client_order_id=coid, decision_id=f"dec-{A}-1", account_id=A,
                              leg=leg, symbol="BTC", side=side, reduce_only=leg == "sl",
                              leverage=Decimal(3), status="filled"))  # fmt: skip
    yield made
    await engine.dispose()


def fill(n: int, side: str, size: str, price: str, pnl: str = "0", ours: str | None = None) -> Fill:
    return Fill(trade_id=f"t{n}", exchange_order_id=f"o{n}", symbol="BTC", side=side,
                size=Decimal(size), price=Decimal(price), fee=Decimal("0.5"),
                realized_pnl=Decimal(pnl), time_ms=n,
                venue_client_id=None if ours is None else hyperliquid_cloid(ours))  # fmt: skip


async def record(sessions: async_sessionmaker[AsyncSession], *fills: Fill) -> None:
    live = LiveExchanges(sessions, vault=None)  # type: ignore[arg-type]  # no client needed
    await live._record_fills(A, list(fills))


async def trips(sessions: async_sessionmaker[AsyncSession]) -> list[RoundTripRecord]:
    async with sessions() as s:
        return list(await s.scalars(select(RoundTripRecord).order_by(RoundTripRecord.id)))


async def test_a_stop_loss_leg_closes_the_round_trip_of_its_entry(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await record(sessions, fill(1, "buy", "2", "100", ours=ENTRY))
    await record(sessions, fill(2, "sell", "1", "95", pnl="-5"))  # part closed by hand
    assert await trips(sessions) == []
    await record(sessions, fill(2, "sell", "1", "95", pnl="-5"), fill(3, "sell", "1", "90",
                 pnl="-10", ours=STOP))  # fmt: skip
    (trip,) = await trips(sessions)
    assert (trip.exit_reason, trip.fill_count, trip.size, trip.leverage) == (
        "stop_loss",
        3,
        2,
        3,
    )
    assert (trip.entry_decision_id, trip.exit_decision_id) == (f"dec-{A}-1", None)
    assert trip.trigger_type == "signal"
    assert (trip.gross_pnl, trip.fees, trip.net_pnl) == (-15, Decimal("1.5"), Decimal("-16.5"))


async def test_fills_of_no_order_of_ours_close_and_flip_by_reconciliation(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """Each fill is recorded on its own, so recording resumes across the flip."""
    await record(sessions, fill(1, "buy", "1", "100", ours=ENTRY))
    await record(sessions, fill(2, "sell", "3", "110", pnl="10"))  # closes 1, opens a 2 short
    await record(sessions, fill(3, "buy", "1", "105", pnl="5"))
    await record(sessions, fill(4, "buy", "1", "100", pnl="10"))
    await record(sessions, fill(5, "buy", "1", "101"))  # resumes from the flip's other part
    await record(sessions, fill(6, "sell", "1", "102", pnl="1"))
    first, second, third = await trips(sessions)
    assert (third.side, third.first_fill_id, third.last_fill_id) == ("long", 5, 6)
    assert (first.side, first.size, first.exit_reason) == ("long", 1, "reconciliation")
    assert (first.entry_decision_id, first.exit_decision_id) == (f"dec-{A}-1", None)
    assert (second.side, second.size, second.entry_price) == ("short", 2, 110)
    assert (second.entry_decision_id, second.trigger_type, second.fill_count) == (None, None, 3)
    assert (second.gross_pnl, second.exit_price) == (15, Decimal("102.5"))
    async with sessions() as s:
        fees = sum(await s.scalars(select(TradeRecord.fee)))
    assert first.fees + second.fees + third.fees == fees  # the flip's fee shared, not doubled
    assert first.net_pnl + second.net_pnl + third.net_pnl == 26 - fees


async def test_fills_that_name_only_the_venues_order_id_are_ours(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """Binance reports a fill's order id, not its client id: the fill is recorded under our
    order's id, so its round trip has its decisions and the stop-loss leg is its exit (it used
    to be a reconciliation exit with no decision)."""
    async with sessions() as s, s.begin():
        for coid, venue_id in ((ENTRY, "o1"), (STOP, "o2")):
            (await s.get(OrderRecord, coid)).exchange_order_id = venue_id  # type: ignore[union-attr]
    await record(sessions, fill(1, "buy", "1", "100"), fill(2, "sell", "1", "90", pnl="-10"))
    (trip,) = await trips(sessions)
    assert (trip.exit_reason, trip.entry_decision_id) == ("stop_loss", f"dec-{A}-1")
    async with sessions() as s:
        named = list(await s.scalars(select(TradeRecord.client_order_id).order_by(TradeRecord.id)))
    assert named == [ENTRY, STOP]  # what GET /trades shows for them
