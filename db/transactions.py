"""A decision's transactions as one synchronous function each, run where it is cheapest.

On SQLite (one writer at a time) an async transaction holds the database's write lock across a
trip through the event loop for every statement; at saturation that hold time, not the CPU,
capped decisions per second. So on SQLite the whole transaction runs in one writer thread per
database, statement after statement, and the lock is held only for the work itself. On
PostgreSQL (row locks, many writers) the same function runs on the async session, in its
greenlet. Either way: one transaction, committed or rolled back as a whole, the same
`sqlalchemy.exc` errors, and `fn` must not await (it gets a plain `Session`).

Reads on a decision's path (`read`) work the same way for the same reason: through aiosqlite
every statement and every fetch is a hop to its connection thread and back through the event
loop; a read function runs its statements in one hop, in a small pool of reader threads (WAL
lets them read while the writer writes).
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

T = TypeVar("T")
# Reader threads per SQLite database: reads are short; two let one wait on the GIL while the
# other runs, more only add switching.
READERS = 2


class SQLiteWriter:
    def __init__(self, engine: AsyncEngine) -> None:
        from db.session import json_dumps, sqlite_pragmas

        url = engine.url.set(drivername="sqlite")
        self.engine: Engine = create_engine(
            url, connect_args={"timeout": 30, "check_same_thread": False},
            poolclass=NullPool if url.database in (None, "", ":memory:") else None,
            json_serializer=json_dumps,
        )  # fmt: skip
        event.listen(self.engine, "connect", sqlite_pragmas)
        self.thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-writer")
        self.readers = ThreadPoolExecutor(max_workers=READERS, thread_name_prefix="sqlite-reader")

    def _run(self, fn: Callable[[Session], T]) -> T:
        with Session(self.engine, expire_on_commit=False) as s, s.begin():
            return fn(s)

    def _read(self, fn: Callable[[Session], T]) -> T:
        with Session(self.engine, expire_on_commit=False) as s:
            return fn(s)  # closing the session ends (rolls back) its read transaction

    async def run(self, fn: Callable[[Session], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.thread, self._run, fn)

    async def read(self, fn: Callable[[Session], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.readers, self._read, fn)

    def close(self) -> None:
        self.thread.shutdown(wait=True)
        self.readers.shutdown(wait=True)
        self.engine.dispose()

    def release(self) -> None:
        """What the engine's finalizer does: let the threads end, without waiting for them.

        Why no join: a finalizer runs wherever the garbage collector happens to run, possibly
        inside `threading`'s own locks (a join from there deadlocked a test run: the joining
        thread waited for a lock it held). Idle threads exit on their own; the connections close
        with the engine."""
        self.thread.shutdown(wait=False)
        self.readers.shutdown(wait=False)


_writers: weakref.WeakKeyDictionary[Any, SQLiteWriter] = weakref.WeakKeyDictionary()


def _writer(sessions: async_sessionmaker[AsyncSession]) -> SQLiteWriter | None:
    bind = sessions.kw.get("bind")
    if not isinstance(bind, AsyncEngine) or bind.dialect.name != "sqlite":
        return None
    if bind.url.database in (None, "", ":memory:"):
        return None  # another connection would see another, empty database
    writer = _writers.get(bind.sync_engine)
    if writer is None:
        writer = _writers[bind.sync_engine] = SQLiteWriter(bind)
        weakref.finalize(bind.sync_engine, writer.release)
    return writer


async def write(sessions: async_sessionmaker[AsyncSession], fn: Callable[[Session], T]) -> T:
    """Run `fn(session)` in one write transaction and return its result."""
    writer = _writer(sessions)
    if writer is not None:
        return await writer.run(fn)
    async with sessions() as s, s.begin():
        return await s.run_sync(fn)


async def read(sessions: async_sessionmaker[AsyncSession], fn: Callable[[Session], T]) -> T:
    """Run `fn(session)` in one read transaction and return its result (it must not write)."""
    writer = _writer(sessions)
    if writer is not None:
        return await writer.read(fn)
    async with sessions() as s:
        return await s.run_sync(fn)
