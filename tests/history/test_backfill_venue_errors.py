"""What a venue refuses ends a backfill as failed, with the venue's reason; and pages to one
venue are spaced as configured (polite to its rate limit)."""

from __future__ import annotations

import time

from temporalio.client import Client

from adapters.market.history import HistoryClient
from domain.market import Interval
from domain.vocabulary import Exchange
from tests.history.support import DAY, END, MIN, finished, iso, stack, start, venues


async def test_a_symbol_the_venue_refuses_fails_the_task(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    """Binance answers 400 for an unknown pair: not retried, the task says failed and why."""
    with venues() as v:
        async with stack(v, temporal_address, sqlite_url) as st:
            task = await start(
                st, exchange="binance", symbol="NOPE", interval="1h",
                start=iso(END - DAY), end=iso(END),
            )  # fmt: skip
            done = await finished(st, task["id"], timeout=60)
            assert done["status"] == "failed", done
            assert "binance answered 400" in done["error"], done
            assert done["rows_written"] == 0 and done["finished_at"] is not None
            assert v.bn.requests.count("GET /fapi/v1/klines") == 1


async def test_pages_to_one_venue_are_spaced() -> None:
    with venues() as v:
        client = HistoryClient({Exchange.HYPERLIQUID: v.hl_url}, min_interval_s=0.4)
        began = time.monotonic()
        for k in range(3):
            cursor = END - (k + 1) * 10 * MIN
            await client.candles(
                Exchange.HYPERLIQUID, "mainnet", "BTC", Interval.M1, cursor, cursor + 10 * MIN
            )
        assert time.monotonic() - began >= 0.8  # two waits between three requests
