"""db/backtests.py on SQLite and PostgreSQL: a run's row moves pending -> running -> ended,
its progress and checkpoint are stored while it runs, and its results are stored with its final
status in one transaction (a reader never sees half of them).

Why: a backtest's report is what a user decides to put money behind; a half-written one (some
trades, no metrics) or a finished run overwritten by a late retry would mislead silently."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from decimal import Decimal

import pytest
import pytest_asyncio
from sqlalchemy.exc import IntegrityError

from config.settings import async_url
from db.backtests import (
    BacktestBusy,
    Sessions,
    count_trades,
    decisions,
    equity,
    load_backtest,
    save_progress,
    set_status,
    store_results,
    trades,
)
from db.session import make_engine, make_sessionmaker
from domain.backtest import BacktestStatus
from tests.backtest_service.support import (
    HOUR,
    START,
    new_backtest,
    owner_and_program,
    results,
    trade,
)


@pytest_asyncio.fixture
async def sessions(database_url: str) -> AsyncIterator[Sessions]:
    engine = make_engine(async_url(database_url))
    yield make_sessionmaker(engine)
    await engine.dispose()


async def test_results_round_trip(sessions: Sessions) -> None:
    """Every stored figure reads back exactly: Decimals, order, the decision filters."""
    owner, program = await owner_and_program(sessions)
    row = await new_backtest(sessions, owner, program)
    assert (row.status, row.workflow_id) == ("pending", f"backtest-{row.id}")
    await set_status(sessions, row.id, BacktestStatus.RUNNING)
    assert await save_progress(sessions, row.id, 12, 24, {"steps_done": 12, "x": [1, "2"]})
    mid = await load_backtest(sessions, row.id)
    assert mid is not None
    assert (mid.steps_done, mid.progress, mid.checkpoint) == (
        12, Decimal("0.5"), {"steps_done": 12, "x": [1, "2"]},
    )  # fmt: skip
    res = results()
    await store_results(sessions, row.id, BacktestStatus.COMPLETED, res, 24, 24)
    done = await load_backtest(sessions, row.id)
    assert done is not None
    assert (done.status, done.total_pnl, done.total_trades, done.win_rate) == (
        "completed", Decimal(25), 2, "1",
    )  # fmt: skip
    assert (done.result_hash, done.metrics, done.checkpoint) == ("ab" * 32, res.metrics, None)
    assert (done.progress, done.started_at is not None, done.finished_at is not None) == (
        Decimal(1), True, True,
    )  # fmt: skip
    assert await trades(sessions, row.id) == [trade(0), trade(1)]
    assert await trades(sessions, row.id, offset=1, limit=5) == [trade(1)]
    assert await count_trades(sessions, row.id) == 2
    curve = await equity(sessions, row.id)
    assert curve[0] == (START + HOUR, Decimal(10000), Decimal(9990))
    assert len(curve) == 24
    assert [d.status for d in await decisions(sessions, row.id, None, 0, 10)] == [
        "filled", "denied", "failed",
    ]  # fmt: skip
    (denied,) = await decisions(sessions, row.id, "denied", 0, 10)
    assert (denied.verdict_code, denied.error_code) == ("MAX_LEVERAGE", None)
    (failed,) = await decisions(sessions, row.id, "failed", 0, 10)
    assert (failed.verdict_code, failed.error_code, failed.operation) == (None, "TIMEOUT", None)
    assert len(await decisions(sessions, row.id, "non_hold", 0, 10)) == 2


async def test_results_are_all_or_nothing(sessions: Sessions) -> None:
    """A report the database refuses part of (two equity points at one time) stores nothing:
    no trades, no metrics, the run still running."""
    owner, program = await owner_and_program(sessions)
    row = await new_backtest(sessions, owner, program)
    await set_status(sessions, row.id, BacktestStatus.RUNNING)
    res = results()
    broken = replace(res, equity=[*res.equity, res.equity[-1]])
    with pytest.raises(IntegrityError):
        await store_results(sessions, row.id, BacktestStatus.COMPLETED, broken, 24, 24)
    after = await load_backtest(sessions, row.id)
    assert after is not None
    assert (after.status, after.metrics, after.result_hash) == ("running", None, None)
    assert await trades(sessions, row.id) == []
    assert await equity(sessions, row.id) == []


async def test_an_ended_run_keeps_its_results(sessions: Sessions) -> None:
    """A late retry's results never replace a completed run's."""
    owner, program = await owner_and_program(sessions)
    row = await new_backtest(sessions, owner, program)
    await store_results(sessions, row.id, BacktestStatus.COMPLETED, results(trades=2), 24, 24)
    late = replace(results(trades=1), result_hash="cd" * 32)
    await store_results(sessions, row.id, BacktestStatus.COMPLETED, late, 24, 24)
    done = await load_backtest(sessions, row.id)
    assert done is not None and done.result_hash == "ab" * 32
    assert await count_trades(sessions, row.id) == 2


async def test_a_cancelled_run_gets_its_partial_results_and_stays_cancelled(
    sessions: Sessions,
) -> None:
    """Cancelled first (the API, with no worker answering), the run's partial report still
    lands; its status stays cancelled."""
    owner, program = await owner_and_program(sessions)
    row = await new_backtest(sessions, owner, program)
    await set_status(sessions, row.id, BacktestStatus.RUNNING)
    await set_status(sessions, row.id, BacktestStatus.CANCELLED)
    assert not await save_progress(sessions, row.id, 5, 24)  # the run learns it should stop
    await store_results(sessions, row.id, BacktestStatus.COMPLETED, results(n_equity=5), 5, 24)
    after = await load_backtest(sessions, row.id)
    assert after is not None
    assert (after.status, after.steps_done, after.progress) == ("cancelled", 5, Decimal("0.2083"))
    assert after.metrics is not None and len(await equity(sessions, row.id)) == 5


async def test_a_users_second_run_is_refused(sessions: Sessions) -> None:
    owner, program = await owner_and_program(sessions)
    await new_backtest(sessions, owner, program, per_user=1)
    with pytest.raises(BacktestBusy):
        await new_backtest(sessions, owner, program, per_user=1)
    other, theirs = await owner_and_program(sessions, "b@example.com")
    await new_backtest(sessions, other, theirs, per_user=1)  # another user's first is fine


async def test_the_instance_limit_counts_every_users_runs(sessions: Sessions) -> None:
    a, pa = await owner_and_program(sessions)
    b, pb = await owner_and_program(sessions, "b@example.com")
    first = await new_backtest(sessions, a, pa, total=1)
    with pytest.raises(BacktestBusy):
        await new_backtest(sessions, b, pb, total=1)
    await set_status(sessions, first.id, BacktestStatus.COMPLETED)
    await new_backtest(sessions, b, pb, total=1)  # an ended run frees its slot


async def test_deleting_the_program_keeps_its_backtests(sessions: Sessions) -> None:
    """The program's backtests stay, no longer pointing at it (the foreign key is SET NULL)."""
    from sqlalchemy import delete as sql_delete

    from db.models import Program

    owner, program = await owner_and_program(sessions)
    row = await new_backtest(sessions, owner, program)
    await store_results(sessions, row.id, BacktestStatus.COMPLETED, results(), 24, 24)
    async with sessions() as s, s.begin():
        await s.execute(sql_delete(Program).where(Program.id == program))
    after = await load_backtest(sessions, row.id)
    assert after is not None and (after.program_id, after.status) == (None, "completed")
    assert await count_trades(sessions, row.id) == 2


async def test_two_starts_at_once_take_one_slot(sessions: Sessions) -> None:
    """Two requests racing for a user's last slot: one run starts, the other is refused."""
    import asyncio

    owner, program = await owner_and_program(sessions)
    outcomes = await asyncio.gather(
        *(new_backtest(sessions, owner, program, per_user=1) for _ in range(4)),
        return_exceptions=True,
    )
    assert sorted(type(o).__name__ for o in outcomes) == [
        "BacktestBusy", "BacktestBusy", "BacktestBusy", "BacktestRecord",
    ]  # fmt: skip
