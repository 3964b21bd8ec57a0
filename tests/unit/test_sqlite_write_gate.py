"""The SQLite write gate (db/sqlite_writes.py): writers queue in asyncio and always get the lock
back, whether their transaction commits, fails or is cancelled; JSON columns via orjson."""

from __future__ import annotations

import asyncio
import json
import math
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, func, insert, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from db.session import json_dumps, make_engine
from db.sqlite_writes import WriteGate, install_write_gate

meta = MetaData()
rows = Table("rows", meta, Column("id", Integer, primary_key=True), Column("who", String))


async def _engine(tmp_path: Path, timeout_s: float = 2.0) -> tuple[AsyncEngine, WriteGate]:
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path}/gate.db")
    gate = install_write_gate(engine, timeout_s=timeout_s)
    async with engine.begin() as conn:
        await conn.run_sync(meta.create_all)
    return engine, gate


async def _count(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(rows))).scalar_one())


async def test_many_concurrent_writers_all_commit_and_release(tmp_path: Path) -> None:
    engine, gate = await _engine(tmp_path)

    async def write(i: int) -> None:
        async with engine.begin() as conn:
            await conn.execute(select(rows.c.id))  # a read first: no write lock yet
            await conn.execute(insert(rows).values(id=i, who=f"w{i}"))
            await asyncio.sleep(0)  # other writers queue meanwhile
            await conn.execute(insert(rows).values(id=1000 + i, who=f"w{i}"))

    await asyncio.gather(*(write(i) for i in range(40)))
    assert await _count(engine) == 80
    assert gate._held == {}
    await engine.dispose()


async def test_failed_transaction_gives_the_lock_back(tmp_path: Path) -> None:
    engine, gate = await _engine(tmp_path)
    async with engine.begin() as conn:
        await conn.execute(insert(rows).values(id=1, who="a"))
    with pytest.raises(IntegrityError):
        async with engine.begin() as conn:
            await conn.execute(insert(rows).values(id=2, who="b"))
            await conn.execute(insert(rows).values(id=1, who="dup"))
    assert gate._held == {}
    async with engine.begin() as conn:  # would wait for the 2 s timeout and fail if leaked
        await conn.execute(insert(rows).values(id=3, who="c"))
    assert await _count(engine) == 2  # id 2 rolled back with its transaction
    await engine.dispose()


async def test_cancelled_writer_gives_the_lock_back(tmp_path: Path) -> None:
    engine, gate = await _engine(tmp_path)
    holding = asyncio.Event()

    async def stuck() -> None:
        async with engine.begin() as conn:
            await conn.execute(insert(rows).values(id=1, who="stuck"))
            holding.set()
            await asyncio.Event().wait()

    task = asyncio.create_task(stuck())
    await holding.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    async with engine.begin() as conn:
        await conn.execute(insert(rows).values(id=2, who="next"))
    assert await _count(engine) == 1
    assert gate._held == {}
    await engine.dispose()


async def test_a_writer_that_never_finishes_times_out_the_next(tmp_path: Path) -> None:
    engine, _ = await _engine(tmp_path, timeout_s=0.3)
    holding, done = asyncio.Event(), asyncio.Event()

    async def slow() -> None:
        async with engine.begin() as conn:
            await conn.execute(insert(rows).values(id=1, who="slow"))
            holding.set()
            await done.wait()

    task = asyncio.create_task(slow())
    await holding.wait()
    with pytest.raises(OperationalError, match="database is locked"):
        async with engine.begin() as conn:
            await conn.execute(insert(rows).values(id=2, who="late"))
    done.set()
    await task
    assert await _count(engine) == 1
    await engine.dispose()


async def test_make_engine_installs_the_gate_for_sqlite_only(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path}/x.db")
    assert engine.sync_engine.dialect.do_commit.__name__ == "commit"
    await engine.dispose()


def test_json_columns_encode_like_the_stdlib() -> None:
    value = {"a": [1, 1.5, "x", None, True], "n": {"k": 2**70}, 3: "int key"}
    assert json.loads(json_dumps(value)) == json.loads(json.dumps(value))
    assert json.loads(json_dumps({"x": math.nan})) == {"x": None}
