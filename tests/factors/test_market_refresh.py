"""The market-history refresh (MarketRefreshWorkflow, run by its schedule) stores the last day's
funding settlements of every connected live trader's symbols, from its venue, once: a second
pass over the same day writes nothing. Why: without it the funding factor only had what a user
backfilled, and stopped at the backfill's end."""

from __future__ import annotations

import uuid

from sqlalchemy import select, update
from temporalio.client import Client, ScheduleActionStartWorkflow

from db.factor_history import MINUTE_MS, OpenInterestSample, record_open_interest
from db.market_history import FundingRateRecord
from db.models import Account
from domain.market_refresh import MarketRefreshInput, MarketRefreshResult
from runtime.schedules import MARKET_REFRESH_SCHEDULE
from tests.emulators.exchange_common import funding_rate_at
from tests.history.support import DAY, END, HOUR, stack, venues
from tests.support.stack import Stack
from tests.support.waiting import eventually


async def live_trader(st: Stack, exchange: str, symbols: list[str]) -> None:
    t = await st.create_trader(exchange=exchange, symbols=symbols)
    # As connected on testnet (connecting needs keys the refresh never uses: it reads the
    # venue's public endpoints).
    async with st.deps.sessions() as s, s.begin():
        await s.execute(
            update(Account)
            .where(Account.id == t["account_id"])
            .values(exchange_environment="testnet")
        )


async def refresh(st: Stack) -> MarketRefreshResult:
    return await st.client.execute_workflow(
        "MarketRefreshWorkflow",
        MarketRefreshInput(now_ms=END),
        id=f"refresh-{uuid.uuid4().hex[:8]}",
        task_queue=st.settings.backfill_task_queue,
        result_type=MarketRefreshResult,
    )


async def stored(st: Stack) -> list[tuple[str, str, int, str]]:
    async with st.deps.sessions() as s:
        rows = await s.execute(
            select(
                FundingRateRecord.source,
                FundingRateRecord.symbol,
                FundingRateRecord.funding_time_ms,
                FundingRateRecord.rate,
            ).order_by(FundingRateRecord.source, FundingRateRecord.funding_time_ms)
        )
        return [(src, sym, t, str(rate.normalize())) for src, sym, t, rate in rows]


async def test_the_refresh_stores_each_venues_last_day_of_settlements_once(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    def expected(source: str, every_h: int) -> list[tuple[str, str, int, str]]:
        times = range(END - DAY, END, every_h * HOUR)
        return [(source, "BTC", t, str(funding_rate_at(t).normalize())) for t in times]

    with venues() as v:
        async with stack(v, temporal_address, sqlite_url) as st:
            await live_trader(st, "hyperliquid", ["BTC"])
            await live_trader(st, "binance", ["BTC"])
            await st.create_trader(symbols=["ETH"])  # paper on the simulated feed: no venue
            first = await refresh(st)
            rows = await stored(st)
            second = await refresh(st)
            assert await stored(st) == rows
    want = expected("binance-testnet", 8) + expected("hyperliquid-testnet", 1)
    assert rows == want
    assert (first.series, first.funding_rows, first.failed) == (2, len(want), [])
    assert second.funding_rows == 0
    assert v.hl.requests.count("info:fundingHistory") == 2
    assert v.bn.requests.count("GET /fapi/v1/fundingRate") == 2


async def test_the_refresh_trims_open_interest_samples_past_their_retention(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    old, kept = END - 7 * DAY - MINUTE_MS, END - 7 * DAY + MINUTE_MS
    with venues() as v:
        async with stack(v, temporal_address, sqlite_url) as st:
            async with st.deps.sessions() as s, s.begin():
                for t in (old, kept):
                    await s.run_sync(
                        lambda sync, at=t: record_open_interest(
                            sync.connection(), "hyperliquid", {"BTC": "5"}, at
                        )
                    )
            result = await refresh(st)
            async with st.deps.sessions() as s:
                left = list(await s.scalars(select(OpenInterestSample.time_ms)))
    assert (result.open_interest_trimmed, left) == (1, [kept])


async def test_a_paper_trader_on_a_venues_market_data_gets_that_venues_settlements(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    with venues() as v:
        async with stack(
            v, temporal_address, sqlite_url, market_source="hyperliquid", market_base_url=v.hl_url
        ) as st:
            await st.create_trader(symbols=["BTC"])
            result = await refresh(st)
            rows = await stored(st)
    assert (result.series, result.failed) == (1, [])
    assert {(src, sym) for src, sym, _, _ in rows} == {("hyperliquid", "BTC")}  # mainnet's
    assert len(rows) == 24


async def test_the_workers_schedule_runs_the_refresh(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    with venues() as v:
        async with stack(v, temporal_address, sqlite_url, market_refresh_seconds=1) as st:
            await live_trader(st, "hyperliquid", ["BTC"])

            async def some() -> list[tuple[str, str, int, str]] | None:
                return await stored(st) or None

            rows = await eventually(some, timeout=60, interval=0.5)
            handle = st.client.get_schedule_handle(MARKET_REFRESH_SCHEDULE)
            action = (await handle.describe()).schedule.action
            await handle.delete()  # it would outlive the test's worker
    assert {src for src, _, _, _ in rows} == {"hyperliquid-testnet"}
    assert isinstance(action, ScheduleActionStartWorkflow)
    assert action.task_queue == st.settings.backfill_task_queue
