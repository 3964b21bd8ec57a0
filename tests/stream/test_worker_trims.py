"""The worker process trims the live stream's aged events by itself (runtime/worker.py starts
runtime/event_retention.py beside its workflows), with HYPERORU_EVENTS_RETENTION_HOURS as the
age: here a few seconds, so its rounds come every couple of seconds."""

from __future__ import annotations

from datetime import timedelta

from temporalio.client import Client

from db import events
from db.base import utcnow
from db.transactions import read, write
from domain.events import StatusUpdate
from domain.trader import TraderStatus
from tests.support.stack import full_stack, make_settings
from tests.support.waiting import eventually


async def test_the_worker_trims_aged_events_and_keeps_young_ones(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    settings = make_settings(temporal_address, sqlite_url, events_retention_hours=0.005)  # 18 s
    async with full_stack(temporal_client, settings) as st:
        tid = (await st.create_trader())["account_id"]
        now = utcnow()
        old, young = (
            StatusUpdate(account_id=tid, time=at, status=TraderStatus.ACTIVE)
            for at in (now - timedelta(hours=1), now)
        )
        await write(st.deps.sessions, lambda s: events.append(s, old, young))
        first = await read(st.deps.sessions, events.first_id)

        async def trimmed() -> bool:
            return await read(st.deps.sessions, events.first_id) > first

        await eventually(trimmed, timeout=15)
        kept = [e.data for e in await read(st.deps.sessions, lambda s: events.after(s, 0, 10))]
        assert young.model_dump(mode="json") in kept
        assert old.model_dump(mode="json") not in kept
