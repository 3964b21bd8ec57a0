"""Fixtures for equity history: a migrated database (SQLite and PostgreSQL) with two traders."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import Session

from db import equity
from db.models import Account
from domain.equity import EquityPoint

T0 = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)  # a bucket boundary of every timeframe


def add_trader(s: Session, account_id: int, **fields: object) -> None:
    values: dict[str, object] = {
        "name": f"t{account_id}", "account_type": "program", "initial_capital": Decimal(1000),
        "max_leverage": Decimal(5), "max_position_notional_usd": Decimal(1000),
        "max_concurrent_positions": 3, "symbols": ["BTC"], **fields,
    }  # fmt: skip
    s.add(Account(id=account_id, **values))


def point(account_id: int, at: datetime, equity_usd: str = "1000") -> EquityPoint:
    value = Decimal(equity_usd)
    return EquityPoint(
        account_id=account_id,
        time=at,
        cash=Decimal(1000),
        unrealized_pnl=value - 1000,
        equity=value,
        margin_used=Decimal(0),
    )


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    made = create_engine(database_url)
    with Session(made) as s, s.begin():
        add_trader(s, 1)
        add_trader(s, 2)
    yield made
    made.dispose()


def store(engine: Engine, *points: EquityPoint) -> None:
    with Session(engine) as s, s.begin():
        equity.record(s, *points)
