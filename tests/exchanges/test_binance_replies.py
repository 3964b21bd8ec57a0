"""A Binance reply that does not say what it should is a classified error, never a crash (an
AttributeError/KeyError/ValueError deep in the adapter) nor a silent zero: a read is a retryable
BAD_RESPONSE; an order whose answer cannot be read is `unknown`, settled by lookup. Over real
HTTP and python-binance; the emulator processes the request, its answer is replaced."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, Iterator
from decimal import Decimal as D
from typing import Any

import pytest

from adapters.exchanges.binance import BinanceFuturesClient
from adapters.exchanges.client import ErrorCode, ExchangeError, OutcomeUnknown
from domain.orders import OrderIntent, OrderStatus
from tests.emulators.binance_emulator import BinanceEmulator
from tests.emulators.exchange_common import serving
from tests.exchanges.conftest import BnSetup
from tests.exchanges.garbled import Garbled, binance_op


@pytest.fixture
def garbled() -> Iterator[tuple[BnSetup, Garbled]]:
    emulator = BinanceEmulator()
    api_key, api_secret = secrets.token_hex(32), secrets.token_hex(32)
    emulator.add_account(api_key, api_secret, "10000")
    wrapper = Garbled(emulator.app, binance_op)
    with serving(wrapper) as server:
        yield BnSetup(emulator, server, api_key, api_secret), wrapper


ENTRY = OrderIntent(
    client_order_id="ho-1-1-entry",
    account_id=1,
    decision_id="d-1",
    leg="entry",
    symbol="BTC",
    side="buy",
    reduce_only=False,
    size_usd=D(1000),
    leverage=D(5),
)

Read = Callable[[BinanceFuturesClient], Awaitable[Any]]
READS: list[tuple[str, str, Any, Read]] = [
    (
        "a symbol without its lot size",
        "GET /fapi/v1/exchangeInfo",
        {"symbols": [{"symbol": "BTCUSDT", "status": "TRADING", "filters": []}]},
        lambda c: c.rules("BTC"),
    ),
    (
        "a symbol without its name",
        "GET /fapi/v1/exchangeInfo",
        {"symbols": [{"status": "TRADING"}]},
        lambda c: c.rules("BTC"),
    ),
    (
        "an account without balances",
        "GET /fapi/v2/account",
        {"assets": []},
        lambda c: c.account(),
    ),
    ("positions not objects", "GET /fapi/v2/positionRisk", ["x"], lambda c: c.account()),
    (
        "an order without its status",
        "GET /fapi/v1/order",
        {"orderId": 1, "clientOrderId": "ho-1-1-entry", "symbol": "BTCUSDT", "side": "BUY"},
        lambda c: c.lookup("ho-1-1-entry", "BTC"),
    ),
    (
        "a trade without size or price",
        "GET /fapi/v1/userTrades",
        [{"id": 1, "orderId": 1, "symbol": "BTCUSDT", "side": "BUY", "time": 1}],
        lambda c: c.fills(0),
    ),
    ("open orders not objects", "GET /fapi/v1/openOrders", ["x"], lambda c: c.open_orders()),
    ("open TP/SL not objects", "GET /fapi/v1/openAlgoOrders", ["x"], lambda c: c.open_orders()),
    ("mark prices not objects", "GET /fapi/v1/premiumIndex", ["x"], lambda c: c.mids()),
    (
        "a kline cut short",
        "GET /fapi/v1/klines",
        [[1, "x"]],
        lambda c: c.candles("BTC", "1h", 5, 10**13),
    ),
    (
        "open interest not a number",
        "GET /fapi/v1/openInterest",
        {"openInterest": "abc"},
        lambda c: c.open_interest("BTC"),
    ),
]


@pytest.mark.parametrize(("op", "reply", "read"), [r[1:] for r in READS], ids=[r[0] for r in READS])
async def test_a_malformed_read_is_a_retryable_bad_response(
    garbled: tuple[BnSetup, Garbled], op: str, reply: Any, read: Read
) -> None:
    bn, wrapper = garbled
    client = bn.client(symbols=["BTC"])
    wrapper.answer(op, reply)
    with pytest.raises(ExchangeError) as info:
        await read(client)
    assert info.value.code == ErrorCode.BAD_RESPONSE and info.value.retryable, info.value
    assert wrapper.garbled == [op]
    await client.close()


async def test_unreadable_permissions_are_not_trusted(garbled: tuple[BnSetup, Garbled]) -> None:
    bn, wrapper = garbled
    client = bn.client(symbols=["BTC"])
    wrapper.answer("GET /sapi/v1/account/apiRestrictions", ["x"])
    verdict = await client.verify()
    assert not verdict.ok and verdict.code == "PERMISSIONS_UNVERIFIED", verdict
    await client.close()


async def test_an_unreadable_order_answer_is_unknown_then_found(
    garbled: tuple[BnSetup, Garbled],
) -> None:
    """The order reached the venue: never reported filled under an id the venue did not give."""
    bn, wrapper = garbled
    client = bn.client(symbols=["BTC"])
    wrapper.answer("POST /fapi/v1/order", {"status": "FILLED"})
    with pytest.raises(OutcomeUnknown) as info:
        await client.place(ENTRY, D(65000))
    assert info.value.client_order_id == ENTRY.client_order_id
    found = await client.lookup(ENTRY.client_order_id)
    assert found is not None and found.status is OrderStatus.FILLED
    assert found.filled_size == D("0.015") and found.fee == D("0.4875")
    await client.close()
