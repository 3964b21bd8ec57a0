"""A crash never doubles a message: the collect step run again over the same events (its cursor
set back, as after a crash between sending and recording) makes no second delivery, and a
delivery's activity run again after it was sent (a worker killed before its result was recorded)
sends nothing."""

from __future__ import annotations

import asyncio

from sqlalchemy import create_engine, select, update
from sqlalchemy.orm import Session

from db.models import NotificationCursor
from domain.notifications import BatchResult, DeliverBatchInput, DeliveryPolicy
from tests.notifications.conftest import deliveries, fill, record, settled, webhook
from tests.notifications.receiver import WebhookReceiver
from tests.support.stack import Stack
from tests.support.waiting import eventually


def _cursor(st: Stack, set_to: int | None = None) -> int:
    engine = create_engine(st.settings.database_url or "")
    with Session(engine) as s, s.begin():
        if set_to is not None:
            s.execute(update(NotificationCursor).values(last_event_id=set_to, gaps={}))
        value = int(s.scalar(select(NotificationCursor.last_event_id)) or 0)
    engine.dispose()
    return value


async def test_collecting_the_same_events_again_makes_no_second_delivery(
    st_any: Stack, receiver: WebhookReceiver
) -> None:
    st = st_any
    ch = await webhook(st.api, receiver.url)
    receiver.secret = ch["secret"]
    record(st, fill((await st.create_trader())["account_id"]))
    [d] = await settled(st.api, ch["id"])
    read_up_to = _cursor(st)
    assert d["event_id"] <= read_up_to

    _cursor(st, set_to=0)  # the next passes read every event again

    async def read_again() -> bool:
        return _cursor(st) >= read_up_to

    await eventually(read_again)
    await asyncio.sleep(2)  # two more passes (one a second): anything made would be sent
    assert [x["id"] for x in await deliveries(st.api, ch["id"])] == [d["id"]]
    assert len(receiver.requests) == 1 and receiver.repeats == 0


async def test_delivering_a_sent_delivery_again_sends_nothing(
    st: Stack, receiver: WebhookReceiver
) -> None:
    ch = await webhook(st.api, receiver.url)
    receiver.secret = ch["secret"]
    record(st, fill((await st.create_trader())["account_id"]))
    [d] = await settled(st.api, ch["id"])

    again = await st.client.execute_workflow(
        "DeliverNowWorkflow",
        DeliverBatchInput(delivery_ids=[d["id"]], policy=DeliveryPolicy()),
        id="deliver-again",
        task_queue=st.settings.notify_task_queue,
        result_type=BatchResult,
    )
    assert again.results[0].status == "delivered"
    assert len(receiver.requests) == 1
    [after] = await deliveries(st.api, ch["id"])
    assert after["attempts"] == 1
