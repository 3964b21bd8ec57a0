"""POST .../test sends a sample through the notifier now and answers with the delivery's result:
delivered to a working receiver; failed, with the reason, to one that refuses it."""

from __future__ import annotations

from tests.notifications.conftest import deliveries, webhook
from tests.notifications.receiver import WebhookReceiver
from tests.support.stack import Stack


async def test_the_test_message_is_delivered_and_answered(
    st: Stack, receiver: WebhookReceiver
) -> None:
    ch = await webhook(st.api, receiver.url)
    receiver.secret = ch["secret"]
    r = await st.api.post(f"/api/notifications/channels/{ch['id']}/test")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "delivered" and r.json()["attempts"] == 1
    [req] = receiver.requests
    assert req.signature_ok and req.body["kind"] == "test"
    assert req.delivery_id == r.json()["delivery_id"]
    [d] = await deliveries(st.api, ch["id"])
    assert d["id"] == r.json()["delivery_id"] and d["status"] == "delivered"


async def test_a_refused_test_answers_the_reason(st: Stack, receiver: WebhookReceiver) -> None:
    ch = await webhook(st.api, receiver.url)
    receiver.secret = "whsec_some-other-secret"  # the receiver refuses the signature: 401
    r = await st.api.post(f"/api/notifications/channels/{ch['id']}/test")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "failed" and "HTTP 401" in body["error"]
    assert body["channel_status"] == "failing"
