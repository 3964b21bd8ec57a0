"""Delivery is a Temporal activity with a retry policy: a receiver that answers 500 twice gets
the message on the third attempt, exactly once; one that hangs past the request timeout is tried
again (short timeouts here, from the settings)."""

from __future__ import annotations

from tests.notifications.conftest import fill, record, settled, webhook
from tests.notifications.receiver import WebhookReceiver
from tests.support.stack import Stack


async def test_two_500s_then_delivered_once_after_three_attempts(
    st: Stack, receiver: WebhookReceiver
) -> None:
    receiver.script(500, 500)
    ch = await webhook(st.api, receiver.url)
    receiver.secret = ch["secret"]
    record(st, fill((await st.create_trader())["account_id"]))

    [d] = await settled(st.api, ch["id"])
    assert d["status"] == "delivered" and d["attempts"] == 3, d
    assert [r.answered for r in receiver.requests] == [500, 500, 200]
    assert list(receiver.accepted) == [d["id"]] and receiver.repeats == 0
    assert d["last_error"] is None and d["delivered_at"] is not None


async def test_a_hang_is_retried(st: Stack, receiver: WebhookReceiver) -> None:
    receiver.script(5.0)  # longer than notify_http_timeout_seconds (1 s)
    ch = await webhook(st.api, receiver.url)
    receiver.secret = ch["secret"]
    record(st, fill((await st.create_trader())["account_id"]))

    [d] = await settled(st.api, ch["id"])
    assert d["status"] == "delivered" and d["attempts"] == 2, d
    assert [r.answered for r in receiver.requests] == ["hang", 200]
