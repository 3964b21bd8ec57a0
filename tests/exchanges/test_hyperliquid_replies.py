"""A Hyperliquid reply that does not say what it should is a classified error, never a crash (an
AttributeError/KeyError deep in the adapter) nor a silent zero: a read is a retryable
BAD_RESPONSE; an order whose answer cannot be read is `unknown`, settled by lookup. Over real
HTTP and the official SDK; the emulator processes the request, its answer is replaced."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from decimal import Decimal as D
from typing import Any

import eth_account
import pytest

from adapters.exchanges.client import ErrorCode, ExchangeError, OutcomeUnknown
from adapters.exchanges.hyperliquid import HyperliquidClient
from domain.orders import OrderIntent, OrderStatus
from tests.emulators.exchange_common import serving
from tests.emulators.hyperliquid_emulator import HyperliquidEmulator
from tests.exchanges.conftest import HlSetup
from tests.exchanges.garbled import Garbled, hyperliquid_op


@pytest.fixture
def garbled() -> Iterator[tuple[HlSetup, Garbled]]:
    emulator = HyperliquidEmulator()
    wallet, agent = eth_account.Account.create(), eth_account.Account.create()
    emulator.add_user(wallet.address, "10000")
    emulator.approve_agent(wallet.address, agent.address)
    wrapper = Garbled(emulator.app, hyperliquid_op)
    with serving(wrapper) as server:
        yield HlSetup(emulator, server, wallet, agent), wrapper


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

Read = Callable[[HyperliquidClient], Awaitable[Any]]
READS: list[tuple[str, str, Any, Read]] = [
    ("meta without szDecimals", "meta", {"universe": [{"name": "BTC"}]}, lambda c: c.rules("BTC")),
    (
        "meta with szDecimals out of range",
        "meta",
        {"universe": [{"name": "BTC", "szDecimals": 9}]},
        lambda c: c.rules("BTC"),
    ),
    (
        "positions not a list",
        "clearinghouseState",
        {"assetPositions": "x", "marginSummary": {}, "withdrawable": "1"},
        lambda c: c.account(),
    ),
    (
        "account without its margin summary",
        "clearinghouseState",
        {"assetPositions": [], "withdrawable": "1"},
        lambda c: c.account(),
    ),
    (
        "an open order without a side or size",
        "frontendOpenOrders",
        [{"coin": "BTC", "oid": 7}],
        lambda c: c.open_orders(),
    ),
    ("open orders not a list", "frontendOpenOrders", "x", lambda c: c.open_orders()),
    (
        "a fill without size or price",
        "userFillsByTime",
        [{"tid": 1, "oid": 7, "coin": "BTC", "side": "B", "time": 1}],
        lambda c: c.fills(0),
    ),
    (
        "an order status without the order's id",
        "orderStatus",
        {"status": "order", "order": {"order": {"coin": "BTC"}, "status": "filled"}},
        lambda c: c.lookup("ho-1-1-entry"),
    ),
    ("mids not a mapping", "allMids", ["x"], lambda c: c.mids()),
    (
        "a candle without prices",
        "candleSnapshot",
        [{"t": 1}],
        lambda c: c.candles("BTC", "1h", 5, 10**13),
    ),
    ("asset contexts not a pair", "metaAndAssetCtxs", [1, 2], lambda c: c.funding("BTC")),
    ("a role not an object", "userRole", ["x"], lambda c: c.verify()),
]


@pytest.mark.parametrize(("op", "reply", "read"), [r[1:] for r in READS], ids=[r[0] for r in READS])
async def test_a_malformed_read_is_a_retryable_bad_response(
    garbled: tuple[HlSetup, Garbled], op: str, reply: Any, read: Read
) -> None:
    hl, wrapper = garbled
    client = hl.client()
    wrapper.answer(f"info:{op}", reply)
    with pytest.raises(ExchangeError) as info:
        await read(client)
    assert info.value.code == ErrorCode.BAD_RESPONSE and info.value.retryable, info.value
    assert wrapper.garbled == [f"info:{op}"]
    await client.close()


async def test_a_malformed_agent_list_is_a_retryable_bad_response(
    garbled: tuple[HlSetup, Garbled],
) -> None:
    hl, wrapper = garbled
    client = hl.client()
    wrapper.answer("info:userRole", {"role": "missing"})  # so the agent list is read
    wrapper.answer("info:extraAgents", ["x"])
    with pytest.raises(ExchangeError) as info:
        await client.verify()
    assert info.value.code == ErrorCode.BAD_RESPONSE and info.value.retryable
    await client.close()


FILLED_WITHOUT_SIZE = {"status": "ok", "response": {"data": {"statuses": [{"filled": {"oid": 1}}]}}}
NEITHER = {"status": "ok", "response": {"type": "order", "data": {"statuses": [{}]}}}


@pytest.mark.parametrize("reply", [FILLED_WITHOUT_SIZE, NEITHER], ids=["no size", "no result"])
async def test_an_unreadable_order_answer_is_unknown_then_found(
    garbled: tuple[HlSetup, Garbled], reply: Any
) -> None:
    """The order reached the venue: never reported filled without a size, nor rejected."""
    hl, wrapper = garbled
    client = hl.client()
    wrapper.answer("exchange:order", reply)
    with pytest.raises(OutcomeUnknown) as info:
        await client.place(ENTRY, D(65000))
    assert info.value.client_order_id == ENTRY.client_order_id
    found = await client.lookup(ENTRY.client_order_id)
    assert found is not None and found.status is OrderStatus.FILLED
    assert found.filled_size == D("0.01538")
    await client.close()
