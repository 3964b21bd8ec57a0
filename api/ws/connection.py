"""One client's socket: what it watches, its bounded send queue, and the task that writes it.

Every message to the client goes through the queue (answers and pushed events alike), written by
one sender task, so the client gets them in order and a client that stops reading holds up only
its own queue. When the queue is full the connection falls behind: pushed events are no longer
queued but left in the database, where the connection catches up from (its `cursor`, the last
event it has accounted for) as the client reads again: nothing is lost and memory stays bounded.
A queue that stays full for `slow_after_s` (the client reads nothing) gets the connection closed
(SLOW_CLIENT); the client reconnects and resumes from its last event id.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from typing import Any

from starlette.websockets import WebSocket

from api.auth import Caller
from domain.events import CHANNEL_OF, Channel, Event

SLOW_CLIENT = 4408
SLOW_REASON = "SLOW_CLIENT: messages were not read in time; reconnect and resume"


class Connection:
    def __init__(self, ws: WebSocket, caller: Caller, queue_size: int) -> None:
        self.ws = ws
        self.user_id, self.session_id = caller.id, caller.session_token_id
        self.queue: asyncio.Queue[str] = asyncio.Queue(queue_size)
        self.channels: set[Channel] = set()
        self.watching: int | None = None  # one trader's id; None: all the user's traders
        self.cursor = 0  # every event up to this id is sent or not for this client
        self.behind = False  # events after `cursor` are read from the database, not pushed
        self.full_since: float | None = None  # monotonic time the queue was found full
        self.close_with: tuple[int, str] | None = None
        self.closed = asyncio.Event()
        self.catch_up_lock = asyncio.Lock()
        self.catching: asyncio.Task[None] | None = None

    def wants(self, account_id: int, kind: object) -> bool:
        """Pushed to this client: a trader it watches, on a channel it subscribed to (a status
        change on none: it goes to every connection watching the trader)."""
        if self.watching is not None and account_id != self.watching:
            return False
        channel = CHANNEL_OF.get(kind)  # type: ignore[call-overload]
        return channel is None or channel in self.channels

    def _mark_full(self) -> None:
        if self.full_since is None:
            self.full_since = time.monotonic()

    def offer(self, event: Event, text: str) -> None:
        """A new event, in id order (the broadcaster; never waits)."""
        if self.close_with is not None or event.id <= self.cursor:
            return
        wanted = self.wants(event.account_id, event.type)
        if self.behind:
            if wanted:  # it waits in the database: as good as a full queue
                self._mark_full()
            return
        if not wanted:
            self.cursor = event.id
            return
        if self.queue.full():
            self.behind = True  # from here on read from the database (Hub.catch_up)
            self._mark_full()
            return
        self.queue.put_nowait(text)
        self.cursor = event.id
        if self.queue.full():
            self._mark_full()

    def offer_late(self, event: Event, text: str) -> None:
        """An event committed after later ids were already passed on (PostgreSQL: a slow
        transaction): sent out of order rather than never. One past `cursor` is still ahead."""
        if event.id > self.cursor or self.close_with is not None:
            return
        if self.wants(event.account_id, event.type) and not self.queue.full():
            self.queue.put_nowait(text)

    def enqueue_now(self, text: str) -> bool:
        """Queue a message if there is room (catching up); False when full."""
        if self.queue.full():
            self._mark_full()
            return False
        self.queue.put_nowait(text)
        if self.queue.full():
            self._mark_full()
        return True

    async def send(self, text: str) -> None:
        """Queue an answer, waiting for room (the client's own requests wait on its reading)."""
        if self.queue.full():
            self._mark_full()
        await self.queue.put(text)

    def close(self, code: int, reason: str) -> None:
        """Ask the endpoint to close this socket (from any task); the first reason wins."""
        if self.close_with is None:
            self.close_with = (code, reason)
        self.closed.set()

    def slow(self, now: float, after_s: float) -> bool:
        return self.full_since is not None and now - self.full_since > after_s

    async def pump(self, catch_up: Callable[[Connection], Coroutine[Any, Any, None]]) -> None:
        """Write queued messages to the socket, one at a time; when behind and the queue has
        room again, catch up from the database beside it (a catch-up may itself wait for room).
        Runs until cancelled or the socket fails."""
        half = self.queue.maxsize // 2
        try:
            while True:
                if self.behind and self.queue.qsize() <= half and not self._catching():
                    self.catching = asyncio.create_task(catch_up(self))
                text = await self.queue.get()
                self.full_since = None  # the client is reading: a slot is free
                await self.ws.send_text(text)
        finally:
            if self.catching is not None:
                self.catching.cancel()

    def _catching(self) -> bool:
        return self.catching is not None and not self.catching.done()
