"""PostgreSQL commits event ids out of order (two transactions: id 11 visible before 10). The
stream holds later ids back until the missing one commits, so clients get them in id order and
resuming from an id misses nothing; an id that never commits (rolled back) holds them back for at
most a second; one that commits later still is sent then, out of order, rather than never."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from config.settings import sync_url
from db import events
from db.migrate import upgrade
from domain.events import EventData
from tests.support import live, postgres
from tests.support.stack import Stack, full_stack, make_settings


@pytest.fixture
def pg_url(pg_server: str) -> str:
    url = postgres.create_database(pg_server)
    upgrade(url)
    return url


@pytest.fixture
async def st(temporal_address: str, pg_url: str) -> AsyncIterator[tuple[Stack, str]]:
    settings = make_settings(temporal_address, pg_url)
    async with full_stack(None, settings, worker=False) as st, live.serving(st.app) as url:
        yield st, url


@pytest.fixture
def open_tx(st: tuple[Stack, str]) -> Iterator[Any]:
    """A transaction that has written its event (its id taken) and not committed yet."""
    engine = create_engine(sync_url(st[0].settings.resolved_database_url))
    sessions: list[Session] = []

    def begin(data: EventData) -> Session:
        s = Session(engine)
        s.begin()
        events.append(s, data)
        sessions.append(s)
        return s

    yield begin
    for s in sessions:
        s.close()
    engine.dispose()


async def _subscribed(url: str, token: str) -> Any:
    ws = await live.open_ws(url, token)
    await ws.send('{"type": "subscribe", "data": {"channels": ["model_chat"]}}')
    await live.settle(ws)
    return ws


async def test_a_later_id_waits_for_an_earlier_one_still_committing(
    st: tuple[Stack, str], open_tx: Any
) -> None:
    stack, url = st
    a = (await stack.create_trader(name="alpha"))["id"]
    ws = await _subscribed(url, live.token_of(stack))
    async with ws:
        slow = open_tx(live.chat(a, 1))
        await live.record(stack, live.chat(a, 2))
        with pytest.raises(TimeoutError):
            await live.recv(ws, timeout=0.6)  # 2 is committed, 1 not yet: nothing goes out
        slow.commit()
        got = [await live.recv(ws), await live.recv(ws)]
        assert [m["data"]["seq"] for m in got] == [1, 2]
        assert got[0]["event_id"] < got[1]["event_id"]


async def test_a_rolled_back_id_holds_later_ones_back_about_a_second(
    st: tuple[Stack, str], open_tx: Any
) -> None:
    stack, url = st
    a = (await stack.create_trader(name="alpha"))["id"]
    ws = await _subscribed(url, live.token_of(stack))
    async with ws:
        lost = open_tx(live.chat(a, 1))
        lost.rollback()
        started = time.monotonic()
        await live.record(stack, live.chat(a, 2))
        got = await live.recv(ws, timeout=5)
        took = time.monotonic() - started
        assert got["data"]["seq"] == 2 and 0.8 < took < 2.5, took


async def test_an_id_committed_after_it_was_passed_is_still_sent(
    st: tuple[Stack, str], open_tx: Any
) -> None:
    stack, url = st
    a = (await stack.create_trader(name="alpha"))["id"]
    ws = await _subscribed(url, live.token_of(stack))
    async with ws:
        late = open_tx(live.chat(a, 1))
        await live.record(stack, live.chat(a, 2))
        second = await live.recv(ws, timeout=5)  # passed after the wait
        assert second["data"]["seq"] == 2
        await asyncio.sleep(0.5)
        late.commit()
        first = await live.recv(ws, timeout=5)
        assert first["data"]["seq"] == 1 and first["event_id"] < second["event_id"]
