"""No webhook secret or bot token ever enters Temporal: the notifier's workflows and activities
pass ids only, and the activity opens the secret itself. Every workflow history of the namespace
is searched after deliveries to both kinds of channel (passes and a test message)."""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
from typing import Any

from tests.emulators.telegram import TelegramEmulator
from tests.notifications.conftest import BOT_TOKEN, CHAT_ID, fill, record, settled, webhook
from tests.notifications.receiver import WebhookReceiver
from tests.support.stack import Stack


def _readable(node: Any, out: list[str]) -> None:
    """Every string of a history's JSON, payloads (base64 `data`) decoded."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "data" and isinstance(value, str):
                with contextlib.suppress(binascii.Error, ValueError):
                    out.append(base64.b64decode(value).decode("utf-8", "replace"))
            _readable(value, out)
    elif isinstance(node, list):
        for item in node:
            _readable(item, out)
    elif isinstance(node, str):
        out.append(node)


async def test_no_secret_in_any_workflow_history(
    st: Stack, receiver: WebhookReceiver, telegram: TelegramEmulator
) -> None:
    hook = await webhook(st.api, receiver.url)
    receiver.secret = hook["secret"]
    r = await st.api.post(
        "/api/notifications/channels",
        json={"name": "t", "kind": "telegram", "bot_token": BOT_TOKEN, "chat_id": CHAT_ID,
              "base_url": telegram.base_url, "events": ["fill"]},
    )  # fmt: skip
    tg = r.json()
    record(st, fill((await st.create_trader())["account_id"]))
    assert (await settled(st.api, hook["id"]))[0]["status"] == "delivered"
    assert (await settled(st.api, tg["id"]))[0]["status"] == "delivered"
    test = await st.api.post(f"/api/notifications/channels/{tg['id']}/test")
    assert test.json()["status"] == "delivered"

    notifier_histories = 0
    async for wf in st.client.list_workflows():
        history = await st.client.get_workflow_handle(wf.id, run_id=wf.run_id).fetch_history()
        strings: list[str] = []
        _readable(json.loads(history.to_json()), strings)
        text = "\n".join(strings)
        assert hook["secret"] not in text and BOT_TOKEN not in text, wf.id
        notifier_histories += "dlv_" in text  # a delivery id: the payloads were read
    assert notifier_histories >= 2
