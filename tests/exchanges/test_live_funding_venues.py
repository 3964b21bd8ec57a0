"""Funding payments and liquidations as each venue reports them, through the real SDKs over
HTTP against the emulators: Hyperliquid's `userFunding` and its fills' `liquidation` object,
Binance's FUNDING_FEE income rows and its force orders (its fills carry no flag). Then a live
trader's account sync records both: the round trip's funding and its liquidation exit."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal

import pytest_asyncio
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from adapters.exchanges.client import ExchangeClient
from adapters.exchanges.live import LiveExchanges
from db.models import Account, DecisionRecord, OrderRecord, RoundTripRecord, TradeRecord
from domain.ids import OrderLeg
from domain.orders import OrderIntent, OrderStatus
from domain.vocabulary import Side
from tests.exchanges.conftest import BnSetup, HlSetup
from tests.exchanges.one_trader import one_trader

A = 9
ENTRY = f"ho-{A}-1-entry"


@pytest_asyncio.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    async with one_trader(database_url, A) as made:
        yield made


def entry(symbol: str) -> OrderIntent:
    return OrderIntent(client_order_id=ENTRY, account_id=A, decision_id=f"dec-{A}-1",
                       leg=OrderLeg.ENTRY, symbol=symbol, side=Side.BUY, reduce_only=False,
                       size_usd=Decimal(1000), leverage=Decimal(2))  # fmt: skip


def since() -> int:
    return int(time.time() * 1000) - 60_000


async def test_hyperliquid_reports_funding_and_a_liquidation(hl: HlSetup) -> None:
    c = hl.client()
    try:
        assert (await c.place(entry("BTC"), hl.emulator.asset("BTC").mid)).status == "filled"
        hl.emulator.settle_funding("BTC", "0.0001")
        (payment,) = await c.funding_payments(since())
        assert payment.symbol == "BTC" and payment.amount < 0  # a long paid a positive rate
        hl.emulator.liquidate(hl.wallet.address, "BTC")
        fills = await c.fills(since())
        assert [f.liquidation for f in fills] == [False, True]
        assert await c.liquidated_order_ids(since()) == {fills[1].exchange_order_id}
    finally:
        await c.close()


async def test_binance_reports_funding_and_names_liquidations_by_force_order(
    bn: BnSetup,
) -> None:
    c = bn.client()
    try:
        mark = bn.emulator.symbols["BTCUSDT"].mark
        assert (await c.place(entry("BTC"), mark)).status == "filled"
        bn.emulator.settle_funding("BTCUSDT", "0.0001")
        (payment,) = await c.funding_payments(since())
        assert payment.symbol == "BTC" and payment.amount < 0
        bn.emulator.liquidate(bn.api_key, "BTCUSDT")
        fills = await c.fills(since())
        assert not any(f.liquidation for f in fills)  # userTrades has no flag
        assert await c.liquidated_order_ids(since()) == {fills[1].exchange_order_id}
    finally:
        await c.close()


class OneClient(LiveExchanges):
    """The live exchanges with the trader's venue client handed in, not built from sealed
    credentials (the vault is another test's subject)."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], c: ExchangeClient) -> None:
        super().__init__(sessions, vault=None)  # type: ignore[arg-type]
        self._c = c

    @asynccontextmanager
    async def client(self, account_id: int) -> AsyncIterator[ExchangeClient]:
        yield self._c


async def _ours(sessions: async_sessionmaker[AsyncSession], exchange: str) -> None:
    async with sessions() as s, s.begin():
        (await s.get(Account, A)).exchange = exchange  # type: ignore[union-attr]
        s.add(DecisionRecord(id=f"dec-{A}-1", account_id=A, seq=1, trigger_type="signal"))
    async with sessions() as s, s.begin():
        s.add(OrderRecord(client_order_id=ENTRY, decision_id=f"dec-{A}-1", account_id=A,
                          leg="entry", symbol="BTC", side="buy", reduce_only=False,
                          leverage=Decimal(2), status=OrderStatus.INTENT))  # fmt: skip


async def _synced_trip(
    sessions: async_sessionmaker[AsyncSession], live: LiveExchanges
) -> RoundTripRecord:
    await live.sync(A, {})
    async with sessions() as s:
        (trip,) = list(await s.scalars(select(RoundTripRecord)))
        trades = list(await s.scalars(select(TradeRecord).order_by(TradeRecord.id)))
    assert [t.trigger for t in trades] == [None, "liquidation"]
    return trip


async def test_a_hyperliquid_sync_records_the_funding_and_the_liquidation(
    hl: HlSetup,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await _ours(sessions, "hyperliquid")
    c = hl.client()
    try:
        live = OneClient(sessions, c)
        assert (await c.place(entry("BTC"), hl.emulator.asset("BTC").mid)).status == "filled"
        await live.sync(A, {})  # the entry's fill
        hl.emulator.settle_funding("BTC", "0.0001")
        (payment,) = await c.funding_payments(since())
        hl.emulator.liquidate(hl.wallet.address, "BTC")
        trip = await _synced_trip(sessions, live)
    finally:
        await c.close()
    assert trip.exit_reason == "liquidation"
    assert trip.funding == -payment.amount > 0
    assert trip.net_pnl == trip.gross_pnl - trip.fees - trip.funding


async def test_a_binance_sync_records_the_funding_and_the_liquidation(
    bn: BnSetup,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await _ours(sessions, "binance")
    c = bn.client()
    try:
        live = OneClient(sessions, c)
        mark = bn.emulator.symbols["BTCUSDT"].mark
        placed = await c.place(entry("BTC"), mark)
        async with sessions() as s, s.begin():  # as placement records it
            (await s.get(OrderRecord, ENTRY)).exchange_order_id = placed.exchange_order_id  # type: ignore[union-attr]
        await live.sync(A, {})
        bn.emulator.settle_funding("BTCUSDT", "0.0001")
        (payment,) = await c.funding_payments(since())
        bn.emulator.liquidate(bn.api_key, "BTCUSDT")
        trip = await _synced_trip(sessions, live)
    finally:
        await c.close()
    assert trip.exit_reason == "liquidation"
    assert trip.funding == -payment.amount > 0
    assert trip.net_pnl == trip.gross_pnl - trip.fees - trip.funding
