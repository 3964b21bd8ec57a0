"""The venue emulators served over HTTP and a stack whose backfills fetch from them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from db.market_history import FundingRateRecord
from db.models import CandleRecord
from tests.emulators.binance_emulator import BinanceEmulator
from tests.emulators.exchange_common import serving
from tests.emulators.hyperliquid_emulator import HyperliquidEmulator
from tests.support.stack import Stack, full_stack, make_settings
from tests.support.waiting import eventually

MIN = 60_000
HOUR = 3_600_000
DAY = 86_400_000
# A fixed past range on whole days: the emulators' candles are a function of their open time.
END = 1_764_547_200_000  # 2025-12-01T00:00:00Z


@dataclass
class Venues:
    hl: HyperliquidEmulator
    hl_url: str
    bn: BinanceEmulator
    bn_url: str

    def settings(self, temporal_address: str, url: str, **overrides: Any) -> Any:
        return make_settings(
            temporal_address,
            url,
            backfill_hyperliquid_url=self.hl_url,
            backfill_binance_url=self.bn_url,
            backfill_page_interval_seconds=0,
            **overrides,
        )


@contextmanager
def venues() -> Iterator[Venues]:
    hl, bn = HyperliquidEmulator(), BinanceEmulator()
    with serving(hl.app) as hs, serving(bn.app) as bs:
        yield Venues(hl, hs.url, bn, bs.url)


@asynccontextmanager
async def stack(
    v: Venues, temporal_address: str, url: str, worker: bool = True, **overrides: Any
) -> AsyncIterator[Stack]:
    async with full_stack(None, v.settings(temporal_address, url, **overrides), worker) as st:
        yield st


def iso(ms: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ms / 1000, UTC).isoformat()


async def start(st: Stack, **body: Any) -> dict[str, Any]:
    r = await st.post("/api/klines/backfill", body)
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


async def finished(st: Stack, task_id: int, timeout: float = 120) -> dict[str, Any]:
    async def done() -> dict[str, Any] | None:
        r = await st.api.get(f"/api/klines/backfill/status/{task_id}")
        assert r.status_code == 200, r.text
        task = r.json()
        return task if task["status"] in ("completed", "failed", "cancelled") else None

    return await eventually(done, timeout=timeout, interval=0.2)


async def candle_times(st: Stack, source: str, symbol: str, interval: str) -> list[int]:
    async with st.deps.sessions() as s:
        return list(
            await s.scalars(
                select(CandleRecord.open_time_ms)
                .where(
                    CandleRecord.source == source,
                    CandleRecord.symbol == symbol,
                    CandleRecord.interval == interval,
                )
                .order_by(CandleRecord.open_time_ms)
            )
        )


async def funding_count(st: Stack, source: str) -> int:
    async with st.deps.sessions() as s:
        q = select(func.count()).where(FundingRateRecord.source == source)
        return int(await s.scalar(q.select_from(FundingRateRecord)) or 0)
