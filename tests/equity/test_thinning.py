"""Thinning (db/equity.py, `thin_step`, as of an injected `now`): every point is kept for 2
days, then the last of each 5 minutes up to 30 days, then the last of each hour; each tier
records how far it got, so a later run reads only what aged since."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from adapters.equity import EquitySampler
from config.settings import async_url
from db import equity
from db.session import make_engine, make_sessionmaker
from db.tables import EQUITY_SNAPSHOTS, EQUITY_THINNING
from domain.equity import EquityPoint, utc
from tests.equity.conftest import T0, point, store

MIN, DAY = timedelta(minutes=1), timedelta(days=1)
NOW = T0 + 40 * DAY


def _thin(engine: Engine, now: datetime) -> int:
    deleted = 0
    while True:
        with Session(engine) as s, s.begin():
            gone, more = equity.thin_step(s, now)
        deleted += gone
        if not more:
            return deleted


def _kept(engine: Engine) -> list[tuple[int, datetime]]:
    with Session(engine) as s:
        rows = s.execute(
            select(EQUITY_SNAPSHOTS.c.account_id, EQUITY_SNAPSHOTS.c.time).order_by(
                EQUITY_SNAPSHOTS.c.account_id, EQUITY_SNAPSHOTS.c.time
            )
        )
        return [(a, utc(t)) for a, t in rows]


def _minutes(account_id: int, start: datetime, count: int) -> list[EquityPoint]:
    return [point(account_id, start + n * MIN) for n in range(count)]


def test_each_age_keeps_its_resolution(engine: Engine) -> None:
    recent = NOW - DAY  # younger than 2 days: all kept
    middle = NOW - 10 * DAY  # 2 to 30 days: the last of each 5 minutes
    old = NOW - 35 * DAY  # beyond 30 days: the last of each hour
    store(
        engine,
        *_minutes(1, recent, 10),
        *_minutes(1, middle, 10),
        *_minutes(1, old, 120),
        *_minutes(2, middle, 3),  # another trader's bucket is its own
    )
    deleted = _thin(engine, NOW)
    assert _kept(engine) == [
        *[(1, t.time) for t in _minutes(1, old, 120) if t.time.minute == 59],
        (1, middle + 4 * MIN), (1, middle + 9 * MIN),
        *[(1, t.time) for t in _minutes(1, recent, 10)],
        (2, middle + 2 * MIN),
    ]  # fmt: skip
    assert deleted == 118 + 8 + 2


def test_a_later_run_thins_what_aged_since(engine: Engine) -> None:
    store(engine, *_minutes(1, NOW - DAY, 10))
    assert _thin(engine, NOW) == 0  # all younger than 2 days
    assert _thin(engine, NOW + 2 * DAY) == 8  # now older: the last of each 5 minutes stays
    assert [t for _, t in _kept(engine)] == [NOW - DAY + 4 * MIN, NOW - DAY + 9 * MIN]


def test_progress_is_recorded_so_a_run_reads_only_new_ground(engine: Engine) -> None:
    store(engine, *_minutes(1, NOW - 10 * DAY, 10))
    _thin(engine, NOW)
    with Session(engine) as s:
        done = s.execute(select(EQUITY_THINNING.c.every_seconds, EQUITY_THINNING.c.done_until))
        marks = {every: utc(until) for every, until in done}
    # The hourly tier has nothing old enough yet: it has no mark, and starts when it has.
    assert marks == {300: NOW - 2 * DAY}  # NOW is a 5-minute boundary
    # A point written below the mark later (never happens: points are stamped now) is left be.
    store(engine, *_minutes(1, NOW - 20 * DAY, 3))
    assert _thin(engine, NOW) == 0


async def test_the_thinning_job_catches_up_in_steps(database_url: str, engine: Engine) -> None:
    """What the activity runs: after days without thinning (the worker was down), one run
    brings every age to its resolution, in short steps."""
    store(engine, *_minutes(1, NOW - 5 * DAY, 5 * 1440))
    made = make_engine(async_url(database_url))
    result = await EquitySampler(make_sessionmaker(made), exchange=None).thin(NOW)  # type: ignore[arg-type]
    await made.dispose()
    kept = [t for _, t in _kept(engine)]
    assert len([t for t in kept if t >= NOW - 2 * DAY]) == 2 * 1440
    assert len([t for t in kept if t < NOW - 2 * DAY]) == 3 * 288
    assert result.deleted == 3 * (1440 - 288)
