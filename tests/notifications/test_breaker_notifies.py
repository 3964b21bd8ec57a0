"""A circuit breaker tripping on a crafted price path notifies (issue #23: "crossing one pauses
the trader ... and notifies"): the trader's own trip, not an event the test records, reaches a
webhook channel that asked for `circuit_breaker`, signed, with the breaker's reason."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal as D

import pytest
from temporalio.client import Client

from tests.api.test_circuit_breakers import _holding_btc
from tests.notifications.conftest import NOTIFY, settled, webhook
from tests.notifications.receiver import WebhookReceiver
from tests.support.price_path import SteeredFeed, steered_stack
from tests.support.stack import Stack, make_settings
from tests.support.waiting import eventually


@pytest.fixture
async def stack(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> AsyncIterator[tuple[Stack, SteeredFeed]]:
    settings = make_settings(temporal_address, sqlite_url, **NOTIFY)
    async with steered_stack(settings) as (st, feed):
        feed.prices.update(BTC=D(60000), ETH=D(3000))
        yield st, feed


async def test_a_tripped_breaker_reaches_the_owners_channel(
    stack: tuple[Stack, SteeredFeed], receiver: WebhookReceiver
) -> None:
    st, feed = stack
    channel = await webhook(st.api, receiver.url, ["circuit_breaker"])
    receiver.secret = channel["secret"]
    trader = await _holding_btc(st, daily_loss_limit_pct="3")
    feed.prices["BTC"] = D(54000)  # about -4 % of the day's 1000 USD
    await trader.trigger(trader.eth)
    acct = await trader.paused_by("CIRCUIT_BREAKER_DAILY_LOSS: ")

    [delivery] = await settled(st.api, channel["id"])
    assert (delivery["kind"], delivery["status"]) == ("circuit_breaker", "delivered"), delivery

    async def sent() -> bool:
        return len(receiver.requests) == 1

    await eventually(sent)
    body = receiver.requests[0].body
    assert (body["kind"], body["account_id"]) == ("circuit_breaker", trader.id)
    assert body["data"]["reason"] == acct["status_reason"]
