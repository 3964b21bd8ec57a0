"""Telegram channels send `sendMessage` to the Bot API (a local one here, with token checks);
a token the Bot API refuses (401 "Unauthorized") marks the channel failing with that reason and
is not retried."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from tests.emulators.telegram import TelegramEmulator
from tests.notifications.conftest import BOT_TOKEN, CHAT_ID, breaker, record, settled
from tests.support.stack import Stack


async def _telegram(st: Stack, tg: TelegramEmulator, token: str) -> dict[str, Any]:
    r = await st.api.post(
        "/api/notifications/channels",
        json={
            "name": "phone", "kind": "telegram", "bot_token": token, "chat_id": CHAT_ID,
            "base_url": tg.base_url, "events": ["circuit_breaker"],
        },
    )  # fmt: skip
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


async def test_a_message_reaches_the_chat(st: Stack, telegram: TelegramEmulator) -> None:
    ch = await _telegram(st, telegram, BOT_TOKEN)
    record(st, breaker((await st.create_trader(name="alpha"))["account_id"]))

    [d] = await settled(st.api, ch["id"])
    assert d["status"] == "delivered" and d["kind"] == "circuit_breaker", d
    [msg] = telegram.messages
    assert msg["chat_id"] == CHAT_ID
    assert "alpha" in msg["text"] and "CIRCUIT_BREAKER_DAILY_LOSS" in msg["text"]


async def test_a_bad_token_marks_the_channel_failing(st: Stack, telegram: TelegramEmulator) -> None:
    ch = await _telegram(st, telegram, "999:wrong-token")
    record(st, breaker((await st.create_trader())["account_id"]))

    [d] = await settled(st.api, ch["id"])
    assert d["status"] == "failed" and d["attempts"] == 1, d  # a 401 is not retried
    assert "401" in d["last_error"] and "Unauthorized" in d["last_error"]
    got = (await st.api.get(f"/api/notifications/channels/{ch['id']}")).json()
    assert got["status"] == "failing"
    assert "Unauthorized" in got["status_reason"] and "wrong-token" not in got["status_reason"]
    assert telegram.refused == ["Unauthorized"] and telegram.messages == []


async def test_the_bot_token_is_in_no_log_line(
    st: Stack, telegram: TelegramEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    ch = await _telegram(st, telegram, BOT_TOKEN)
    record(st, breaker((await st.create_trader())["account_id"]))
    assert (await settled(st.api, ch["id"]))[0]["status"] == "delivered"
    lines = [r.getMessage() for r in caplog.records]
    assert any("sendMessage" in line for line in lines)  # httpx logged the request
    assert not [line for line in lines if BOT_TOKEN in line]
