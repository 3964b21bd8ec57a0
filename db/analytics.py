"""What live analytics read (api/routes/analytics.py, domain/metrics.py): the round trips closed
in a period and the equity series over it, for traders the caller has already checked.

Sync functions over a plain `Session` (run through `AsyncSession.run_sync`), like db/equity.py.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db import equity
from db.tables import EQUITY_SNAPSHOTS, ROUND_TRIPS
from domain.equity import Timeframe, utc
from domain.metrics import Trip

R = ROUND_TRIPS.c
P = EQUITY_SNAPSHOTS.c
# Why hourly: it is the coarsest tier equity thinning keeps (points older than 30 days are one
# per hour), so the series has the same resolution across the whole period, and a year of one
# trader is 8,760 points. The last point of each hour is what the asset curve shows too.
EQUITY_TIMEFRAME = Timeframe.H1


TRIP_COLUMNS = (
    R.account_id,
    R.symbol,
    R.side,
    R.opened_at,
    R.closed_at,
    R.notional,
    R.leverage,
    R.fees,
    R.funding,
    R.net_pnl,
    R.exit_reason,
    R.trigger_type,
    R.program_id,
    R.prompt_id,
)


def trip_of(r: Any) -> Trip:
    """The `Trip` of a row selected with TRIP_COLUMNS."""
    return Trip(
        symbol=r.symbol,
        side=r.side,
        opened_at=utc(r.opened_at),
        closed_at=utc(r.closed_at),
        notional=r.notional,
        leverage=r.leverage,
        fees=r.fees,
        funding=r.funding,
        net_pnl=r.net_pnl,
        exit_reason=r.exit_reason,
        trigger_type=r.trigger_type,
        program_id=r.program_id,
        prompt_id=r.prompt_id,
        account_id=r.account_id,
    )


def round_trips(
    s: Session, account_ids: Iterable[int], start: datetime, end: datetime
) -> list[Trip]:
    """The round trips of `account_ids` closed from `start` to `end` (both included), in the
    order they closed."""
    ids = sorted(set(account_ids))
    if not ids:
        return []
    stmt = (
        select(*TRIP_COLUMNS)
        .where(R.account_id.in_(ids), R.closed_at >= utc(start), R.closed_at <= utc(end))
        .order_by(R.closed_at, R.id)
    )
    return [trip_of(r) for r in s.connection().execute(stmt)]


def equity_series(
    s: Session, account_ids: Iterable[int], start: datetime, end: datetime
) -> dict[int, list[tuple[datetime, Decimal]]]:
    """Each trader's equity from `start` to `end`, read as the asset curve reads it (the last
    point of each hour), by trader, starting with its equity at `start` (its last point before,
    if any: the period's first day then has its return too); traders without a point by `end`
    are left out."""
    ids = sorted(set(account_ids))
    out: dict[int, list[tuple[datetime, Decimal]]] = {}
    if not ids:
        return out
    last = (
        select(P.account_id.label("a"), func.max(P.time).label("t"))
        .where(P.account_id.in_(ids), P.time < utc(start))
        .group_by(P.account_id)
        .subquery()
    )
    before = (
        select(P.account_id, P.equity)
        .join_from(EQUITY_SNAPSHOTS, last, (P.account_id == last.c.a) & (P.time == last.c.t))
        .order_by(P.account_id, P.id)
    )
    for r in s.connection().execute(before):
        out[r.account_id] = [(utc(start), r.equity)]  # two at that time: the later written
    for p in equity.asset_curve(s, ids, EQUITY_TIMEFRAME, start, end):
        out.setdefault(p.account_id, []).append((p.time, p.equity))
    return out
