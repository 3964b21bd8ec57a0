"""Async engine and session factory, created once per process (API lifespan, worker)."""

from __future__ import annotations

import json
from typing import Any, TypeAlias

import orjson
from sqlalchemy import event
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from db.account_status import ReportingSession
from db.sqlite_writes import install_write_gate


class EncodedJSON:
    """A JSON column's value already encoded (a decision snapshot is encoded once for both the
    row and the sandbox request)."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


def json_dumps(value: Any) -> str:
    """JSON columns: orjson (decision snapshots are ~75 KB; the stdlib encoder was the largest
    single worker cost). What orjson refuses (integers past 64 bits) takes the stdlib path, so
    anything stored before is still stored; NaN/Infinity become null."""
    if type(value) is EncodedJSON:
        return value.text
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:  # orjson.JSONEncodeError
        return json.dumps(value)


def sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    """WAL lets the API read while the worker writes; busy_timeout waits instead of failing."""
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def make_engine(url: str) -> AsyncEngine:
    # Reading stays on the stdlib: orjson turns integers past 64 bits into floats.
    codec: dict[str, Any] = {"json_serializer": json_dumps}
    if url.startswith("sqlite"):
        engine = create_async_engine(url, connect_args={"timeout": 30}, **codec)

        event.listen(engine.sync_engine, "connect", sqlite_pragmas)
        install_write_gate(engine)
        return engine
    return create_async_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20, **codec)


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    # ReportingSession: an ORM write of a trader's status (the API's pause, resume, delete)
    # reports a status_update in its own transaction (db/account_status.py).
    return async_sessionmaker(engine, expire_on_commit=False, sync_session_class=ReportingSession)


# The session factory every process builds once: what activities and strategies are handed.
Sessions: TypeAlias = async_sessionmaker[AsyncSession]
