"""Equity history (domain/equity.py): recording points with their `asset_curve_update` events,
reading the downsampled asset curve, thinning old points, and finding the traders the periodic
sample covers.

Every function takes a plain `Session` and runs inside the caller's transaction (see
db/transactions.py): a fill's point commits or rolls back with the fill.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, bindparam, case, delete, func, insert, or_, select, update
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from db import events
from db.tables import ACCOUNTS, EQUITY_SNAPSHOTS, EQUITY_THINNING, PAPER_ACCOUNTS, TRADES
from domain.equity import THINNING, EquityPoint, Tier, Timeframe, bucket_start, thinning_cut, utc
from domain.trader import TraderStatus
from domain.vocabulary import Exchange, Side

P = EQUITY_SNAPSHOTS.c
# A trader "is active" for the sample while its workflow trades: Active, or Error (the last
# decision failed; the next one may trade again). Paused and deleted traders are sampled only
# while they hold positions (deleted ones never: their history is closed).
RUNNING = (TraderStatus.ACTIVE.value, TraderStatus.ERROR.value)


class epoch_seconds(FunctionElement[int]):
    """Whole seconds since the UTC epoch of a stored time, in SQL (the bucket arithmetic)."""

    type = BigInteger()
    inherit_cache = True


@compiles(epoch_seconds, "sqlite")
def _epoch_sqlite(element: epoch_seconds, compiler: SQLCompiler, **kw: Any) -> str:
    # SQLite stores the UTC time as text; strftime('%s') reads it as UTC.
    return f"CAST(strftime('%s', {compiler.process(element.clauses, **kw)}) AS INTEGER)"


@compiles(epoch_seconds, "postgresql")
def _epoch_postgresql(element: epoch_seconds, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(FLOOR(EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)})) AS BIGINT)"


def _ranked(seconds: int, *where: Any) -> Any:
    """The points matching `where`, each numbered within its trader's `seconds` bucket from the
    last (1) back."""
    return (
        select(
            *P,
            func.row_number()
            .over(
                partition_by=(P.account_id, epoch_seconds(P.time) // seconds),
                order_by=(P.time.desc(), P.id.desc()),
            )
            .label("rn"),
        )
        .where(*where)
        .subquery()
    )


# Built once, values bound at execution (see db/decisions.py).
_INSERT = insert(EQUITY_SNAPSHOTS)
_OLDEST = select(func.min(P.time))
_OLDEST_FROM = select(func.min(P.time)).where(P.time >= bindparam("b_from"))
_DONE = select(EQUITY_THINNING.c.done_until).where(
    EQUITY_THINNING.c.every_seconds == bindparam("b_every")
)


def record(s: Session, *points: EquityPoint) -> None:
    """Store `points`, each with its `asset_curve_update` event, in the caller's transaction."""
    if not points:
        return
    s.connection().execute(_INSERT, [p.model_dump() for p in points])
    events.append(s, *(p.event() for p in points))


def _point(row: Any) -> EquityPoint:
    return EquityPoint.from_row(
        row.account_id, row.time, row.cash, row.unrealized_pnl, row.equity, row.margin_used
    )


def asset_curve(
    s: Session,
    account_ids: Iterable[int],
    timeframe: Timeframe,
    start: datetime,
    end: datetime,
) -> list[EquityPoint]:
    """The stored curve of each trader in `account_ids` from `start` to `end` (both included):
    the last point of each `timeframe` bucket, by trader then time. The caller owns the traders
    (the API checks it) and adds the current point (domain.equity.with_current)."""
    ids = sorted(set(account_ids))
    if not ids:
        return []
    # Why a grouping joined back rather than a window (as thinning uses): the same answer with
    # less work per row read (~1.7x faster on SQLite, ~1.5x on PostgreSQL, 50 traders' year).
    last = (
        select(P.account_id.label("a"), func.max(P.time).label("t"))
        .where(P.account_id.in_(ids), P.time >= utc(start), P.time <= utc(end))
        .group_by(P.account_id, epoch_seconds(P.time) // timeframe.seconds)
        .subquery()
    )
    stmt = (
        select(*P)
        .join_from(EQUITY_SNAPSHOTS, last, (P.account_id == last.c.a) & (P.time == last.c.t))
        .order_by(P.account_id, P.time, P.id)
    )
    points: list[EquityPoint] = []
    for row in s.connection().execute(stmt):
        p = _point(row)
        if points and (points[-1].account_id, points[-1].time) == (p.account_id, p.time):
            points.pop()  # two points at the very same time: the later written is the last
        points.append(p)
    return points


# A thinning step covers this much time (at least one bucket of its tier): with 1,000 traders
# sampled every minute, ~8,000 points and ~130 ms of SQLite's one write lock.
THIN_SPAN = timedelta(minutes=10)


def thin_step(
    s: Session, now: datetime, span: timedelta = THIN_SPAN, tiers: Sequence[Tier] = THINNING
) -> tuple[int, bool]:
    """Thin at most `span` of points for the first tier that is behind (see domain.equity
    THINNING): delete all but the last point of each of its buckets, and record how far it got.
    Returns (points deleted, whether anything was done: call again until it says False).

    Why in steps: each is one short transaction (on SQLite, the one writer's lock is held only
    that long, so traders' writes never wait long behind it), and a tier's progress is stored,
    so a run reads only what aged since the last."""
    conn = s.connection()
    for tier in tiers:
        cut = thinning_cut(tier, now)
        done = conn.execute(_DONE, {"b_every": tier.every_seconds}).scalar()
        # The first point not yet thinned by this tier: a stretch without points costs no step.
        if done is None:
            first = conn.execute(_OLDEST).scalar()
        else:
            first = conn.execute(_OLDEST_FROM, {"b_from": utc(done)}).scalar()
        if first is None or utc(first) >= cut:
            if done is not None and utc(done) < cut:  # nothing to thin up to the cut: done
                _mark_done(conn, tier, cut, new=False)
            continue
        lo = bucket_start(first, tier.every_seconds)
        step = max(span, timedelta(seconds=tier.every_seconds))
        hi = min(cut, bucket_start(lo + step, tier.every_seconds))  # lo is a bucket's start
        ranked = _ranked(tier.every_seconds, P.time >= lo, P.time < hi)
        gone = conn.execute(
            delete(EQUITY_SNAPSHOTS).where(P.id.in_(select(ranked.c.id).where(ranked.c.rn > 1)))
        )
        _mark_done(conn, tier, hi, new=done is None)
        return int(gone.rowcount or 0), True
    return 0, False


def _mark_done(conn: Any, tier: Tier, until: datetime, new: bool) -> None:
    if new:
        conn.execute(
            insert(EQUITY_THINNING), {"every_seconds": tier.every_seconds, "done_until": until}
        )
    else:
        conn.execute(
            update(EQUITY_THINNING)
            .where(EQUITY_THINNING.c.every_seconds == tier.every_seconds)
            .values(done_until=until)
        )


@dataclass(frozen=True)
class PaperCandidate:
    account_id: int
    state: dict[str, Any] | None  # the paper account's stored state (None: never traded)
    initial_capital: Decimal


@dataclass(frozen=True)
class Candidates:
    """The traders the periodic sample covers: active ones, and paused ones holding positions."""

    paper: list[PaperCandidate]
    live: list[int]


_PAPER = (
    select(ACCOUNTS.c.id, ACCOUNTS.c.status, ACCOUNTS.c.initial_capital, PAPER_ACCOUNTS.c.state)
    .join_from(ACCOUNTS, PAPER_ACCOUNTS, PAPER_ACCOUNTS.c.account_id == ACCOUNTS.c.id, isouter=True)
    .where(ACCOUNTS.c.is_deleted.is_(False), ACCOUNTS.c.exchange == Exchange.PAPER.value)
    .order_by(ACCOUNTS.c.id)
)
_LIVE = (
    select(ACCOUNTS.c.id, ACCOUNTS.c.status)
    .where(
        ACCOUNTS.c.is_deleted.is_(False),
        ACCOUNTS.c.exchange != Exchange.PAPER.value,
        ACCOUNTS.c.exchange_credentials_sealed.is_not(None),
    )
    .order_by(ACCOUNTS.c.id)
)
_SIGNED = case((TRADES.c.side == Side.BUY.value, TRADES.c.size), else_=-TRADES.c.size)


def candidates(s: Session) -> Candidates:
    """Who the periodic sample covers. A paused live trader counts as holding positions while
    the fills recorded for it do not net out to zero (the venue is asked only then)."""
    conn = s.connection()
    paper = [
        PaperCandidate(r.id, r.state, r.initial_capital)
        for r in conn.execute(_PAPER)
        if r.status in RUNNING or (r.state and r.state.get("positions"))
    ]
    live: list[int] = []
    paused: list[int] = []
    for r in conn.execute(_LIVE):
        (live if r.status in RUNNING else paused).append(r.id)
    if paused:
        held = (
            select(TRADES.c.account_id)
            .where(TRADES.c.account_id.in_(paused))
            .group_by(TRADES.c.account_id, TRADES.c.symbol)
            .having(or_(func.sum(_SIGNED) > 0, func.sum(_SIGNED) < 0))
        )
        holding = set(conn.execute(held).scalars())
        live += [a for a in paused if a in holding]
    return Candidates(paper=paper, live=sorted(live))
