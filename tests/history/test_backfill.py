"""POST /api/klines/backfill against the venue emulators over HTTP: paged as the venues page,
every candle stored once, progress and rows_written true, a 429 ridden out, cancel keeping what
was stored, and a task visible to its owner only.

Why: backtests trust these candles; a page stored twice, skipped or silently dropped after a
rate limit would make a backtest wrong without anyone noticing."""

from __future__ import annotations

import asyncio

from temporalio.client import Client

from tests.history.support import (
    DAY,
    END,
    MIN,
    candle_times,
    finished,
    iso,
    stack,
    start,
    venues,
)
from tests.support.waiting import eventually


async def test_hyperliquid_backfill_spans_pages(
    temporal_client: Client, temporal_address: str, database_url: str
) -> None:
    """12,000 one-minute candles: three candleSnapshot pages (5000, 5000, 2000); on SQLite and
    PostgreSQL."""
    with venues() as v:
        async with stack(v, temporal_address, database_url) as st:
            begin = END - 12_000 * MIN
            task = await start(
                st, exchange="hyperliquid", symbol="BTC", interval="1m",
                start=iso(begin), end=iso(END), environment="mainnet",
            )  # fmt: skip
            done = await finished(st, task["id"])
            assert (done["status"], done["progress_pct"]) == ("completed", 100.0), done
            times = await candle_times(st, "hyperliquid", "BTC", "1m")
            assert times == list(range(begin, END, MIN))
            assert done["rows_written"] == 12_000
            assert v.hl.requests.count("info:candleSnapshot") == 3


async def test_binance_backfill_spans_pages(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    """4,000 one-minute klines: three pages of at most 1500; testnet rows under their own
    source."""
    with venues() as v:
        async with stack(v, temporal_address, sqlite_url) as st:
            begin = END - 4_000 * MIN
            task = await start(
                st, exchange="binance", symbol="ETH", interval="1m",
                start=iso(begin), end=iso(END), environment="testnet",
            )  # fmt: skip
            done = await finished(st, task["id"])
            assert (done["status"], done["progress_pct"]) == ("completed", 100.0), done
            times = await candle_times(st, "binance-testnet", "ETH", "1m")
            assert times == list(range(begin, END, MIN))
            assert done["rows_written"] == 4_000
            assert v.bn.requests.count("GET /fapi/v1/klines") == 3


async def test_a_rate_limit_midway_is_ridden_out(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    """The second page answers 429 twice (Retry-After: 1): the backfill waits and finishes with
    every candle once."""
    with venues() as v:
        v.hl.faults.inject("rate_limit", "candleSnapshot", times=2, after=1, retry_after_s=1)
        async with stack(v, temporal_address, sqlite_url) as st:
            begin = END - 12_000 * MIN
            task = await start(
                st, exchange="hyperliquid", symbol="BTC", interval="1m",
                start=iso(begin), end=iso(END),
            )  # fmt: skip
            done = await finished(st, task["id"])
            assert done["status"] == "completed", done
            assert v.hl.faults.fired.count(("rate_limit", "candleSnapshot")) == 2
            assert await candle_times(st, "hyperliquid", "BTC", "1m") == list(
                range(begin, END, MIN)
            )
            assert done["rows_written"] == 12_000


async def test_cancel_keeps_the_partial_rows(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    """Cancelled while the second page hangs: the first page's 5000 candles stay, the task says
    cancelled, and nothing is stored after."""
    with venues() as v:
        v.hl.faults.inject("delay_after", "candleSnapshot", times=10, after=1, delay_s=8)
        async with stack(v, temporal_address, sqlite_url) as st:
            begin = END - 12_000 * MIN
            task = await start(
                st, exchange="hyperliquid", symbol="BTC", interval="1m",
                start=iso(begin), end=iso(END),
            )  # fmt: skip

            async def first_page() -> bool:
                r = await st.api.get(f"/api/klines/backfill/status/{task['id']}")
                return bool(r.json()["rows_written"] == 5000)

            await eventually(first_page, timeout=60)
            await eventually(
                lambda: asyncio.sleep(0, v.hl.requests.count("info:candleSnapshot") >= 2)
            )
            r = await st.post(f"/api/klines/backfill/{task['id']}/cancel")
            assert r.status_code == 200, r.text
            assert r.json()["status"] == "cancelled"
            handle = st.client.get_workflow_handle(f"backfill-{task['id']}")

            async def closed() -> bool:
                return (await handle.describe()).status.name in ("CANCELED", "COMPLETED")

            await eventually(closed, timeout=30)
            await asyncio.sleep(9)  # past the hanging page's answer
            after = (await st.api.get(f"/api/klines/backfill/status/{task['id']}")).json()
            assert (after["status"], after["rows_written"]) == ("cancelled", 5000), after
            assert after["finished_at"] is not None
            assert await candle_times(st, "hyperliquid", "BTC", "1m") == list(
                range(begin, begin + 5000 * MIN, MIN)
            )


async def test_another_users_task_is_not_found(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    with venues() as v:
        async with stack(v, temporal_address, sqlite_url) as st:
            task = await start(  # the range as the product's klines table names it
                st, exchange="hyperliquid", symbol="BTC", period="1d",
                start_date=iso(END - 10 * DAY), end_date=iso(END),
            )  # fmt: skip
            assert (task["start"], task["end"], task["interval"]) == (
                iso(END - 10 * DAY),
                iso(END),
                "1d",
            )
            async with st.user_client("intruder@example.com") as other:
                r = await other.get(f"/api/klines/backfill/status/{task['id']}")
                assert (r.status_code, r.json()["code"]) == (404, "BACKFILL_TASK_NOT_FOUND")
                r = await other.post(f"/api/klines/backfill/{task['id']}/cancel")
                assert r.status_code == 404, r.text
                assert (await other.get("/api/klines/backfill-tasks")).json() == []
            for nobody in (0, 2**70):  # no row has such an id: 404 too, never a 500
                r = await st.post(f"/api/klines/backfill/{nobody}/cancel")
                assert r.status_code == 404, r.text
            mine = (await st.api.get("/api/klines/backfill-tasks")).json()
            assert [t["id"] for t in mine] == [task["id"]]
            assert (await finished(st, task["id"]))["status"] == "completed"
