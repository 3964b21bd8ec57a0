"""A binding's schedule is a durable timer: a decision every interval, none while paused."""

from __future__ import annotations

from datetime import timedelta

from domain.contracts import Activity, BindingConfig, TraderConfig
from tests.workflows_fast.conftest import Harness

EVERY_MINUTE = BindingConfig(id=1, program_id=11, schedule_interval_seconds=60)


def _scheduled(fast: Harness) -> list[str]:
    return [f.trigger_type for f in fast.fakes.finished if f.trigger_type == "schedule"]


async def test_a_schedule_decides_every_interval(fast: Harness) -> None:
    fast.fakes.config = lambda req: TraderConfig(
        account_id=req.account_id, found=True, bindings=[EVERY_MINUTE]
    )
    h = await fast.start_trader()
    await fast.skip(timedelta(minutes=10, seconds=30))
    assert len(_scheduled(fast)) == 10
    assert (await fast.status(h)).decisions_made == 10


async def test_a_paused_trader_runs_no_schedule_until_resumed(fast: Harness) -> None:
    fast.fakes.config = lambda req: TraderConfig(
        account_id=req.account_id, found=True, bindings=[EVERY_MINUTE]
    )
    h = await fast.start_trader(paused=True)
    await fast.skip(timedelta(minutes=10))
    assert _scheduled(fast) == []
    await h.signal("resume")
    await fast.fakes.called(Activity.SYNC_ACCOUNT, 2)  # resumed (and reconciled)
    await fast.skip(timedelta(minutes=3, seconds=30))  # counted afresh from the resume
    assert len(_scheduled(fast)) == 3
