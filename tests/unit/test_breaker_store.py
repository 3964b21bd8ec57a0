"""The breakers' check on a sync, against the database (adapters/breakers.py, db/breakers.py): a
new UTC day opens with the last equity point recorded before midnight (equity history), what the
breakers remember is stored, and a resume re-arms them from the equity of that moment. On
SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest
from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import Session

from adapters.breakers import _check
from adapters.exchanges.base import AccountView
from db import breakers
from db.equity import record
from db.models import Account
from domain.breakers import BreakerKind, BreakerSettings, BreakerTrip, arm
from domain.equity import EquityPoint

TODAY = datetime(2026, 12, 8, tzinfo=UTC)
SETTINGS = BreakerSettings(daily_loss_limit_pct=D(5))


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    eng = create_engine(database_url)
    with Session(eng) as s, s.begin():
        s.add(Account(id=1, name="t", account_type="program", initial_capital=D(1000),
                      max_leverage=D(5), max_position_notional_usd=D(1000),
                      max_concurrent_positions=3, symbols=["BTC"],
                      daily_loss_limit_pct=D(5)))  # fmt: skip
    with Session(eng) as s, s.begin():
        points = [(TODAY - timedelta(hours=14), D(1000)), (TODAY - timedelta(hours=1), D(900))]
        record(s, *(_point(at, equity) for at, equity in points))
        breakers.save(s, 1, None, arm(D(1000), TODAY - timedelta(hours=15)))
    yield eng
    eng.dispose()


def _point(at: datetime, equity: D) -> EquityPoint:
    return EquityPoint(
        account_id=1, time=at, cash=equity, unrealized_pnl=D(0), equity=equity, margin_used=D(0)
    )


def _view(equity: str) -> AccountView:
    zero = D(0)
    return AccountView(cash_usd=D(equity), equity_usd=D(equity), available_usd=D(equity),
                       used_margin_usd=zero, realized_pnl_usd=zero, fees_paid_usd=zero,
                       unrealized_pnl_usd=zero)  # fmt: skip


def _run(engine: Engine, equity: str, rearm: bool = False, hours: int = 9) -> BreakerTrip | None:
    with Session(engine) as s, s.begin():
        return _check(1, SETTINGS, _view(equity), rearm, TODAY + timedelta(hours=hours), s)


def test_a_new_day_opens_with_the_last_point_before_midnight(engine: Engine) -> None:
    assert _run(engine, "860") is None  # 4.4 % below 900: yesterday's loss does not count
    with Session(engine) as s:
        state = breakers.state_of(s, 1)
    assert state is not None and (state.day_start, state.day_start_equity) == (TODAY, D(900))
    trip = _run(engine, "850", hours=10)  # 5.6 % below the day's 900
    assert trip is not None and trip.kind is BreakerKind.DAILY_LOSS
    assert "starting equity 900" in trip.reason, trip.reason


def test_a_resume_re_arms_from_the_equity_of_that_moment(engine: Engine) -> None:
    assert _run(engine, "800", rearm=True) is None
    with Session(engine) as s:
        state = breakers.state_of(s, 1)
    assert state is not None
    assert (state.day_start_equity, state.peak_equity) == (D(800), D(800))
    assert state.armed_at == TODAY + timedelta(hours=9)
