"""A live trader's account as its venue reported it (balances, margin, unrealized PnL), one row
per reading, per exchange and environment: written on each state read of the API
(`GET /api/{hyperliquid,binance}/account/{id}/state`) and on each of the worker's account syncs
(adapters/account_sync.py). Kept bounded: each trader keeps its newest KEEP readings per exchange
and environment, trimmed in the transaction that adds one.

Every function takes a plain `Session` and runs inside the caller's transaction (see
db/transactions.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import cast

from sqlalchemy import ForeignKey, Index, String, Table, column, delete, insert, select, table
from sqlalchemy.orm import Mapped, Session, mapped_column

from db.base import Base, utcnow

# Readings kept per trader, exchange and environment. A trader synced every minute while it
# holds positions keeps about a day and a half of them; the equity history (db/equity.py) is
# the long record of what its account was worth.
KEEP = 2000


class AccountSnapshot(Base):
    """One reading of a live trader's venue account (GET .../state answers the newest)."""

    __tablename__ = "account_snapshots"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    exchange: Mapped[str] = mapped_column(String(32))  # domain.vocabulary.Exchange (live ones)
    environment: Mapped[str] = mapped_column(String(16))  # ExchangeEnvironment
    balance_total: Mapped[Decimal]  # the account's value, unrealized PnL included
    balance_available: Mapped[Decimal]  # what new margin or a withdrawal could use
    margin_used: Mapped[Decimal]
    unrealized_pnl: Mapped[Decimal]
    taken_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        Index("ix_account_snapshots_venue", "account_id", "exchange", "environment", "id"),
    )


SNAPSHOTS = cast(Table, AccountSnapshot.__table__)
C = SNAPSHOTS.c
# Only the columns read here (db.tables would import db.models, which imports this module).
_ACCOUNTS = table("accounts", column("id"), column("exchange"), column("exchange_environment"))


@dataclass(frozen=True)
class Reading:
    """What a venue said of an account at one moment (AccountView's balances)."""

    balance_total: Decimal
    balance_available: Decimal
    margin_used: Decimal
    unrealized_pnl: Decimal


def record(
    s: Session,
    account_id: int,
    exchange: str,
    environment: str,
    reading: Reading,
    taken_at: datetime | None = None,
    keep: int = KEEP,
) -> int:
    """Store one reading and trim the trader's readings on that venue to the newest `keep`;
    returns the new row's id."""
    conn = s.connection()
    venue = (C.account_id == account_id, C.exchange == exchange, C.environment == environment)
    added = conn.execute(
        insert(SNAPSHOTS),
        {
            "account_id": account_id,
            "exchange": exchange,
            "environment": environment,
            "balance_total": reading.balance_total,
            "balance_available": reading.balance_available,
            "margin_used": reading.margin_used,
            "unrealized_pnl": reading.unrealized_pnl,
            "taken_at": taken_at or utcnow(),
        },
    )
    # The id of the newest reading that falls out (NULL while there are at most `keep`). Why an
    # alias: a subquery on the DELETE's own table would otherwise be correlated to it.
    newer = SNAPSHOTS.alias("newer")
    first_out = (
        select(newer.c.id)
        .where(
            newer.c.account_id == account_id,
            newer.c.exchange == exchange,
            newer.c.environment == environment,
        )
        .order_by(newer.c.id.desc())
        .offset(keep)
        .limit(1)
        .scalar_subquery()
    )
    conn.execute(delete(SNAPSHOTS).where(*venue, C.id <= first_out))
    key = added.inserted_primary_key
    assert key is not None
    return int(key[0])


@dataclass(frozen=True)
class Stored:
    id: int
    exchange: str
    environment: str
    taken_at: datetime


def record_live(
    s: Session, account_id: int, reading: Reading, taken_at: datetime | None = None
) -> Stored | None:
    """`record` under the trader's own exchange and environment; None (nothing stored) for a
    trader without a venue environment (paper, or never connected)."""
    venue = (
        s.connection()
        .execute(
            select(_ACCOUNTS.c.exchange, _ACCOUNTS.c.exchange_environment).where(
                _ACCOUNTS.c.id == account_id
            )
        )
        .first()
    )
    if venue is None or not venue.exchange_environment:
        return None
    at = taken_at or utcnow()
    row_id = record(s, account_id, venue.exchange, venue.exchange_environment, reading, at)
    return Stored(row_id, venue.exchange, venue.exchange_environment, at)
