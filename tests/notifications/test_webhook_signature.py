"""A webhook delivery is signed with the channel's secret, shown once at creation: the receiver's
check (README "Notifications") passes with that secret and fails with any other."""

from __future__ import annotations

from db.base import utcnow
from tests.notifications.conftest import fill, record, settled, webhook
from tests.notifications.receiver import WebhookReceiver, verify
from tests.support.stack import Stack


async def test_the_signature_verifies_with_the_secret_and_not_with_another(
    st: Stack, receiver: WebhookReceiver
) -> None:
    ch = await webhook(st.api, receiver.url)
    assert ch["secret"].startswith("whsec_")
    receiver.secret = ch["secret"]
    trader = (await st.create_trader(name="alpha"))["account_id"]
    record(st, fill(trader, at=utcnow()))

    [d] = await settled(st.api, ch["id"])
    assert d["status"] == "delivered", d
    [req] = receiver.requests
    assert req.signature_ok and req.delivery_id == d["id"]
    assert req.body["delivery_id"] == d["id"] and req.body["kind"] == "fill"
    assert req.body["trader"] == "alpha" and req.body["account_id"] == trader
    assert not verify("whsec_not-the-secret", req.timestamp, req.raw, req.signature)
    assert not verify(ch["secret"], req.timestamp, req.raw + b" ", req.signature)
