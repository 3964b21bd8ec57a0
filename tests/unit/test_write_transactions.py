"""db/transactions.write: one transaction per call, on SQLite in the writer thread."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from db.session import make_engine, make_sessionmaker
from db.transactions import read, write

meta = MetaData()
rows = Table("rows", meta, Column("id", Integer, primary_key=True), Column("who", String))


async def _sessions(url: str):  # type: ignore[no-untyped-def]
    engine = make_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(meta.create_all)
    return engine, make_sessionmaker(engine)


async def test_sqlite_writes_run_in_one_writer_thread_and_commit(tmp_path: Path) -> None:
    engine, sessions = await _sessions(f"sqlite+aiosqlite:///{tmp_path}/w.db")
    seen: set[str] = set()

    def add(i: int):  # type: ignore[no-untyped-def]
        def fn(s: Session) -> int:
            seen.add(threading.current_thread().name)
            s.execute(insert(rows).values(id=i, who=f"w{i}"))
            return i

        return fn

    got = await asyncio.gather(*(write(sessions, add(i)) for i in range(50)))
    assert got == list(range(50))
    assert len(seen) == 1 and seen.pop().startswith("sqlite-writer")
    async with sessions() as s:  # committed, visible to the async engine
        assert await s.scalar(select(func.count()).select_from(rows)) == 50
    await engine.dispose()


async def test_a_failing_write_rolls_back_as_a_whole(tmp_path: Path) -> None:
    engine, sessions = await _sessions(f"sqlite+aiosqlite:///{tmp_path}/w.db")
    await write(sessions, lambda s: s.execute(insert(rows).values(id=1, who="a")))

    def half(s: Session) -> None:
        s.execute(insert(rows).values(id=2, who="b"))
        s.execute(insert(rows).values(id=1, who="dup"))

    with pytest.raises(IntegrityError):
        await write(sessions, half)
    async with sessions() as s:
        assert (await s.scalars(select(rows.c.id).order_by(rows.c.id))).all() == [1]
    await engine.dispose()


async def test_in_memory_sqlite_stays_on_the_async_session() -> None:
    engine, sessions = await _sessions("sqlite+aiosqlite://")

    def fn(s: Session) -> str:
        s.execute(insert(rows).values(id=1, who="m"))
        return threading.current_thread().name

    assert not (await write(sessions, fn)).startswith("sqlite-writer")
    async with sessions() as s:
        assert await s.scalar(select(func.count()).select_from(rows)) == 1
    await engine.dispose()


async def test_sqlite_reads_run_in_reader_threads_and_see_committed_writes(
    tmp_path: Path,
) -> None:
    engine, sessions = await _sessions(f"sqlite+aiosqlite:///{tmp_path}/w.db")
    await write(sessions, lambda s: s.execute(insert(rows).values(id=1, who="a")))

    def fn(s: Session) -> tuple[str, list[str]]:
        names = list(s.scalars(select(rows.c.who)))
        return threading.current_thread().name, names

    got = await asyncio.gather(*(read(sessions, fn) for _ in range(10)))
    assert all(names == ["a"] for _, names in got)
    assert all(name.startswith("sqlite-reader") for name, _ in got)
    await engine.dispose()


async def test_in_memory_sqlite_reads_stay_on_the_async_session() -> None:
    engine, sessions = await _sessions("sqlite+aiosqlite://")
    await write(sessions, lambda s: s.execute(insert(rows).values(id=1, who="m")))
    name, who = await read(
        sessions, lambda s: (threading.current_thread().name, s.scalar(select(rows.c.who)))
    )
    assert who == "m" and not name.startswith("sqlite-reader")
    await engine.dispose()


_COLLECT_UNDER_THE_LOCK = """
import asyncio, gc, sys, threading, weakref
from sqlalchemy import text
from db.session import make_engine, make_sessionmaker
from db.transactions import read, write

async def main():
    engine = make_engine(sys.argv[1])
    sessions = make_sessionmaker(engine)
    await write(sessions, lambda s: s.execute(text("create table t (id integer)")))
    await read(sessions, lambda s: s.execute(text("select count(*) from t")).scalar())
    await engine.dispose()
    return weakref.ref(engine.sync_engine)

dropped = asyncio.run(main())
with threading._shutdown_locks_lock:
    gc.collect()
assert dropped() is None, "the finalizer did not run"
print("collected")
"""


def test_a_dropped_engine_never_joins_its_threads_from_the_collector(tmp_path: Path) -> None:
    """The engine's finalizer runs wherever the garbage collector runs, even in a thread that
    holds `threading`'s own locks (seen in a test run: the collector ran inside threading's
    bookkeeping, the finalizer joined the writer's threads, and the join waited for the lock
    its own thread held, hanging the worker). It must not join. A process of its own: a hang
    fails the test instead of the test run."""
    import subprocess
    import sys

    url = f"sqlite+aiosqlite:///{tmp_path}/w.db"
    try:
        done = subprocess.run(
            [sys.executable, "-c", _COLLECT_UNDER_THE_LOCK, url],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=Path(__file__).parents[2],
        )
    except subprocess.TimeoutExpired:
        pytest.fail("the finalizer blocked the garbage collector")
    assert done.returncode == 0 and done.stdout.strip() == "collected", done.stderr
