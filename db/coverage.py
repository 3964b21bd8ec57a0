"""What candles are stored, and where they are missing: per source, symbol and interval, the
first and last open time, the count, and the gaps between stored candles (a bounded list).

Gaps are found in SQL with a window function (LAG over open times): the database returns only
the gaps, never every candle (a year of minutes is 525,600 rows per series)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import case, func, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import CandleRecord
from domain.market import Interval

INTERVAL_MS = {iv.value: iv.ms for iv in Interval}


@dataclass(frozen=True)
class Gap:
    after_ms: int  # open time of the last candle before the gap
    before_ms: int  # open time of the first candle after it

    def missing(self, step_ms: int) -> int:
        return (self.before_ms - self.after_ms) // step_ms - 1


@dataclass
class Series:
    source: str
    symbol: str
    interval: str
    earliest_ms: int
    latest_ms: int
    total: int
    gaps: list[Gap] = field(default_factory=list)  # the first ones, oldest first
    gap_count: int = 0
    missing: int = 0


async def coverage(s: AsyncSession, max_gaps: int) -> list[Series]:
    c = CandleRecord
    key = (c.source, c.symbol, c.interval)
    series = {
        (src, sym, iv): Series(src, sym, iv, lo, hi, n)
        for src, sym, iv, lo, hi, n in await s.execute(
            select(*key, func.min(c.open_time_ms), func.max(c.open_time_ms), func.count())
            .group_by(*key)
            .order_by(*key)
        )
    }
    step = case(INTERVAL_MS, value=c.interval, else_=literal_column("0"))
    lagged = select(
        *key,
        c.open_time_ms.label("t"),
        func.lag(c.open_time_ms).over(partition_by=key, order_by=c.open_time_ms).label("prev"),
        step.label("step"),
    ).subquery()
    gaps = (
        select(
            lagged.c.source,
            lagged.c.symbol,
            lagged.c.interval,
            lagged.c.prev,
            lagged.c.t,
            lagged.c.step,
            func.row_number()
            .over(
                partition_by=(lagged.c.source, lagged.c.symbol, lagged.c.interval),
                order_by=lagged.c.t,
            )
            .label("n"),
        )
        .where(
            lagged.c.prev.is_not(None),
            lagged.c.step > 0,
            lagged.c.t - lagged.c.prev > lagged.c.step,
        )
        .subquery()
    )
    for src, sym, iv, prev, t, step_ms, n in await s.execute(select(gaps)):
        one = series[(src, sym, iv)]
        gap = Gap(int(prev), int(t))
        one.gap_count += 1
        one.missing += gap.missing(int(step_ms))
        if n <= max_gaps:
            one.gaps.append(gap)
    for one in series.values():
        one.gaps.sort(key=lambda g: g.after_ms)
    return list(series.values())
