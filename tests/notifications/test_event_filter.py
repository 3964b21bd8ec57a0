"""A channel gets only the kinds it asked for: a circuit-breaker channel hears of the breaker,
not of fills, plain pauses or errors; a fill channel hears of plain fills, not TP/SL closes."""

from __future__ import annotations

from db.base import utcnow
from domain.events import StatusUpdate
from domain.trader import TraderStatus
from tests.notifications.conftest import breaker, fill, record, settled, webhook
from tests.notifications.receiver import WebhookReceiver
from tests.support.stack import Stack
from tests.support.waiting import eventually


async def test_each_channel_gets_only_its_kinds(st: Stack, receiver: WebhookReceiver) -> None:
    fills = await webhook(st.api, receiver.url, ["fill"], name="fills")
    breakers = await webhook(st.api, receiver.url, ["circuit_breaker"], name="breakers")
    receiver.secret = fills["secret"]
    trader = (await st.create_trader())["account_id"]
    record(
        st,
        fill(trader),
        fill(trader, trigger="stop_loss"),  # a tp_sl_close, not a fill
        StatusUpdate(account_id=trader, time=utcnow(), status=TraderStatus.PAUSED, reason="user"),
        breaker(trader),
    )

    [f] = await settled(st.api, fills["id"])
    [b] = await settled(st.api, breakers["id"])
    assert (f["kind"], b["kind"]) == ("fill", "circuit_breaker")

    async def both_sent() -> bool:
        return len(receiver.requests) == 2

    await eventually(both_sent)
    kinds = sorted(r.body["kind"] for r in receiver.requests)
    assert kinds == ["circuit_breaker", "fill"]
