"""Limit orders on Binance USD-M futures: python-binance against the emulator over real HTTP.
The venue takes `type=LIMIT` with `timeInForce` GTC / IOC / GTX and our newClientOrderId; the
outcomes are the shared contract's (domain/orders.py): resting -> submitted, IOC with nothing
-> cancelled, a post-only (GTX) that would cross -> rejected POST_ONLY_WOULD_CROSS (-5022)."""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

import pytest

from adapters.exchanges.binance import BinanceFuturesClient
from adapters.exchanges.client import OutcomeUnknown
from domain.orders import OrderStatus, TimeInForce
from tests.exchanges.conftest import BnSetup
from tests.exchanges.limit_orders import limit

MARK = D(65000)  # the emulator's BTCUSDT mark


def venue_orders(bn: BnSetup, cid: str = "ho-1-1-entry") -> list[dict[str, Any]]:
    return [o for o in bn.emulator.orders_for(bn.api_key) if o["clientOrderId"] == cid]


async def test_a_gtc_below_the_mark_rests_and_is_found_by_lookup(
    bn: BnSetup, bn_client: BinanceFuturesClient
) -> None:
    """Sized at the limit price, sent once as LIMIT GTC; resting is `submitted` with the
    venue's order id, and a lookup finds it resting."""
    placed = await bn_client.place(limit("64000", size_usd="2000", tp="10", sl="5"), MARK)
    assert placed.status is OrderStatus.SUBMITTED and placed.exchange_order_id
    assert placed.filled_size is None
    (order,) = venue_orders(bn)
    assert (order["type"], order["timeInForce"], order["price"]) == ("LIMIT", "GTC", "64000")
    assert order["origQty"] == "0.031"  # 2000 / 64000 = 0.03125 (at the mark: 0.030)
    found = await bn_client.lookup("ho-1-1-entry")
    assert found is not None and found.status is OrderStatus.SUBMITTED
    assert found.exchange_order_id == placed.exchange_order_id
    assert bn.emulator.algos_for(bn.api_key) == []  # nothing filled: no TP/SL yet


async def test_a_resting_order_fills_at_its_price_as_maker_when_the_mark_crosses_it(
    bn: BnSetup, bn_client: BinanceFuturesClient
) -> None:
    await bn_client.place(limit("64000"), MARK)
    bn.emulator.set_mark("BTCUSDT", "63900")
    found = await bn_client.lookup("ho-1-1-entry")
    assert found is not None and found.status is OrderStatus.FILLED
    assert (found.filled_size, found.avg_price) == (D("0.015"), D(64000))
    assert found.fee == D("0.192")  # 0.02 % maker fee, not the 0.05 % taker fee


async def test_an_ioc_that_does_not_cross_is_cancelled(
    bn: BnSetup, bn_client: BinanceFuturesClient
) -> None:
    out = await bn_client.place(limit("64000", tif=TimeInForce.IOC), MARK)
    assert out.status is OrderStatus.CANCELLED and out.reject_reason == "EXPIRED"
    assert venue_orders(bn)[0]["timeInForce"] == "IOC"
    assert (await bn_client.account()).positions == []


async def test_an_ioc_that_crosses_fills_at_once(
    bn: BnSetup, bn_client: BinanceFuturesClient
) -> None:
    out = await bn_client.place(limit("66000", size_usd="3000", tif=TimeInForce.IOC), MARK)
    assert out.status is OrderStatus.FILLED
    assert (out.filled_size, out.avg_price) == (D("0.045"), MARK)  # at the mark: 0.046
    assert out.fee is not None and out.fee > 0
    (order,) = venue_orders(bn)
    assert (order["type"], order["timeInForce"], order["price"]) == ("LIMIT", "IOC", "66000")


async def test_an_ioc_partly_filled_is_filled_with_its_size(
    bn: BnSetup, bn_client: BinanceFuturesClient
) -> None:
    bn.emulator.symbols["BTCUSDT"].depth = D("0.01")
    out = await bn_client.place(limit("66000", tif=TimeInForce.IOC), MARK)
    assert out.status is OrderStatus.FILLED and out.filled_size == D("0.01")
    (order,) = venue_orders(bn)
    assert (order["type"], order["status"]) == ("LIMIT", "EXPIRED")  # the rest expired
    assert await bn_client.open_orders() == []


async def test_a_gtc_partly_filled_at_once_rests_with_its_filled_size(
    bn: BnSetup, bn_client: BinanceFuturesClient
) -> None:
    bn.emulator.symbols["BTCUSDT"].depth = D("0.01")
    out = await bn_client.place(limit("66000"), MARK)
    assert out.status is OrderStatus.SUBMITTED
    assert (out.filled_size, out.avg_price) == (D("0.01"), MARK)
    assert out.fee is not None and out.fee > 0


async def test_a_post_only_that_would_cross_is_rejected(
    bn: BnSetup, bn_client: BinanceFuturesClient
) -> None:
    out = await bn_client.place(limit("66000", tif=TimeInForce.POST_ONLY), MARK)
    assert out.status is OrderStatus.REJECTED
    assert (out.reject_reason or "").startswith("POST_ONLY_WOULD_CROSS:")
    assert "-5022" in (out.reject_reason or "")
    assert venue_orders(bn) == []  # the venue does not record it


async def test_a_post_only_the_venue_expires_instead_of_refusing_is_rejected_too(
    bn: BnSetup, bn_client: BinanceFuturesClient
) -> None:
    """An answer that shows the GTX EXPIRED with nothing filled says what -5022 says."""
    bn.emulator.gtx_expires = True
    out = await bn_client.place(limit("66000", tif=TimeInForce.POST_ONLY), MARK)
    assert out.status is OrderStatus.REJECTED
    assert (out.reject_reason or "").startswith("POST_ONLY_WOULD_CROSS:")
    assert venue_orders(bn)[0]["status"] == "EXPIRED"


async def test_a_post_only_that_does_not_cross_rests_as_gtx(
    bn: BnSetup, bn_client: BinanceFuturesClient
) -> None:
    out = await bn_client.place(limit("64000", tif=TimeInForce.POST_ONLY), MARK)
    assert out.status is OrderStatus.SUBMITTED
    assert venue_orders(bn)[0]["timeInForce"] == "GTX"


@pytest.mark.parametrize(
    ("side", "asked", "sent"),
    [("buy", "64000.07", "64000"), ("sell", "66000.01", "66000.1")],
)
async def test_the_price_is_rounded_toward_the_passive_side(
    bn: BnSetup, bn_client: BinanceFuturesClient, side: str, asked: str, sent: str
) -> None:
    """BTCUSDT's tick is 0.1: a buy rounds down, a sell up, never to a worse price."""
    out = await bn_client.place(limit(asked, side=side), MARK)
    assert out.status is OrderStatus.SUBMITTED
    assert venue_orders(bn)[0]["price"] == sent


@pytest.mark.parametrize(("side", "asked"), [("sell", "100"), ("buy", "5000000")])
async def test_a_price_outside_the_price_filter_is_refused_unsent(
    bn: BnSetup, bn_client: BinanceFuturesClient, side: str, asked: str
) -> None:
    """Below minPrice (556.8) or above maxPrice: no valid price toward the passive side."""
    out = await bn_client.place(limit(asked, side=side, size_base="0.01"), MARK)
    assert out.status is OrderStatus.REJECTED
    assert (out.reject_reason or "").startswith("PRICE_INVALID")
    assert [r for r in bn.emulator.requests if r.startswith("POST")] == []  # nor leverage


async def test_a_base_size_is_sent_as_it_is(bn: BnSetup, bn_client: BinanceFuturesClient) -> None:
    out = await bn_client.place(limit("64000", size_base="0.02"), MARK)
    assert out.status is OrderStatus.SUBMITTED
    assert venue_orders(bn)[0]["origQty"] == "0.02"


async def test_a_resting_limit_order_is_cancelled(
    bn: BnSetup, bn_client: BinanceFuturesClient
) -> None:
    await bn_client.place(limit("64000"), MARK)
    assert await bn_client.cancel("ho-1-1-entry") is True
    found = await bn_client.lookup("ho-1-1-entry")
    assert found is not None and found.status is OrderStatus.CANCELLED
    assert await bn_client.open_orders() == []
    assert await bn_client.cancel("ho-1-1-entry") is False  # nothing rests any more


async def test_a_lost_answer_is_settled_by_lookup_as_resting_never_resent(
    bn: BnSetup, bn_client: BinanceFuturesClient
) -> None:
    bn.emulator.faults.inject("drop_after", "POST /fapi/v1/order")
    with pytest.raises(OutcomeUnknown):
        await bn_client.place(limit("64000"), MARK)
    found = await bn_client.lookup("ho-1-1-entry")
    assert found is not None and found.status is OrderStatus.SUBMITTED
    again = await bn_client.place(limit("64000"), MARK)  # the retry finds it
    assert again.exchange_order_id == found.exchange_order_id
    assert len(venue_orders(bn)) == 1
