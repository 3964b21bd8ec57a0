"""Equity points (db/equity.py): each commits with its `asset_curve_update` event or neither
does, and the stored curve is the last point of each bucket, per trader, within the range."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from db import equity, events
from db.tables import EQUITY_SNAPSHOTS
from domain.equity import Timeframe
from domain.events import EventType
from tests.equity.conftest import T0, point, store

MIN = timedelta(minutes=1)


def test_a_point_is_stored_with_its_event(engine: Engine) -> None:
    store(engine, point(1, T0, "1012.5"))
    with Session(engine) as s:
        got = events.after(s, 0, 10)
        curve = equity.asset_curve(s, [1], Timeframe.M5, T0 - MIN, T0 + MIN)
    assert [e.type for e in got] == [EventType.ASSET_CURVE]
    assert got[0].data == {
        "account_id": 1, "time": T0.isoformat().replace("+00:00", "Z"), "cash": "1000",
        "unrealized_pnl": "12.5", "equity": "1012.5", "margin_used": "0",
    }  # fmt: skip
    assert curve == [point(1, T0, "1012.5")]


def test_a_point_holds_what_its_row_does_in_the_apis_digits(engine: Engine) -> None:
    """The event pushed and the curve read back agree, to the digit."""
    store(engine, point(1, T0, "1000.123456789012345"), point(2, T0, "1000.000"))
    with Session(engine) as s:
        pushed = [e.data["equity"] for e in events.after(s, 0, 10)]
        read = equity.asset_curve(s, [1, 2], Timeframe.M5, T0, T0)
    assert pushed == ["1000.123456789", "1000"]
    assert [p.equity for p in read] == [Decimal(x) for x in pushed]


def test_a_point_rolls_back_with_its_transaction(engine: Engine) -> None:
    with pytest.raises(RuntimeError), Session(engine) as s, s.begin():
        equity.record(s, point(1, T0))
        raise RuntimeError("the fill's write failed")
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(EQUITY_SNAPSHOTS)) == 0
        assert events.last_id(s) == 0


def test_the_curve_keeps_the_last_point_of_each_bucket(engine: Engine) -> None:
    # Trader 1: three points in the 12:00 bucket, one at 12:07; trader 2: one at 12:03.
    store(
        engine,
        point(1, T0, "1001"),
        point(1, T0 + 2 * MIN, "1002"),
        point(1, T0 + 4 * MIN + timedelta(seconds=59), "1003"),
        point(1, T0 + 7 * MIN, "1004"),
        point(2, T0 + 3 * MIN, "2001"),
    )
    with Session(engine) as s:
        five = equity.asset_curve(s, [1, 2], Timeframe.M5, T0 - MIN, T0 + 10 * MIN)
        hour = equity.asset_curve(s, [1, 2], Timeframe.H1, T0 - MIN, T0 + 10 * MIN)
    assert [(p.account_id, str(p.equity)) for p in five] == [
        (1, "1003"), (1, "1004"), (2, "2001"),
    ]  # fmt: skip
    assert [(p.account_id, p.time) for p in hour] == [(1, T0 + 7 * MIN), (2, T0 + 3 * MIN)]


def test_the_curve_is_cut_to_the_range_and_the_traders_asked(engine: Engine) -> None:
    store(engine, *(point(1, T0 + n * 10 * MIN) for n in range(6)), point(2, T0))
    with Session(engine) as s:
        got = equity.asset_curve(s, [1], Timeframe.M5, T0 + 10 * MIN, T0 + 30 * MIN)
    assert [p.time for p in got] == [T0 + 10 * MIN, T0 + 20 * MIN, T0 + 30 * MIN]


def test_of_two_points_at_the_same_time_the_later_written_is_the_last(engine: Engine) -> None:
    store(engine, point(1, T0, "1"), point(1, T0, "2"), point(1, T0 + MIN, "3"))
    with Session(engine) as s:
        got = equity.asset_curve(s, [1], Timeframe.M5, T0, T0 + MIN)
    assert [str(p.equity) for p in got] == ["3"]
    with Session(engine) as s:
        got = equity.asset_curve(s, [1], Timeframe.M5, T0, T0)
    assert [str(p.equity) for p in got] == ["2"]
