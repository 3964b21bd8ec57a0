"""SQLite writers of one process queue in asyncio, not in SQLite's busy handler.

SQLite has one writer at a time. With many coroutines writing at once, each on its own pooled
connection thread, the losers sleep in SQLite's busy handler (1, 2, 5 ... 100 ms) however soon
the lock frees: at saturation a sampled worker had ~9 threads asleep there and the machine was a
third idle. Here a writer takes a per-process asyncio lock right before its first INSERT, UPDATE
or DELETE (where sqlite3 opens the write transaction) and gives it back once the COMMIT or
ROLLBACK has run, so the next writer starts the moment the lock is free. Other processes (the
API) still meet the busy handler, as before. Waiting is bounded like busy_timeout was.
"""

from __future__ import annotations

import asyncio
import sqlite3
import weakref
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import PoolProxiedConnection
from sqlalchemy.util import await_

_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLAC")


def _raw(connection: Any) -> Any:
    """The DBAPI connection, whether given it or the pool's proxy for it."""
    return (
        connection.dbapi_connection if isinstance(connection, PoolProxiedConnection) else connection
    )


class WriteGate:
    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self._locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )
        self._held: dict[int, asyncio.Lock] = {}  # id(DBAPI connection) -> the lock it holds

    def _lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        lock = self._locks.get(loop)
        if lock is None:
            lock = self._locks[loop] = asyncio.Lock()
        return lock

    async def _acquire(self, key: int) -> None:
        lock = self._lock()
        try:
            await asyncio.wait_for(lock.acquire(), self.timeout_s)
        except TimeoutError:
            raise sqlite3.OperationalError("database is locked (write queue)") from None
        self._held[key] = lock

    def before_write(self, dbapi_connection: Any, statement: str) -> None:
        key = id(_raw(dbapi_connection))
        if key in self._held or statement.lstrip()[:6].upper() not in _WRITES:
            return
        await_(self._acquire(key))

    def release(self, dbapi_connection: Any) -> None:
        lock = self._held.pop(id(_raw(dbapi_connection)), None)
        if lock is not None:
            lock.release()


def install_write_gate(engine: AsyncEngine, timeout_s: float = 30.0) -> WriteGate:
    gate = WriteGate(timeout_s)
    sync = engine.sync_engine
    dialect = sync.dialect
    do_commit, do_rollback = dialect.do_commit, dialect.do_rollback

    @event.listens_for(sync, "before_cursor_execute")
    def _before(conn: Connection, _cursor, statement, _params, _context, _many) -> None:  # type: ignore[no-untyped-def]
        gate.before_write(conn.connection.dbapi_connection, statement)

    # Released after the COMMIT/ROLLBACK itself ran (the engine events fire before it).
    def commit(dbapi_connection: Any) -> None:
        try:
            do_commit(dbapi_connection)
        finally:
            gate.release(dbapi_connection)

    def rollback(dbapi_connection: Any) -> None:
        try:
            do_rollback(dbapi_connection)
        finally:
            gate.release(dbapi_connection)

    dialect.do_commit = commit  # type: ignore[method-assign]
    dialect.do_rollback = rollback  # type: ignore[method-assign]

    # A connection dropped mid-transaction (invalidated, closed) gives the lock back too.
    @event.listens_for(sync.pool, "invalidate")
    def _invalidated(dbapi_connection, _record, _exc) -> None:  # type: ignore[no-untyped-def]
        gate.release(dbapi_connection)

    @event.listens_for(sync.pool, "close")
    def _closed(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        gate.release(dbapi_connection)

    return gate
