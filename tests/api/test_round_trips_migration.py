"""Upgrading a data dir with fills (0009 -> 0011) builds the round trips its history shows going
flat, on SQLite and PostgreSQL; running the backfill again adds nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from alembic import command
from sqlalchemy import MetaData, create_engine, select

from config.settings import sync_url
from db.migrate import alembic_config, upgrade
from db.round_trips import _CURRENT
from tests.conftest import _sqlite_url
from tests.support import postgres

NOW = datetime(2026, 11, 1, tzinfo=UTC)
# (row, account, symbol, side, size, price, fee, realized pnl, client order id, trigger)
FILLS = [
    (1, 1, "BTC", "sell", "1", "99", "0.04", "-1", "BTC-sl-old", "stop_loss"),  # before history
    (2, 1, "BTC", "buy", "2", "100", "0.09", "0", "ho-1-1-entry", None),
    (3, 1, "BTC", "sell", "1", "110", "0.05", "10", "ho-1-2-close", None),  # partial close
    (4, 1, "ETH", "buy", "1", "10", "0.01", "0", "ho-1-4-entry", None),
    (5, 1, "BTC", "sell", "1", "120", "0.05", "20", "ho-1-3-close", None),  # the owner's close
    (6, 1, "ETH", "sell", "1", "9", "0.01", "-1", "ETH-sl-ho-1-4-entry-1", "stop_loss"),
    (7, 1, "BTC", "buy", "1", "100", "0.05", "0", None, None),  # still open
    (8, 2, "SOL", "sell", "3", "20", "0.03", "0", None, None),  # made at the venue
    (9, 2, "SOL", "buy", "3", "18", "0.03", "6", None, None),
]


def at(row: int) -> datetime:
    """When fill `row` was recorded."""
    return NOW + timedelta(minutes=row)


def utc(value: datetime) -> datetime:
    """SQLite gives back naive UTC times, PostgreSQL aware ones."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _rows(meta: MetaData) -> dict[str, list[dict[str, Any]]]:
    common = {"created_at": NOW}
    accounts = [
        {"id": i, "name": f"t{i}", "description": "", "account_type": "program",
         "exchange": "paper", "initial_capital": 10000, "max_leverage": 5,
         "max_position_notional_usd": 1000, "max_concurrent_positions": 3,
         "symbols": ["BTC"], "show_on_dashboard": True, "trading_enabled": False,
         "status": "Paused", "is_deleted": False, "updated_at": NOW, **common}
        for i in (1, 2)
    ]  # fmt: skip
    decisions = [
        {"id": f"dec-1-{seq}", "account_id": 1, "seq": seq, "binding_id": 1,
         "trigger_type": kind, "trigger_key": key, "trigger_context": {},
         "status": "executed", **common}
        for seq, kind, key in ((1, "schedule", None), (2, "signal", None),
                               (3, "manual", "close-u1-BTC"), (4, "manual", None))
    ]  # fmt: skip
    orders = [
        {"client_order_id": f"ho-1-{seq}-{leg}", "decision_id": f"dec-1-{seq}",
         "account_id": 1, "leg": leg, "symbol": symbol, "side": side,
         "reduce_only": leg == "close", "leverage": lev, "status": "filled",
         "updated_at": NOW, **common}
        for seq, leg, symbol, side, lev in ((1, "entry", "BTC", "buy", 2),
                                            (2, "close", "BTC", "sell", 1),
                                            (3, "close", "BTC", "sell", 1),
                                            (4, "entry", "ETH", "buy", 3))
    ]  # fmt: skip
    trades = [
        {"id": row, "account_id": acct, "trade_id": f"t{row}", "symbol": symbol, "side": side,
         "size": Decimal(size), "price": Decimal(price), "fee": Decimal(fee),
         "realized_pnl": Decimal(pnl), "client_order_id": coid, "trigger": trigger,
         "created_at": at(row)}
        for row, acct, symbol, side, size, price, fee, pnl, coid, trigger in FILLS
    ]  # fmt: skip
    return {
        "accounts": accounts,
        "programs": [
            {
                "id": 5,
                "name": "p",
                "description": "",
                "code": "x",
                "enabled": True,
                "updated_at": NOW,
                **common,
            }
        ],
        "bindings": [
            {
                "id": 1,
                "account_id": 1,
                "program_id": 5,
                "signal_pool_ids": [],
                "enabled": True,
                **common,
            }
        ],
        "decisions": decisions,
        "orders": orders,
        "trades": trades,
    }


@pytest.fixture(params=["sqlite", "postgres"])
def old_database(request: pytest.FixtureRequest) -> str:
    """A database at revision 0009 holding fills: two positions that went flat, one open."""
    if request.param == "sqlite":
        url = _sqlite_url().replace("/test.db", "/old.db")
    else:
        url = postgres.create_database(request.getfixturevalue("pg_server"))
    upgrade(url, "0009")
    engine = create_engine(sync_url(url))
    meta = MetaData()
    meta.reflect(engine)
    with engine.begin() as c:
        for table, rows in _rows(meta).items():
            c.execute(meta.tables[table].insert(), rows)
    engine.dispose()
    return url


def trips(url: str) -> list[dict[str, Any]]:
    engine = create_engine(sync_url(url))
    meta = MetaData()
    meta.reflect(engine, only=["round_trips"])
    table = meta.tables["round_trips"]
    with engine.connect() as c:
        found = [dict(r._mapping) for r in c.execute(select(table).order_by(table.c.last_fill_id))]
    engine.dispose()
    for t in found:
        del t["id"], t["created_at"]
    return found


def backfill_again(url: str) -> int:
    engine = create_engine(sync_url(url))
    with engine.begin() as c:
        added = _CURRENT.backfill(c)
    engine.dispose()
    return added


def test_upgrade_builds_the_round_trips_of_the_history(old_database: str) -> None:
    upgrade(old_database)
    btc, eth, sol = trips(old_database)
    assert (btc["account_id"], btc["symbol"], btc["side"]) == (1, "BTC", "long")
    assert (btc["first_fill_id"], btc["last_fill_id"], btc["fill_count"]) == (2, 5, 3)
    assert (btc["exit_reason"], btc["entry_decision_id"], btc["exit_decision_id"]) == (
        "manual_close",
        "dec-1-1",
        "dec-1-3",
    )
    assert (btc["trigger_type"], btc["program_id"], btc["leverage"]) == ("schedule", 5, 2)
    assert (btc["entry_price"], btc["exit_price"], btc["size"]) == (100, 115, 2)
    assert (utc(btc["opened_at"]), utc(btc["closed_at"])) == (at(2), at(5))
    for trip in (btc, eth, sol):  # its fills' realised PnL less their fees (no funding)
        mine = [f for f in FILLS if f[1] == trip["account_id"] and f[2] == trip["symbol"]
                and trip["first_fill_id"] <= f[0] <= trip["last_fill_id"]]  # fmt: skip
        pnl = sum(Decimal(f[7]) for f in mine)
        fees = sum(Decimal(f[6]) for f in mine)
        assert (trip["gross_pnl"], trip["fees"], trip["funding"]) == (pnl, fees, 0)
        assert trip["net_pnl"] == pnl - fees
    assert (eth["exit_reason"], eth["exit_decision_id"], eth["leverage"]) == ("stop_loss", None, 3)
    assert (sol["account_id"], sol["side"], sol["exit_reason"]) == (2, "short", "reconciliation")
    assert (sol["entry_decision_id"], sol["trigger_type"], sol["program_id"]) == (None, None, None)


def test_the_backfill_is_idempotent(old_database: str) -> None:
    upgrade(old_database)
    first = trips(old_database)
    assert len(first) == 3
    assert backfill_again(old_database) == 0
    command.downgrade(alembic_config(old_database), "0009")
    upgrade(old_database)
    assert trips(old_database) == first
