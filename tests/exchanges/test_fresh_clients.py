"""A live venue client is built per activity call (adapters/exchanges/live.py), so its first call
may be any call: a cancel by a client that never placed or read anything must work."""

from __future__ import annotations

from decimal import Decimal as D

from domain.ids import protective_client_order_id
from domain.orders import OrderIntent, OrderStatus
from tests.exchanges.conftest import BnSetup, HlSetup

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
    take_profit_pct=D(10),
    stop_loss_pct=D(5),
)
SL_ID = protective_client_order_id(ENTRY.client_order_id, "sl")


async def test_hyperliquid_cancel_is_a_fresh_clients_first_call(hl: HlSetup) -> None:
    """Signed actions need the perp meta (the SDK signs by asset id): it is read first."""
    placer = hl.client()
    assert (await placer.place(ENTRY, D(65000))).status is OrderStatus.FILLED
    await placer.close()
    fresh = hl.client()
    assert await fresh.cancel(SL_ID, "BTC") is True
    state = await fresh.lookup(SL_ID)
    assert state is not None and state.status is OrderStatus.CANCELLED
    await fresh.close()


async def test_binance_cancel_is_a_fresh_clients_first_call(bn: BnSetup) -> None:
    placer = bn.client(symbols=["BTC"])
    assert (await placer.place(ENTRY, D(65000))).status is OrderStatus.FILLED
    await placer.close()
    fresh = bn.client(symbols=["BTC"])
    assert await fresh.cancel(SL_ID, "BTC") is True
    state = await fresh.lookup(SL_ID, "BTC")
    assert state is not None and state.status is OrderStatus.CANCELLED
    await fresh.close()
