"""Stored market data: closed candles per (source, symbol, interval, open time)."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import CandleRecord
from domain.market import Candle, Interval


async def store_candles(
    sessions: async_sessionmaker[AsyncSession],
    source: str,
    symbol: str,
    interval: Interval,
    candles: list[Candle],
) -> int:
    """Insert candles not stored yet (idempotent; fills gaps)."""
    if not candles:
        return 0
    async with sessions() as s, s.begin():
        have = set(
            await s.scalars(
                select(CandleRecord.open_time_ms).where(
                    CandleRecord.source == source,
                    CandleRecord.symbol == symbol,
                    CandleRecord.interval == interval.value,
                    CandleRecord.open_time_ms >= candles[0].open_time_ms,
                )
            )
        )
        new = [c for c in candles if c.open_time_ms not in have]
        s.add_all(
            CandleRecord(
                source=source,
                symbol=symbol,
                interval=interval.value,
                open_time_ms=c.open_time_ms,
                open=c.open,
                high=c.high,
                low=c.low,
                close=c.close,
                volume=c.volume,
            )
            for c in new
        )
    return len(new)


async def load_candles(
    sessions: async_sessionmaker[AsyncSession],
    source: str,
    symbol: str,
    interval: Interval,
    end_ms: int,
    limit: int,
) -> list[Candle]:
    async with sessions() as s:
        rows = list(
            await s.scalars(
                select(CandleRecord)
                .where(
                    CandleRecord.source == source,
                    CandleRecord.symbol == symbol,
                    CandleRecord.interval == interval.value,
                    CandleRecord.open_time_ms + interval.ms <= end_ms,
                )
                .order_by(CandleRecord.open_time_ms.desc())
                .limit(limit)
            )
        )
    return [
        Candle(
            r.open_time_ms,
            Decimal(r.open),
            Decimal(r.high),
            Decimal(r.low),
            Decimal(r.close),
            Decimal(r.volume),
        )
        for r in reversed(rows)
    ]
