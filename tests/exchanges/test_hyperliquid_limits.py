"""Limit orders on Hyperliquid: the official SDK against the emulator over real HTTP. The venue
takes `{"limit": {"tif": "Gtc" | "Ioc" | "Alo"}}` with our cloid; the outcomes are the shared
contract's (domain/orders.py): resting -> submitted, IOC with nothing -> cancelled, a post-only
that would cross -> rejected POST_ONLY_WOULD_CROSS."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from adapters.exchanges.client import OutcomeUnknown
from adapters.exchanges.hyperliquid import HyperliquidClient
from domain.exchange_rules import hyperliquid_cloid
from domain.ids import protective_client_order_id
from domain.orders import OrderStatus, TimeInForce
from tests.exchanges.conftest import HlSetup
from tests.exchanges.limit_orders import limit

MID = D(65000)  # the emulator's BTC mid


def wires(hl: HlSetup, cid: str = "ho-1-1-entry") -> list[dict]:
    cloid = hyperliquid_cloid(cid)
    return [w for w in hl.emulator.order_actions() if w.get("c") == cloid]


async def test_a_gtc_below_the_mid_rests_and_is_found_by_lookup(
    hl: HlSetup, hl_client: HyperliquidClient
) -> None:
    """Sized at the limit price (1000 USD at 64000, not at the mid), sent once as a Gtc limit;
    resting is `submitted` with the venue's order id, and a lookup finds it resting."""
    placed = await hl_client.place(limit("64000", tp="10", sl="5"), MID)
    assert placed.status is OrderStatus.SUBMITTED and placed.exchange_order_id
    assert placed.filled_size is None
    (wire,) = wires(hl)
    assert wire["t"] == {"limit": {"tif": "Gtc"}}
    assert (wire["p"], wire["s"], wire["b"], wire["r"]) == ("64000", "0.01562", True, False)
    found = await hl_client.lookup("ho-1-1-entry")
    assert found is not None and found.status is OrderStatus.SUBMITTED
    assert found.exchange_order_id == placed.exchange_order_id
    # nothing filled: no TP/SL yet
    assert wires(hl, protective_client_order_id("ho-1-1-entry", "sl")) == []


async def test_a_resting_order_fills_at_its_price_as_maker_when_the_mid_crosses_it(
    hl: HlSetup, hl_client: HyperliquidClient
) -> None:
    await hl_client.place(limit("64000"), MID)
    hl.emulator.set_mid("BTC", "63900")
    found = await hl_client.lookup("ho-1-1-entry")
    assert found is not None and found.status is OrderStatus.FILLED
    assert (found.filled_size, found.avg_price) == (D("0.01562"), D(64000))
    assert found.fee == D("0.149952")  # 0.015 % maker fee, not the 0.045 % taker fee


async def test_an_ioc_that_does_not_cross_is_cancelled(
    hl: HlSetup, hl_client: HyperliquidClient
) -> None:
    out = await hl_client.place(limit("64000", tif=TimeInForce.IOC), MID)
    assert out.status is OrderStatus.CANCELLED
    assert (out.reject_reason or "").startswith("NO_LIQUIDITY")
    assert wires(hl)[0]["t"] == {"limit": {"tif": "Ioc"}}
    assert (await hl_client.account()).positions == []


async def test_an_ioc_that_crosses_fills_at_once(hl: HlSetup, hl_client: HyperliquidClient) -> None:
    out = await hl_client.place(limit("66000", tif=TimeInForce.IOC), MID)
    assert out.status is OrderStatus.FILLED
    assert (out.filled_size, out.avg_price) == (D("0.01515"), MID)  # 1000 USD at 66000
    assert out.fee is not None and out.fee > 0


async def test_an_ioc_partly_filled_is_filled_with_its_size(
    hl: HlSetup, hl_client: HyperliquidClient
) -> None:
    hl.emulator.asset("BTC").depth = D("0.01")
    out = await hl_client.place(limit("66000", tif=TimeInForce.IOC), MID)
    assert out.status is OrderStatus.FILLED and out.filled_size == D("0.01")
    assert (wires(hl)[0]["p"], wires(hl)[0]["s"]) == ("66000", "0.01515")  # ours, not a market's
    assert await hl_client.open_orders() == []  # the rest was cancelled by the venue


async def test_a_gtc_partly_filled_at_once_rests_with_its_filled_size(
    hl: HlSetup, hl_client: HyperliquidClient
) -> None:
    hl.emulator.asset("BTC").depth = D("0.01")
    out = await hl_client.place(limit("66000"), MID)
    assert out.status is OrderStatus.SUBMITTED
    assert (out.filled_size, out.avg_price) == (D("0.01"), MID)
    assert out.fee is not None and out.fee > 0


async def test_a_post_only_that_would_cross_is_rejected(
    hl: HlSetup, hl_client: HyperliquidClient
) -> None:
    out = await hl_client.place(limit("66000", tif=TimeInForce.POST_ONLY), MID)
    assert out.status is OrderStatus.REJECTED
    assert (out.reject_reason or "").startswith("POST_ONLY_WOULD_CROSS: Post only order")
    assert wires(hl)[0]["t"] == {"limit": {"tif": "Alo"}}
    assert await hl_client.open_orders() == []


async def test_a_post_only_that_does_not_cross_rests(
    hl: HlSetup, hl_client: HyperliquidClient
) -> None:
    out = await hl_client.place(limit("64000", tif=TimeInForce.POST_ONLY), MID)
    assert out.status is OrderStatus.SUBMITTED


@pytest.mark.parametrize(
    ("side", "asked", "sent"),
    [("buy", "64000.7", "64000"), ("sell", "66000.2", "66001")],
)
async def test_the_price_is_rounded_toward_the_passive_side(
    hl: HlSetup, hl_client: HyperliquidClient, side: str, asked: str, sent: str
) -> None:
    """Five significant figures on BTC: a buy rounds down, a sell up, never to a worse price."""
    out = await hl_client.place(limit(asked, side=side), MID)
    assert out.status is OrderStatus.SUBMITTED
    assert wires(hl)[0]["p"] == sent


async def test_a_price_with_no_valid_venue_price_below_it_is_refused_unsent(
    hl: HlSetup, hl_client: HyperliquidClient
) -> None:
    out = await hl_client.place(limit("0.04", size_base="0.001"), MID)  # BTC prices: 1 decimal
    assert out.status is OrderStatus.REJECTED
    assert (out.reject_reason or "").startswith("PRICE_INVALID")
    assert hl.emulator.received_actions == []  # neither leverage nor the order


async def test_a_base_size_is_sent_as_it_is(hl: HlSetup, hl_client: HyperliquidClient) -> None:
    out = await hl_client.place(limit("64000", size_base="0.02"), MID)
    assert out.status is OrderStatus.SUBMITTED
    assert wires(hl)[0]["s"] == "0.02"


async def test_a_resting_limit_order_is_cancelled(
    hl: HlSetup, hl_client: HyperliquidClient
) -> None:
    await hl_client.place(limit("64000"), MID)
    assert await hl_client.cancel("ho-1-1-entry") is True
    found = await hl_client.lookup("ho-1-1-entry")
    assert found is not None and found.status is OrderStatus.CANCELLED
    assert await hl_client.open_orders() == []
    assert await hl_client.cancel("ho-1-1-entry") is False  # nothing rests any more


async def test_a_lost_answer_is_settled_by_lookup_as_resting_never_resent(
    hl: HlSetup, hl_client: HyperliquidClient
) -> None:
    hl.emulator.faults.inject("drop_after", "order")
    with pytest.raises(OutcomeUnknown):
        await hl_client.place(limit("64000"), MID)
    found = await hl_client.lookup("ho-1-1-entry")
    assert found is not None and found.status is OrderStatus.SUBMITTED
    again = await hl_client.place(limit("64000"), MID)  # the retry finds it
    assert again.exchange_order_id == found.exchange_order_id
    assert len(wires(hl)) == 1
