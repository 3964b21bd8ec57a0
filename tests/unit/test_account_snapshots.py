"""Account snapshots are bounded: each trader keeps its newest readings per exchange and
environment, trimmed in the transaction that adds one; other venues' and traders' are untouched
(db/account_snapshots.py), on SQLite and PostgreSQL."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from config.settings import sync_url
from db import account_snapshots
from db.account_snapshots import SNAPSHOTS, Reading
from db.models import Account


def _reading(n: int) -> Reading:
    return Reading(balance_total=Decimal(n), balance_available=Decimal(n),
                   margin_used=Decimal(0), unrealized_pnl=Decimal(0))  # fmt: skip


def test_each_venue_keeps_its_newest_readings(database_url: str) -> None:
    engine = create_engine(sync_url(database_url))
    with Session(engine) as s, s.begin():
        for tid, venue in ((1, "hyperliquid"), (2, "binance")):
            s.add(Account(id=tid, name="t", account_type="program", exchange=venue,
                          initial_capital=Decimal(1000), max_leverage=Decimal(5),
                          max_position_notional_usd=Decimal(1000), max_concurrent_positions=3,
                          symbols=["BTC"]))  # fmt: skip
    with Session(engine) as s, s.begin():
        account_snapshots.record(s, 1, "hyperliquid", "mainnet", _reading(-1), keep=3)
        account_snapshots.record(s, 2, "binance", "testnet", _reading(-2), keep=3)
    for n in range(5):
        with Session(engine) as s, s.begin():
            account_snapshots.record(s, 1, "hyperliquid", "testnet", _reading(n), keep=3)
    with Session(engine) as s:
        rows = s.execute(
            select(
                SNAPSHOTS.c.account_id, SNAPSHOTS.c.environment, SNAPSHOTS.c.balance_total
            ).order_by(SNAPSHOTS.c.id)
        ).all()
    engine.dispose()
    assert [(a, env, int(b)) for a, env, b in rows] == [
        (1, "mainnet", -1),
        (2, "testnet", -2),
        (1, "testnet", 2),
        (1, "testnet", 3),
        (1, "testnet", 4),
    ]
