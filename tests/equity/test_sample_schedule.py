"""The worker creates the equity schedules at start (once, whatever the number of starts), and
the sample schedule records points, each with its event, for every trader that is active or
holds positions, never for a paused one without positions. The whole stack, real Temporal
Schedules, SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session
from temporalio.client import Client

from db.base import utcnow
from db.tables import EQUITY_SNAPSHOTS, EVENTS
from domain.equity import utc
from domain.events import EventType
from runtime.schedules import EQUITY_SAMPLE_SCHEDULE, EQUITY_THIN_SCHEDULE, ensure_schedules
from tests import programs
from tests.support.stack import Stack, full_stack, make_settings
from tests.support.waiting import eventually


@pytest.fixture
async def st(
    temporal_client: Client, temporal_address: str, database_url: str
) -> AsyncIterator[Stack]:
    settings = make_settings(
        temporal_address, database_url, equity_sample_seconds=1, equity_thin_seconds=3600
    )
    async with full_stack(None, settings) as stack:
        stack.app.state.test_database_url = database_url
        yield stack


def _points_since(st: Stack, since: datetime) -> dict[int, int]:
    engine = create_engine(st.app.state.test_database_url)
    with Session(engine) as s:
        rows = s.execute(
            select(EQUITY_SNAPSHOTS.c.account_id, EQUITY_SNAPSHOTS.c.time).where(
                EQUITY_SNAPSHOTS.c.time > since
            )
        ).all()
    engine.dispose()
    counts: dict[int, int] = {}
    for account_id, at in rows:
        assert utc(at) > since
        counts[account_id] = counts.get(account_id, 0) + 1
    return counts


async def test_active_and_holding_traders_are_sampled(st: Stack) -> None:
    active = (await st.create_trader(name="active", trading_enabled=True))["account_id"]
    holding = (await st.create_trader(name="holding", trading_enabled=True))["account_id"]
    await st.bind(holding, (await st.create_program(programs.ALWAYS_LONG))["id"])
    assert (await st.post(f"/api/account/{holding}/trigger")).json()["status"] == "executed"
    idle = (await st.create_trader(name="idle"))["account_id"]  # paused, flat
    for tid in (holding, idle):
        assert (await st.post(f"/api/account/{tid}/pause", json={})).status_code == 200
    paused_at = utcnow()

    async def sampled_twice() -> dict[int, int]:
        counts = _points_since(st, paused_at)
        return counts if counts.get(active, 0) >= 2 and counts.get(holding, 0) >= 2 else {}

    counts = await eventually(sampled_twice, timeout=30)
    assert idle not in counts
    engine = create_engine(st.app.state.test_database_url)
    with Session(engine) as s:
        curve_events = s.scalar(
            select(func.count())
            .select_from(EVENTS)
            .where(EVENTS.c.type == EventType.ASSET_CURVE.value, EVENTS.c.account_id == idle)
        )
        points = s.scalar(select(func.count()).select_from(EQUITY_SNAPSHOTS))
        events = s.scalar(
            select(func.count())
            .select_from(EVENTS)
            .where(EVENTS.c.type == EventType.ASSET_CURVE.value)
        )
    engine.dispose()
    assert curve_events == 0
    assert events == points  # every point has its event


async def _schedules_are(st: Stack, *wanted: str) -> None:
    async def listed() -> bool:  # the list is eventually consistent; describe is not
        return sorted([s.id async for s in await st.client.list_schedules()]) == sorted(wanted)

    await eventually(listed, timeout=10)


async def test_the_schedules_are_created_once_and_follow_the_settings(st: Stack) -> None:
    await ensure_schedules(st.client, st.settings)  # a second worker starting
    await _schedules_are(st, EQUITY_SAMPLE_SCHEDULE, EQUITY_THIN_SCHEDULE)
    sample = await st.client.get_schedule_handle(EQUITY_SAMPLE_SCHEDULE).describe()
    assert sample.schedule.spec.intervals[0].every.total_seconds() == 1
    await st.client.get_schedule_handle(EQUITY_SAMPLE_SCHEDULE).pause(note="operator")
    off = st.settings.model_copy(update={"equity_thin_seconds": 0, "equity_sample_seconds": 30})
    await ensure_schedules(st.client, off)
    sample = await st.client.get_schedule_handle(EQUITY_SAMPLE_SCHEDULE).describe()
    assert sample.schedule.spec.intervals[0].every.total_seconds() == 30
    assert sample.schedule.state.paused  # an operator's pause stays
    await _schedules_are(st, EQUITY_SAMPLE_SCHEDULE)  # thinning turned off: deleted
