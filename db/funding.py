"""Funding payments of live positions: each recorded once, and counted in its round trip.

A payment is counted in the round trip of its symbol that was open when it was paid (the venue's
time of the payment between the round trip's open and close times). The round trip that is
still open when a payment is recorded counts it when it closes (db/round_trips.py sums the
payments in its span); one already closed when its payment is recorded late (a sync that learns
of it after the closing fill) gets it added here. Either way a payment is counted once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Protocol

from sqlalchemy import Connection, Table, bindparam, insert, select, update
from sqlalchemy.orm import Session

from db.base import utcnow
from db.tables import FUNDING_PAYMENTS, ROUND_TRIPS

_KNOWN = select(FUNDING_PAYMENTS.c.payment_id).where(
    FUNDING_PAYMENTS.c.account_id == bindparam("b_account"),
    FUNDING_PAYMENTS.c.payment_id.in_(bindparam("b_ids", expanding=True)),
)
_CLOSED_TRIP = (
    select(ROUND_TRIPS.c.id)
    .where(
        ROUND_TRIPS.c.account_id == bindparam("b_account"),
        ROUND_TRIPS.c.symbol == bindparam("b_symbol"),
        ROUND_TRIPS.c.opened_at <= bindparam("b_at"),
        ROUND_TRIPS.c.closed_at >= bindparam("b_at"),
    )
    .order_by(ROUND_TRIPS.c.closed_at)
    .limit(1)
)
_ADD_TO_TRIP = (
    update(ROUND_TRIPS)
    .where(ROUND_TRIPS.c.id == bindparam("b_trip"))
    .values(
        funding=ROUND_TRIPS.c.funding + bindparam("b_paid"),
        net_pnl=ROUND_TRIPS.c.net_pnl - bindparam("b_paid"),
    )
)


class VenuePayment(Protocol):
    """What a venue says of one funding settlement (adapters/exchanges/client.py)."""

    @property
    def payment_id(self) -> str: ...
    @property
    def symbol(self) -> str: ...
    @property
    def amount(self) -> Decimal: ...
    @property
    def rate(self) -> Decimal | None: ...
    @property
    def time_ms(self) -> int: ...


def record_payments(s: Session, account_id: int, payments: Sequence[VenuePayment]) -> int:
    """Record the payments not recorded yet, each counted in its closed round trip if there is
    one already; how many were new."""
    if not payments:
        return 0
    conn = s.connection()
    ids = [p.payment_id for p in payments]
    seen = set(conn.scalars(_KNOWN, {"b_account": account_id, "b_ids": ids}))
    rows = []
    for p in sorted(payments, key=lambda p: (p.time_ms, p.payment_id)):
        if p.payment_id in seen:
            continue
        seen.add(p.payment_id)
        rows.append(
            {
                "account_id": account_id,
                "symbol": p.symbol,
                "payment_id": p.payment_id,
                "amount": -p.amount,  # the venue's "received" sign turned into "paid"
                "rate": p.rate,
                "paid_at": datetime.fromtimestamp(p.time_ms / 1000, UTC),
                "created_at": utcnow(),
            }
        )
    if not rows:
        return 0
    conn.execute(insert(FUNDING_PAYMENTS), rows)
    for row in rows:
        key = {"b_account": account_id, "b_symbol": row["symbol"], "b_at": row["paid_at"]}
        trip = conn.execute(_CLOSED_TRIP, key).scalar()
        if trip is not None:
            conn.execute(_ADD_TO_TRIP, {"b_trip": trip, "b_paid": row["amount"]})
    return len(rows)


def paid_between(
    conn: Connection,
    table: Table,
    account_id: int,
    symbol: str,
    opened_at: datetime,
    closed_at: datetime,
) -> Decimal:
    """What the trader paid in funding for `symbol` from `opened_at` to `closed_at`."""
    # Summed here, not by SQL: SQLite's sum() of a Numeric column is a float.
    amounts = conn.scalars(
        select(table.c.amount).where(
            table.c.account_id == account_id,
            table.c.symbol == symbol,
            table.c.paid_at >= opened_at,
            table.c.paid_at <= closed_at,
        )
    )
    return sum((Decimal(a) for a in amounts), Decimal(0))
