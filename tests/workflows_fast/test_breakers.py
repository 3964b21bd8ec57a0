"""The trader's side of circuit breakers and the kill switch (the breakers are judged in the sync
activity, faked here): a trip reported by a sync pauses the trader with its reason, notes it and
closes the positions when set to; a trader with breakers syncs right after a decision that
traded; the kill switch's pause is noted once and its reason replaces an earlier pause's."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

from domain.breakers import BreakerKind, BreakerTrip
from domain.contracts import Activity, SyncAccountInput, SyncAccountResult, TraderConfig
from domain.trader import TraderStatus
from tests.workflows_fast.conftest import Harness
from tests.workflows_fast.fakes import PROGRAM_BINDING, holding_btc, long_btc

REASON = "CIRCUIT_BREAKER_DAILY_LOSS: equity 900 is 10% below the day's starting equity 1000"


def _trips_on_start(closes: bool) -> Callable[[SyncAccountInput], SyncAccountResult]:
    def answer(req: SyncAccountInput) -> SyncAccountResult:
        if req.reason != "start":
            return SyncAccountResult(open_positions=1)
        trip = BreakerTrip(
            kind=BreakerKind.DAILY_LOSS,
            reason=REASON,
            equity=Decimal(900),
            closes_positions=closes,
            symbols=["BTC"] if closes else [],
        )
        return SyncAccountResult(open_positions=1, breaker=trip)

    return answer


async def test_a_trip_pauses_with_its_reason_and_notes_it(fast: Harness) -> None:
    fast.fakes.sync = _trips_on_start(closes=False)
    h = await fast.start_trader()
    status = await fast.status_until(h, lambda s: s.paused)
    assert (status.status, status.pause_reason) == (TraderStatus.PAUSED, REASON)
    (note,) = await fast.fakes.called(Activity.RECORD_NOTE)
    assert (note.status, note.trigger_type, note.error) == ("paused", "circuit_breaker", REASON)
    recorded = await fast.fakes.called(Activity.RECORD_STATUS)
    assert (recorded[-1].status, recorded[-1].reason) == ("Paused", REASON)
    assert fast.fakes.inputs(Activity.GATHER_CONTEXT) == []  # no position closed


async def test_a_trip_set_to_close_closes_each_position(fast: Harness) -> None:
    fast.fakes.sync = _trips_on_start(closes=True)
    fast.fakes.gather = holding_btc
    h = await fast.start_trader()
    (finish,) = await fast.fakes.called(Activity.FINISH_DECISION)
    assert (finish.trigger_type, finish.status) == ("circuit_breaker", "executed"), finish
    assert finish.decision is not None and finish.decision.operation == "close"
    assert (await fast.status(h)).paused


async def test_a_trip_while_paused_changes_nothing(fast: Harness) -> None:
    fast.fakes.sync = _trips_on_start(closes=True)
    h = await fast.start_trader(paused=True)
    await fast.fakes.called(Activity.RECORD_STATUS)  # the loop's first turn, after the sync
    status = await fast.status(h)
    assert (status.pause_reason, fast.fakes.notes) == ("", [])
    assert fast.fakes.inputs(Activity.GATHER_CONTEXT) == []


async def test_with_breakers_a_trade_is_followed_at_once_by_a_sync(fast: Harness) -> None:
    fast.fakes.config = lambda req: TraderConfig(
        account_id=req.account_id, found=True, bindings=[PROGRAM_BINDING], breakers=True
    )
    fast.fakes.program = lambda _: long_btc()
    h = await fast.start_trader()
    out = await fast.trigger(h)
    assert out.status == "executed", out
    traded_at = await fast.env.get_current_time()
    await fast.fakes.called(Activity.SYNC_ACCOUNT, 2)  # the start's, then the trade's
    # At once: not the position pace's sync a minute later (the test server skips time).
    assert await fast.env.get_current_time() - traded_at < timedelta(seconds=30)


async def test_the_kill_switch_replaces_a_pause_reason_and_is_noted_once(fast: Harness) -> None:
    h = await fast.start_trader(paused=True)
    for _ in range(2):
        await h.signal("pause", {"reason": "KILL_SWITCH: crash", "kill_switch": True})
    status = await fast.status_until(h, lambda s: s.pause_reason == "KILL_SWITCH: crash")
    assert status.status == TraderStatus.PAUSED
    (note,) = await fast.fakes.called(Activity.RECORD_NOTE)
    assert (note.status, note.trigger_type) == ("paused", "kill_switch")
    await h.signal("pause", {"reason": "later"})  # an ordinary pause of a paused trader
    assert (await fast.status(h)).pause_reason == "KILL_SWITCH: crash"
    assert len(fast.fakes.notes) == 1
