"""The channels API: a user's channels are theirs alone (another user's is a 404, like a missing
one), bad input is a 422 naming the field, and secrets are write-only: the webhook secret is in
the creation's answer only, a bot token in none."""

from __future__ import annotations

import json

from tests.notifications.conftest import BOT_TOKEN, CHAT_ID, webhook
from tests.support.stack import Stack

CHANNELS = "/api/notifications/channels"


async def test_another_users_channel_is_a_404(st: Stack) -> None:
    mine = await webhook(st.api, "https://example.com/hook")
    async with st.user_client("other@example.com") as other:
        for method, path in (
            ("GET", f"{CHANNELS}/{mine['id']}"),
            ("PATCH", f"{CHANNELS}/{mine['id']}"),
            ("DELETE", f"{CHANNELS}/{mine['id']}"),
            ("GET", f"{CHANNELS}/{mine['id']}/deliveries"),
            ("POST", f"{CHANNELS}/{mine['id']}/test"),
            ("POST", f"{CHANNELS}/{mine['id']}/rotate-secret"),
        ):
            r = await other.request(method, path, json={"name": "x"} if method == "PATCH" else None)
            assert r.status_code == 404 and r.json()["code"] == "CHANNEL_NOT_FOUND", (path, r.text)
        assert (await other.get(CHANNELS)).json() == []
    assert (await st.api.get(f"{CHANNELS}/{mine['id']}")).status_code == 200


async def test_bad_input_is_a_422_naming_the_field(st: Stack) -> None:
    cases = [
        ({"url": "ftp://example.com/x"}, "url"),
        ({"url": "example.com/x"}, "url"),
        ({"events": ["fills"]}, "events"),
        ({"events": []}, "events"),
        ({"kind": "email"}, "kind"),
        ({"url": None}, "url"),
    ]
    for change, field in cases:
        body = {"name": "h", "kind": "webhook", "url": "https://example.com/h", "events": ["fill"]}
        r = await st.api.post(CHANNELS, json={**body, **change})
        assert r.status_code == 422, (change, r.text)
        assert r.json()["code"] == "VALIDATION_ERROR" and field in r.json()["error"], r.text
    tg = {"name": "t", "kind": "telegram", "chat_id": CHAT_ID, "events": ["fill"]}
    r = await st.api.post(CHANNELS, json={**tg, "bot_token": BOT_TOKEN, "base_url": "file:///x"})
    assert r.status_code == 422 and "base_url" in r.json()["error"]
    r = await st.api.post(CHANNELS, json=tg)
    assert r.status_code == 422 and "bot_token" in r.json()["error"]


async def test_secrets_are_shown_once_then_never(st: Stack) -> None:
    hook = await webhook(st.api, "https://example.com/hook")
    secret = hook["secret"]
    r = await st.api.post(
        CHANNELS,
        json={"name": "t", "kind": "telegram", "bot_token": BOT_TOKEN, "chat_id": CHAT_ID,
              "events": ["fill"]},
    )  # fmt: skip
    assert r.status_code == 201 and BOT_TOKEN not in r.text and r.json()["secret"] is None
    tg = r.json()
    answers = [
        await st.api.get(CHANNELS),
        await st.api.get(f"{CHANNELS}/{hook['id']}"),
        await st.api.get(f"{CHANNELS}/{tg['id']}"),
        await st.api.patch(f"{CHANNELS}/{hook['id']}", json={"events": ["fill", "trader_error"]}),
        await st.api.patch(f"{CHANNELS}/{tg['id']}", json={"chat_id": "42"}),
    ]
    for a in answers:
        assert a.status_code == 200, a.text
        assert secret not in a.text and BOT_TOKEN not in a.text and '"secret"' not in a.text
    assert json.loads(answers[1].text)["secret_hint"] == "…" + secret[-4:]
    rotated = (await st.api.post(f"{CHANNELS}/{hook['id']}/rotate-secret")).json()
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != secret
    assert rotated["secret"] not in (await st.api.get(CHANNELS)).text


async def test_a_channel_is_updated_and_deleted(st: Stack) -> None:
    hook = await webhook(st.api, "https://example.com/hook")
    r = await st.api.patch(f"{CHANNELS}/{hook['id']}", json={"name": "renamed", "enabled": False})
    assert r.status_code == 200 and r.json()["name"] == "renamed" and not r.json()["enabled"]
    assert (await st.api.delete(f"{CHANNELS}/{hook['id']}")).status_code == 204
    assert (await st.api.get(f"{CHANNELS}/{hook['id']}")).status_code == 404
