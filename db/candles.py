"""Stored market data: closed candles per (source, symbol, interval, open time)."""

from __future__ import annotations

from dataclasses import dataclass
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


@dataclass(frozen=True)
class ImportResult:
    inserted: int
    replaced: int
    unchanged: int


class CandleConflict(Exception):
    """Stored candles of the same key hold other values (open times, in order)."""

    def __init__(self, open_times: list[int]) -> None:
        super().__init__(f"{len(open_times)} candles differ from the stored ones")
        self.open_times = open_times


def _same(r: CandleRecord, c: Candle) -> bool:
    return (r.open, r.high, r.low, r.close, r.volume) == (
        c.open,
        c.high,
        c.low,
        c.close,
        c.volume,
    )


async def import_candles(
    sessions: async_sessionmaker[AsyncSession],
    source: str,
    symbol: str,
    interval: Interval,
    candles: list[Candle],
    replace: bool,
) -> ImportResult:
    """Store an upload in one transaction: new candles inserted, identical ones left alone, and
    ones that differ from what is stored either replaced (replace) or the whole upload refused
    (CandleConflict, nothing written). `candles` sorted by open time, one per open time."""
    if not candles:
        return ImportResult(0, 0, 0)
    async with sessions() as s, s.begin():
        stored = {
            r.open_time_ms: r
            for r in await s.scalars(
                select(CandleRecord).where(
                    CandleRecord.source == source,
                    CandleRecord.symbol == symbol,
                    CandleRecord.interval == interval.value,
                    CandleRecord.open_time_ms >= candles[0].open_time_ms,
                    CandleRecord.open_time_ms <= candles[-1].open_time_ms,
                )
            )
        }
        differ = [
            c for c in candles if c.open_time_ms in stored and not _same(stored[c.open_time_ms], c)
        ]
        if differ and not replace:
            raise CandleConflict([c.open_time_ms for c in differ])
        for c in differ:
            r = stored[c.open_time_ms]
            r.open, r.high, r.low, r.close, r.volume = c.open, c.high, c.low, c.close, c.volume
        new = [c for c in candles if c.open_time_ms not in stored]
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
    return ImportResult(len(new), len(differ), len(candles) - len(new) - len(differ))
