"""A receiver that hangs holds up only its own deliveries: while its first delivery is still
being retried, another channel gets the next event's message (each delivery has a workflow of
its own; a pass of the notifier does not wait for them), and deliveries being retried do not
fill the list of those a pass hands out."""

from __future__ import annotations

import pytest

from db import notifications
from tests.notifications.conftest import deliveries, fill, record, webhook
from tests.notifications.receiver import WebhookReceiver
from tests.support.stack import Stack
from tests.support.waiting import eventually


async def test_a_hanging_receiver_does_not_hold_up_another_channel(
    st: Stack, receiver: WebhookReceiver
) -> None:
    stuck = WebhookReceiver()
    stuck.start()
    try:
        stuck.script(*[30.0] * 10)  # hangs past the 1 s request timeout, attempt after attempt
        slow = await webhook(st.api, stuck.url, name="stuck")
        ok = await webhook(st.api, receiver.url, name="ok")
        receiver.secret = ok["secret"]
        trader = (await st.create_trader())["account_id"]
        record(st, fill(trader))

        async def first_sent() -> bool:
            return len(receiver.accepted) == 1

        await eventually(first_sent)
        record(st, fill(trader))  # the next event, while the stuck delivery is retried

        async def second_sent() -> bool:
            return len(receiver.accepted) == 2

        await eventually(second_sent, timeout=4)
        first = (await deliveries(st.api, slow["id"]))[-1]  # newest first
        assert first["status"] == "pending"  # still being retried (5 attempts of 1 s each)
    finally:
        stuck.stop()


async def test_deliveries_being_retried_do_not_take_a_pass_s_places(
    st: Stack, receiver: WebhookReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(notifications, "PENDING_PER_PASS", 1)  # one delivery per pass
    stuck = WebhookReceiver()
    stuck.start()
    try:
        stuck.script(*[30.0] * 10)
        slow = await webhook(st.api, stuck.url, name="stuck")  # older: listed first
        ok = await webhook(st.api, receiver.url, name="ok")
        receiver.secret = ok["secret"]
        record(st, fill((await st.create_trader())["account_id"]))

        async def sent() -> bool:
            return len(receiver.accepted) == 1

        await eventually(sent, timeout=4)
        [first] = await deliveries(st.api, slow["id"])
        assert first["status"] == "pending"  # still being retried
    finally:
        stuck.stop()
