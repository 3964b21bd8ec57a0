"""A receiver that hangs holds up only its own deliveries: while its first delivery is still
being retried, another channel gets the next event's message (each delivery has a workflow of
its own; a pass of the notifier does not wait for them)."""

from __future__ import annotations

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
