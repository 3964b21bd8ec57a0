"""The worker trims the live stream's events once they are older than the retention
(runtime/event_retention.py), a batch per transaction, and keeps the rest; the oldest kept id
moves on, which is what tells the API a client resuming from before it needs a snapshot.

The loop sleeps and reads the date through runtime/gc_policy.Clock: a scripted clock walks it
interval by interval, with no wall time waited. On SQLite and PostgreSQL."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from config.settings import Settings, async_url
from db import events
from db.models import Account
from db.session import make_engine, make_sessionmaker
from db.transactions import read, write
from domain.events import StatusUpdate
from domain.trader import TraderStatus
from runtime import event_retention
from runtime.event_retention import trim_events, trim_interval
from runtime.gc_policy import Clock
from tests.support.clocks import EPOCH, ScriptedIntervals, ScriptEnded

DAY = timedelta(hours=24)


@pytest_asyncio.fixture
async def sessions(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_engine(async_url(database_url))
    made = make_sessionmaker(engine)
    async with made() as s, s.begin():
        s.add(Account(id=1, name="t", account_type="program", initial_capital=Decimal(1000),
                      max_leverage=Decimal(5), max_position_notional_usd=Decimal(1000),
                      max_concurrent_positions=3, symbols=["BTC"]))  # fmt: skip
    yield made
    await engine.dispose()


def _at(at: datetime) -> StatusUpdate:
    return StatusUpdate(account_id=1, time=at, status=TraderStatus.ACTIVE)


async def _kept(sessions: async_sessionmaker[AsyncSession]) -> list[datetime]:
    found = await read(sessions, lambda s: events.after(s, 0, 100))
    return [datetime.fromisoformat(str(e.data["time"]).replace("Z", "+00:00")) for e in found]


async def test_events_past_the_retention_are_trimmed_as_they_age(
    sessions: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(event_retention, "TRIM_BATCH", 2)  # several transactions per round
    ages = [DAY + timedelta(hours=6), DAY + timedelta(hours=1), DAY, DAY - timedelta(minutes=10),
            timedelta(hours=1), timedelta(0)]  # fmt: skip
    await write(sessions, lambda s: events.append(s, *(_at(EPOCH - age) for age in ages)))
    first = await read(sessions, events.first_id)
    worker = ScriptedIntervals([0.0] * 3, wall=0.0)  # three rounds, 5 minutes apart
    with pytest.raises(ScriptEnded):
        await trim_events(sessions, DAY, clock=worker.clock)
    # After the last round (15 minutes on) the cutoff is 23:45 back: the event 23:50 old went
    # in that round, the younger ones stay.
    assert await _kept(sessions) == [EPOCH - timedelta(hours=1), EPOCH]
    assert await read(sessions, events.first_id) == first + 4


def test_rounds_come_every_five_minutes_or_sooner_for_a_short_retention() -> None:
    assert trim_interval(DAY) == 300
    assert trim_interval(timedelta(seconds=8)) == 2
    assert Settings.model_fields["events_retention_hours"].default == 24


async def test_a_failed_round_is_logged_and_the_next_one_runs(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    rounds: list[datetime] = []

    async def trim(_sessions: object, _retention: timedelta, clock: Clock) -> int:
        rounds.append(clock.utc())
        if len(rounds) == 1:
            raise sqlite3.OperationalError("database is locked (write queue)")
        return 0

    monkeypatch.setattr(event_retention, "trim_aged", trim)
    worker = ScriptedIntervals([0.0] * 2, wall=0.0)
    with pytest.raises(ScriptEnded):
        await trim_events(None, DAY, clock=worker.clock)  # type: ignore[arg-type]
    assert len(rounds) == 2
    assert "could not trim the live stream's events: OperationalError" in caplog.text
