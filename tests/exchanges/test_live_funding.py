"""Funding payments of live positions (db/funding.py): each recorded once, counted in the
round trip that was open when it was paid, whether it is learnt before the position closes or
after; and a liquidation's fill ends its round trip as a liquidation."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest_asyncio
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from adapters.exchanges.client import Fill, FundingPayment
from adapters.exchanges.live import LiveExchanges
from api.schemas import as_utc
from db.models import FundingPaymentRecord, RoundTripRecord
from tests.exchanges.one_trader import one_trader

A = 9


@pytest_asyncio.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    async with one_trader(database_url, A) as made:
        yield made


def fill(n: int, side: str, pnl: str = "0", liquidation: bool = False) -> Fill:
    return Fill(trade_id=f"t{n}", exchange_order_id=f"o{n}", symbol="BTC", side=side,
                size=Decimal(1), price=Decimal(100), fee=Decimal("0.5"),
                realized_pnl=Decimal(pnl), time_ms=n, liquidation=liquidation)  # fmt: skip


def paid(n: int, amount: str, at: datetime) -> FundingPayment:
    """A payment as the venue books it: negative `amount` = the trader paid."""
    return FundingPayment(payment_id=f"p{n}", symbol="BTC", amount=Decimal(amount),
                          time_ms=int(at.timestamp() * 1000))  # fmt: skip


async def record(
    sessions: async_sessionmaker[AsyncSession], *fills: Fill, payments: tuple = ()
) -> None:
    live = LiveExchanges(sessions, vault=None)  # type: ignore[arg-type]  # no client needed
    await live._record_fills(A, list(fills), payments=list(payments))


async def the_trip(sessions: async_sessionmaker[AsyncSession]) -> RoundTripRecord:
    async with sessions() as s:
        (trip,) = list(await s.scalars(select(RoundTripRecord)))
        return trip


async def test_a_payment_learnt_while_the_position_is_open_counts_when_it_closes(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await record(sessions, fill(1, "buy"))
    await record(sessions, payments=(paid(1, "-2.5", datetime.now(UTC)),))
    await record(sessions, fill(2, "sell", pnl="10"))
    trip = await the_trip(sessions)
    assert (trip.funding, trip.gross_pnl, trip.fees) == (Decimal("2.5"), 10, 1)
    assert trip.net_pnl == Decimal("6.5")  # 10 - 1 - 2.5


async def test_a_payment_learnt_after_the_close_is_added_to_its_round_trip(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """The venue settled funding while the position was open; the sync that learns of it
    comes after the closing fill was recorded (a placement records its own fills at once)."""
    await record(sessions, fill(1, "buy"))
    await record(sessions, fill(2, "sell", pnl="10"))
    closed = await the_trip(sessions)
    opened, shut = (as_utc(t) for t in (closed.opened_at, closed.closed_at))
    during = opened + (shut - opened) / 2
    received = paid(1, "1.25", during)  # a short's funding, say: received
    await record(sessions, payments=(received,))
    await record(sessions, payments=(received,))  # the next sync sees it again: once
    trip = await the_trip(sessions)
    assert (trip.funding, trip.net_pnl) == (Decimal("-1.25"), Decimal("10.25"))
    async with sessions() as s:
        assert len(list(await s.scalars(select(FundingPaymentRecord)))) == 1


async def test_a_payment_outside_a_round_trip_is_recorded_but_not_counted_in_it(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await record(sessions, fill(1, "buy"))
    await record(sessions, fill(2, "sell", pnl="10"))
    await record(sessions, payments=(paid(1, "-3", datetime.now(UTC) + timedelta(hours=1)),))
    trip = await the_trip(sessions)
    assert (trip.funding, trip.net_pnl) == (0, 9)
    async with sessions() as s:
        (row,) = list(await s.scalars(select(FundingPaymentRecord)))
    assert (row.amount, row.symbol, row.payment_id) == (3, "BTC", "p1")


async def test_a_liquidation_fill_ends_its_round_trip_as_a_liquidation(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await record(sessions, fill(1, "buy"))
    await record(sessions, fill(2, "sell", pnl="-40", liquidation=True))
    trip = await the_trip(sessions)
    assert trip.exit_reason == "liquidation"
