"""The reads of a backtest's market history (strategies/backtest/history.py): which stored
source a symbol's candles come from, a series of candles in one ordered query, and settled
funding rates."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.market_history import FundingRateRecord
from db.models import CandleRecord
from domain.market import Candle, Interval


async def candle_source(
    s: AsyncSession, symbol: str, interval: Interval, lo: int, hi: int
) -> str | None:
    """The source holding the most `interval` candles of `symbol` opening in [lo, hi), ties
    broken by name; None when none is stored."""
    c = CandleRecord
    counts = await s.execute(
        select(c.source, func.count())
        .where(
            c.symbol == symbol,
            c.interval == interval.value,
            c.open_time_ms >= lo,
            c.open_time_ms < hi,
        )
        .group_by(c.source)
    )
    ranked = sorted(((-int(n), str(src)) for src, n in counts), key=lambda x: x)
    return ranked[0][1] if ranked else None


async def candle_series(
    s: AsyncSession, source: str, symbol: str, iv: Interval, lo: int, hi: int
) -> list[Candle]:
    """The candles opening in [lo, hi), oldest first (one query, columns only: a year of 1m
    candles is 525,600 rows)."""
    c = CandleRecord
    rows = await s.execute(
        select(c.open_time_ms, c.open, c.high, c.low, c.close, c.volume)
        .where(
            c.source == source,
            c.symbol == symbol,
            c.interval == iv.value,
            c.open_time_ms >= lo,
            c.open_time_ms < hi,
        )
        .order_by(c.open_time_ms)
    )
    # Prices repeat (a few thousand ticks over a year of minutes): one Decimal per distinct
    # value instead of five per candle, about half the memory of a long 1m series.
    same: dict[Decimal, Decimal] = {}

    def one(x: Decimal) -> Decimal:
        d = Decimal(x)
        return same.setdefault(d, d)

    return [Candle(int(t), one(o), one(h), one(low), one(cl), one(v))
            for t, o, h, low, cl, v in rows]  # fmt: skip


async def funding_series(
    s: AsyncSession, symbol: str, preferred: str | None, lo: int, hi: int
) -> list[tuple[int, Decimal]]:
    """Settled rates with lo < time <= hi, oldest first, from `preferred` when it holds any
    for the symbol, else from the source holding the most (ties by name)."""
    f = FundingRateRecord
    in_range = (f.symbol == symbol, f.funding_time_ms > lo, f.funding_time_ms <= hi)
    counts = dict(
        (str(src), int(n))
        for src, n in await s.execute(
            select(f.source, func.count()).where(*in_range).group_by(f.source)
        )
    )
    if not counts:
        return []
    source = preferred if preferred in counts else min(counts, key=lambda k: (-counts[k], k))
    rows = await s.execute(
        select(f.funding_time_ms, f.rate)
        .where(*in_range, f.source == source)
        .order_by(f.funding_time_ms)
    )
    return [(int(t), Decimal(r)) for t, r in rows]
