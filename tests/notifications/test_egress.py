"""A channel's URL is user input that makes the worker connect: loopback and private hosts are
refused unless the operator allows them, cloud metadata always; when saved (422 naming the
field) and when connecting (the delivery is refused, nothing reaches the host)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from temporalio.client import Client

from adapters.notify import DeliveryRefused, send_webhook
from tests.notifications.receiver import WebhookReceiver
from tests.support.stack import Stack, full_stack, make_settings
from vault import Secret


@pytest.fixture
async def strict(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> AsyncIterator[Stack]:
    async with full_stack(None, make_settings(temporal_address, sqlite_url), worker=False) as st:
        yield st


async def test_a_private_or_metadata_url_is_refused_when_saved(strict: Stack) -> None:
    for field, url in (
        ("url", "http://127.0.0.1:9000/hook"),
        ("url", "http://10.1.2.3/hook"),
        ("url", "http://169.254.169.254/latest/meta-data/"),
    ):
        r = await strict.api.post(
            "/api/notifications/channels",
            json={"name": "h", "kind": "webhook", "url": url, "events": ["fill"]},
        )
        assert r.status_code == 422, r.text
        assert r.json()["code"] == "NOTIFY_HOST_NOT_ALLOWED" and r.json()["error"].startswith(field)
    r = await strict.api.post(
        "/api/notifications/channels",
        json={"name": "t", "kind": "telegram", "bot_token": "1:abc", "chat_id": "42",
              "base_url": "http://localhost:8081", "events": ["fill"]},
    )  # fmt: skip
    assert r.status_code == 422 and r.json()["error"].startswith("base_url"), r.text


async def test_a_private_host_is_refused_when_connecting(receiver: WebhookReceiver) -> None:
    with pytest.raises(DeliveryRefused, match="nothing was sent"):
        await send_webhook(receiver.url, Secret("whsec_x"), "dlv_1", b"{}", timeout_s=2)
    assert receiver.requests == []
