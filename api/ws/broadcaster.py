"""The one task per API process that reads new events from the database (db/events.py, written
by the worker in whatever process or machine it runs) and hands each to the open sockets of the
trader's owner; plus what every socket needs from the database: catching up, resuming, and
re-checking session tokens.

It polls every `ws_poll_seconds` while at least one socket is open (none open: no queries).
Why polling: it works the same on SQLite and PostgreSQL, and one query a poll serves every
socket of the process.

Ids are handed on in order. On PostgreSQL two transactions can commit their events out of id
order (id 11 visible before 10), so a missing id holds back later ones until it appears or
HOLE_WAIT_S passes (a rolled-back transaction leaves a hole forever). An id skipped that way is
still looked for during LATE_WATCH_S and sent, out of order, if it commits after all. SQLite has
one writer and reuses a rolled-back id: no holes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from functools import partial
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from api.limits import TokenBuckets
from api.users_store import live_session_ids
from api.ws.auth import UNAUTHORIZED
from api.ws.connection import SLOW_CLIENT, SLOW_REASON, Connection
from api.ws.protocol import event_message
from db import events
from db.models import Account
from db.transactions import read
from domain.events import Event

log = logging.getLogger("hyperoru.api.ws")

BATCH = 500  # events read per query
CATCH_UP_BATCH = 200
HOLE_WAIT_S = 1.0
LATE_WATCH_S = 60.0
MAX_LATE_IDS = 10_000
SESSION_ENDED = "SESSION_ENDED: the session token was revoked or expired"
# Told to a client that missed events no longer kept (or sent an id this database never had).
GapHandler = Callable[[Connection, str], Awaitable[None]]


def _page(after: int, watching: int | None, user_id: int, s: Session) -> tuple[int, list[Event]]:
    """The first kept id, and the next events of the traders a socket watches."""
    if watching is not None:
        ids = [watching]
    else:
        ids = list(s.scalars(select(Account.id).where(Account.owner_id == user_id)))
    return events.first_id(s), events.after(s, after, CATCH_UP_BATCH, ids)


class Hub:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        poll_s: float,
        slow_after_s: float,
        recheck_s: float,
        max_connections: int,
        rate: float = 0,
        burst: int = 1,
    ) -> None:
        self.sessions = sessions
        # Client messages: a token bucket per session, at the REST requests' rate and burst.
        self.buckets = TokenBuckets(rate, burst) if rate > 0 else None
        self.poll_s, self.slow_after_s, self.recheck_s = poll_s, slow_after_s, recheck_s
        self.max_connections = max_connections
        self.cursor = 0  # every event up to this id has been handed on
        self.by_user: dict[int, set[Connection]] = {}
        self.owner_of: dict[int, int] = {}
        self.on_gap: GapHandler | None = None
        self._wake = asyncio.Event()
        self._gap_since: float | None = None
        self._late: dict[int, float] = {}  # skipped id -> when it was skipped
        self._next_recheck = 0.0
        self.delivered = 0  # events handed on (the bench reads it)

    # --- sockets ------------------------------------------------------------------------

    @property
    def count(self) -> int:
        return sum(len(c) for c in self.by_user.values())

    def connections(self) -> list[Connection]:
        return [c for conns in self.by_user.values() for c in conns]

    async def register(self, conn: Connection) -> bool:
        """Start pushing to `conn` from the newest event on; False when the process is full."""
        if self.count >= self.max_connections:
            return False
        if not self.by_user:
            # Idle until now: nothing was read while no socket was open.
            newest = await read(self.sessions, events.last_id)
            self.cursor = max(self.cursor, newest)
            self._gap_since, self._late = None, {}
        conn.cursor = self.cursor
        self.by_user.setdefault(conn.user_id, set()).add(conn)
        self._wake.set()
        return True

    def unregister(self, conn: Connection) -> None:
        conns = self.by_user.get(conn.user_id)
        if conns is not None:
            conns.discard(conn)
            if not conns:
                del self.by_user[conn.user_id]

    def rate_wait(self, conn: Connection) -> float:
        """0 when a client message may be handled now, else seconds until it could."""
        if self.buckets is None:
            return 0.0
        return self.buckets.take(f"ws:{conn.session_id}", time.monotonic())

    def close_all(self, code: int, reason: str) -> None:
        for conn in self.connections():
            conn.close(code, reason)

    # --- the loop -----------------------------------------------------------------------

    async def run(self) -> None:
        failures = 0
        while True:
            if not self.by_user:
                self._wake.clear()
                await self._wake.wait()
                continue
            more = False
            try:
                more = await self.poll()
                self.drop_slow(time.monotonic())
                await self.recheck_sessions(time.monotonic())
                failures = 0
            except Exception as err:  # the database away: keep the sockets, try again
                failures += 1
                if failures in (1, 10) or failures % 100 == 0:
                    log.warning("live stream: reading events failed (%d): %r", failures, err)
            if more:
                await asyncio.sleep(0)  # a full batch: read on at once
            else:
                await asyncio.sleep(min(5.0, self.poll_s * (1 + failures)))

    async def poll(self) -> bool:
        """Hand on the events recorded since the last poll; True when there may be more."""
        after = self.cursor
        late_ids = list(self._late)
        found, late = await read(
            self.sessions,
            lambda s: (events.after(s, after, BATCH), events.by_ids(s, late_ids)),
        )
        await self._learn_owners(e.account_id for e in [*found, *late])
        if after != self.cursor:
            return True  # re-registered meanwhile (idle, then a new socket): read again
        now = time.monotonic()
        for event in late:
            self._late.pop(event.id, None)
            self._hand_on(event, late=True)
        for ident, skipped in list(self._late.items()):
            if now - skipped > LATE_WATCH_S:
                del self._late[ident]
        for event in found:
            if event.id != self.cursor + 1:
                if self._gap_since is None:
                    self._gap_since = now
                if now - self._gap_since < HOLE_WAIT_S:
                    return False  # wait for the missing ids before handing on later ones
                self._skip(self.cursor + 1, event.id, now)
            self._gap_since = None
            self._hand_on(event)
            self.cursor = event.id
        return len(found) == BATCH

    def _skip(self, first: int, stop: int, now: float) -> None:
        for ident in range(first, min(stop, first + MAX_LATE_IDS)):
            if len(self._late) < MAX_LATE_IDS:
                self._late[ident] = now

    def _hand_on(self, event: Event, late: bool = False) -> None:
        owner = self.owner_of.get(event.account_id)
        conns = self.by_user.get(owner) if owner is not None else None
        if not conns:
            return
        text = event_message(event)
        for conn in list(conns):
            if late:
                conn.offer_late(event, text)
            else:
                conn.offer(event, text)
        self.delivered += 1

    async def _learn_owners(self, account_ids: Iterable[int]) -> None:
        unknown = {a for a in account_ids if a not in self.owner_of}
        if not unknown:
            return

        def owners(s: Session) -> list[Any]:
            stmt = select(Account.id, Account.owner_id).where(Account.id.in_(unknown))
            return list(s.execute(stmt).all())

        for account_id, owner in await read(self.sessions, owners):
            if owner is not None:  # an ownerless trader is claimed by the first user: ask again
                self.owner_of[account_id] = owner

    def drop_slow(self, now: float) -> None:
        for conn in self.connections():
            if conn.slow(now, self.slow_after_s):
                conn.close(SLOW_CLIENT, SLOW_REASON)

    async def recheck_sessions(self, now: float) -> None:
        """Close the sockets of tokens revoked or expired since they connected."""
        if now < self._next_recheck:
            return
        self._next_recheck = now + self.recheck_s
        conns = self.connections()
        ids = {c.session_id for c in conns}
        async with self.sessions() as s:
            live = await live_session_ids(s, ids)
        for conn in conns:
            if conn.session_id not in live:
                conn.close(UNAUTHORIZED, SESSION_ENDED)

    # --- one socket's reads -------------------------------------------------------------

    async def bounds(self) -> tuple[int, int]:
        """(first kept, newest) event ids."""
        return await read(self.sessions, lambda s: (events.first_id(s), events.last_id(s)))

    async def catch_up(self, conn: Connection) -> None:
        """Queue the events `conn` wants after its cursor, from the database, up to what has
        been handed on (later ones it gets pushed); stops when its queue is full."""
        async with conn.catch_up_lock:
            while conn.behind and conn.close_with is None:
                upto, after = self.cursor, conn.cursor
                try:
                    first, found = await read(
                        self.sessions, partial(_page, after, conn.watching, conn.user_id)
                    )
                except Exception as err:  # the database away: try again shortly
                    log.warning("live stream: catching a client up failed: %r", err)
                    await asyncio.sleep(max(self.poll_s, 1.0))
                    continue
                if first and after + 1 < first and self.on_gap is not None:
                    conn.cursor = upto  # what it missed is gone: a fresh snapshot instead
                    await self.on_gap(conn, "fell_behind")
                    found = []
                for event in found:
                    if event.id > upto:
                        break
                    if conn.wants(event.account_id, event.type) and not conn.enqueue_now(
                        event_message(event)
                    ):
                        return  # full: the sender resumes once the client has read some
                    conn.cursor = event.id
                else:
                    if len(found) == CATCH_UP_BATCH:
                        continue  # more to read
                conn.cursor = max(conn.cursor, upto)
                if self.cursor == upto:
                    conn.behind = False  # caught up: pushed events from here on


async def stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
