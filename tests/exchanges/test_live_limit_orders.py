"""A live trader's limit orders as the platform records them (adapters/exchanges/live.py): a
resting order is recorded `submitted`; its fill, made later at the venue, is learnt on the
account sync (the order moves to `filled`, the fill is recorded with its maker fee, and a
resting entry's TP/SL legs are placed then); a lost answer is settled by lookup, never by
resending. Each test runs on both venues, through their SDKs, against the emulators."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from decimal import Decimal

import eth_account
import pytest
import pytest_asyncio
from sqlalchemy import select

from adapters.exchanges.live import CREDENTIALS_FIELD, LiveExchanges
from config.settings import async_url
from db.models import Account, DecisionRecord, OrderRecord, TradeRecord
from db.session import make_engine, make_sessionmaker
from domain.exchange_rules import binance_client_order_id, hyperliquid_cloid
from domain.ids import protective_client_order_id
from domain.orders import OrderIntent, OrderStatus
from tests.emulators.binance_emulator import BinanceEmulator
from tests.emulators.exchange_common import serving
from tests.emulators.hyperliquid_emulator import HyperliquidEmulator
from tests.exchanges.limit_orders import limit
from vault import LocalKeyWrapper, MasterKey, seal

A = 5
ENTRY = f"ho-{A}-1-entry"
MARK = Decimal(65000)


@dataclass
class Venue:
    """One venue's emulator, as the tests move its price and count what reached it."""

    name: str
    hl: HyperliquidEmulator | None = None
    bn: BinanceEmulator | None = None
    user: str = ""  # HL wallet (lower case) / Binance API key

    def cross(self, price: str) -> None:
        if self.hl is not None:
            self.hl.set_mid("BTC", price)
        else:
            assert self.bn is not None
            self.bn.set_mark("BTCUSDT", price)

    def depth(self, size: str | None) -> None:
        """How much a taker (or a crossing mark) fills at once; None: any size."""
        depth = None if size is None else Decimal(size)
        if self.hl is not None:
            self.hl.asset("BTC").depth = depth
        else:
            assert self.bn is not None
            self.bn.symbols["BTCUSDT"].depth = depth

    def sent(self, coid: str) -> int:
        """How many orders with our id the venue received."""
        if self.hl is not None:
            cloid = hyperliquid_cloid(coid)
            return sum(1 for w in self.hl.order_actions() if w.get("c") == cloid)
        assert self.bn is not None
        venue_id = binance_client_order_id(coid)
        return sum(1 for o in self.bn.orders_for(self.user) if o["clientOrderId"] == venue_id)

    def triggers(self) -> int:
        """TP/SL orders resting at the venue."""
        if self.hl is not None:
            return sum(1 for o in self.hl.user_orders(self.user) if o.is_trigger)
        assert self.bn is not None
        return len(self.bn.algos_for(self.user))

    def fault_on_order(self) -> None:
        if self.hl is not None:
            self.hl.faults.inject("drop_after", "order")
        else:
            assert self.bn is not None
            self.bn.faults.inject("drop_after", "POST /fapi/v1/order")


@pytest.fixture(params=["hyperliquid", "binance"])
def venue_setup(request: pytest.FixtureRequest) -> Iterator[tuple[Venue, dict[str, str], str]]:
    """The venue, the trader's connection (its secrets), and the venue's URL."""
    if request.param == "hyperliquid":
        hl = HyperliquidEmulator()
        wallet, agent = eth_account.Account.create(), eth_account.Account.create()
        hl.add_user(wallet.address, "10000")
        hl.approve_agent(wallet.address, agent.address)
        secret = {"api_wallet_private_key": agent.key.hex(), "wallet": wallet.address}
        with serving(hl.app) as server:
            yield Venue("hyperliquid", hl=hl, user=wallet.address.lower()), secret, server.url
    else:
        bn = BinanceEmulator()
        key, api_secret = secrets.token_hex(32), secrets.token_hex(32)
        bn.add_account(key, api_secret, "10000")
        with serving(bn.app) as server:
            yield (
                Venue("binance", bn=bn, user=key),
                {"api_key": key, "api_secret": api_secret},
                server.url,
            )


@pytest_asyncio.fixture
async def live(
    sqlite_url: str, venue_setup: tuple[Venue, dict[str, str], str]
) -> AsyncIterator[tuple[LiveExchanges, Venue]]:
    """LiveExchanges over a fresh database holding one trader connected to the venue, with one
    decision whose entry intent is recorded (as the workflow records it before sending)."""
    venue, secret, url = venue_setup
    vault = LocalKeyWrapper(MasterKey.generate())
    wallet = secret.pop("wallet", None)
    engine = make_engine(async_url(sqlite_url))
    sessions = make_sessionmaker(engine)
    async with sessions() as s, s.begin():
        s.add(Account(id=A, name="t", account_type="program", exchange=venue.name,
                      initial_capital=Decimal(10000), max_leverage=Decimal(5),
                      max_position_notional_usd=Decimal(100000), max_concurrent_positions=3,
                      symbols=["BTC"], exchange_environment="mainnet" if wallet is None
                      else "testnet", exchange_base_url=url, exchange_wallet_address=wallet,
                      exchange_credentials_sealed=seal(vault, json.dumps(secret), A,
                                                       CREDENTIALS_FIELD).to_json()))  # fmt: skip
        s.add(DecisionRecord(id=f"dec-{A}-1", account_id=A, seq=1, trigger_type="manual"))
    yield LiveExchanges(sessions, vault, timeout_s=1.0), venue
    await engine.dispose()


async def record_intent(live: LiveExchanges, intent: OrderIntent) -> None:
    async with live.sessions() as s, s.begin():
        s.add(OrderRecord(client_order_id=intent.client_order_id, decision_id=intent.decision_id,
                          account_id=A, leg=intent.leg, symbol=intent.symbol, side=intent.side,
                          reduce_only=intent.reduce_only, size_usd=intent.size_usd,
                          leverage=intent.leverage, take_profit_pct=intent.take_profit_pct,
                          stop_loss_pct=intent.stop_loss_pct))  # fmt: skip


async def row(live: LiveExchanges, coid: str = ENTRY) -> OrderRecord:
    async with live.sessions() as s:
        found = await s.get(OrderRecord, coid)
    assert found is not None
    return found


def entry(**kw: object) -> OrderIntent:
    return limit("64000", ENTRY, account_id=A, decision_id=f"dec-{A}-1", **kw)  # type: ignore[arg-type]


async def test_a_resting_order_is_recorded_submitted_with_the_venues_id(
    live: tuple[LiveExchanges, Venue],
) -> None:
    exchange, _ = live
    await record_intent(exchange, entry())
    out = await exchange.place_order(entry(), MARK)
    assert out.status is OrderStatus.SUBMITTED
    recorded = await row(exchange)
    assert recorded.status == "submitted" and recorded.exchange_order_id == out.exchange_order_id


async def test_its_fill_when_the_price_crosses_is_learnt_on_sync_with_a_maker_fee(
    live: tuple[LiveExchanges, Venue],
) -> None:
    exchange, venue = live
    await record_intent(exchange, entry())
    await exchange.place_order(entry(), MARK)
    venue.cross("63900")
    await exchange.sync(A, {})
    recorded = await row(exchange)
    assert recorded.status == "filled" and recorded.avg_price == 64000
    async with exchange.sessions() as s:
        (trade,) = list(await s.scalars(select(TradeRecord)))
    assert (trade.price, trade.size) == (64000, recorded.filled_size)
    maker_rate = Decimal("0.00015") if venue.name == "hyperliquid" else Decimal("0.0002")
    assert trade.fee == (trade.size * trade.price * maker_rate).quantize(Decimal("0.000001"))


async def test_a_part_fill_while_it_rests_is_learnt_on_sync(
    live: tuple[LiveExchanges, Venue],
) -> None:
    """The row says what filled so far and stays `submitted` until the rest fills."""
    exchange, venue = live
    await record_intent(exchange, entry())
    await exchange.place_order(entry(), MARK)
    venue.depth("0.01")  # the book takes 0.01 of it at a time
    venue.cross("63900")
    await exchange.sync(A, {})
    recorded = await row(exchange)
    assert (recorded.status, recorded.avg_price) == ("submitted", 64000)
    assert recorded.filled_size == Decimal("0.01")
    assert recorded.fee is not None and recorded.fee > 0
    venue.depth(None)
    venue.cross("63800")
    await exchange.sync(A, {})
    assert (await row(exchange)).status == "filled"


async def test_a_resting_entry_gets_its_tp_sl_only_once_its_fill_is_learnt(
    live: tuple[LiveExchanges, Venue],
) -> None:
    """Placing TP/SL for a size not filled yet could close a position the trader does not hold
    (or, on Binance's closePosition, one opened otherwise): the legs wait for the fill."""
    exchange, venue = live
    await record_intent(exchange, entry(tp="10", sl="5"))
    await exchange.place_order(entry(tp="10", sl="5"), MARK)
    assert venue.triggers() == 0
    await exchange.sync(A, {})  # still resting: nothing to protect yet
    assert venue.triggers() == 0
    venue.cross("63900")
    await exchange.sync(A, {})
    assert venue.triggers() == 2
    assert (await row(exchange)).status == "filled"
    for kind in ("tp", "sl"):
        assert (await row(exchange, protective_client_order_id(ENTRY, kind))).status == "submitted"


async def test_a_lost_answer_is_settled_by_lookup_as_resting_without_resending(
    live: tuple[LiveExchanges, Venue],
) -> None:
    exchange, venue = live
    await record_intent(exchange, entry())
    venue.fault_on_order()
    lost = await exchange.place_order(entry(), MARK)
    assert lost.status is OrderStatus.UNKNOWN
    settled = await exchange.resolve_order(entry(), time.time() + 10)
    assert settled.status is OrderStatus.SUBMITTED and settled.exchange_order_id
    assert (await row(exchange)).status == "submitted"
    assert venue.sent(ENTRY) == 1


async def test_open_orders_name_our_resting_orders_by_our_id(
    live: tuple[LiveExchanges, Venue],
) -> None:
    exchange, _ = live
    await record_intent(exchange, entry())
    await exchange.place_order(entry(), MARK)
    (resting,) = await exchange.open_orders(A)
    assert resting["client_order_id"] == ENTRY
    assert (resting["side"], resting["price"]) == ("buy", 64000)
