"""Funding sign and timing (backtesting.md 8.11 test 5), worked out by hand: a short of 10 BTC
at 100 (taker fee 10 bps: 1 per fill) held across three hourly settlements +a, -b, +c.

Settlement at f charges size x mark_f x rate to a long (a short receives a positive rate),
marked at the open of the candle starting at f. A settlement at the very time of a fill is
settled before it: the position opened then does not pay, the one closed then does."""

from __future__ import annotations

from decimal import Decimal as D

from domain.metrics import ratio_text
from tests.backtest.support import (
    CLOSE,
    HOUR,
    START,
    Script,
    config,
    database,
    equity,
    only_trade,
    run,
    short,
    store_funding,
    store_hourly,
)

RATES = {
    START: "0.0005",  # o1: the entry fills at this time: not paid
    START + HOUR: "0.0001",  # o2, +a at 101: the short receives 10 x 101 x 0.0001 = 0.101
    START + 2 * HOUR: "-0.0002",  # o3, -b at 102: it pays 10 x 102 x 0.0002 = 0.204
    START + 3 * HOUR: "0.0003",  # o4, +c at 100: it receives 0.3, then closes at this time
    START + 4 * HOUR: "0.0009",  # o5: after the close, nothing to pay
}
BARS = ["100", "100", "101", "102", "100", "100"]  # bars 0..5, flat at these prices


async def test_a_short_receives_pays_and_receives_at_the_marks(sqlite_url: str) -> None:
    async with database(sqlite_url) as sessions:
        await store_hourly(sessions, BARS)
        await store_funding(sessions, RATES)
        report = await run(sessions, config(6, funding=True), Script({0: short(), 3: CLOSE}))
    trade = only_trade(report)
    # paid: -0.101 + 0.204 - 0.3 = -0.197 (received 0.197)
    assert trade["funding"] == "-0.197"
    # gross 0 (in and out at 100), fees 2: net 0 - 2 + 0.197
    assert (trade["gross_pnl"], trade["fees"], trade["net_pnl"]) == ("0", "2", "-1.803")
    assert trade["closed_at_ms"] == START + 3 * HOUR
    # c0 10000; c1 9999; c2 9999.101 - 10 (short from 100 marked 101); c3 9998.897 - 20;
    # c4 9999.197 - 1 (the close's fee); c5 unchanged
    assert equity(report) == [
        D(10000), D(9999), D("9989.101"), D("9978.897"), D("9998.197"), D("9998.197"),
    ]  # fmt: skip
    assert report.metrics["total_funding"] == "-0.197"


async def test_missing_rates_lower_the_coverage_and_warn(sqlite_url: str) -> None:
    """Hourly rates stored for 5 of the 6 settlements in (o0, c5]: 83.3 % and a warning."""
    async with database(sqlite_url) as sessions:
        await store_hourly(sessions, BARS)
        await store_funding(sessions, RATES)
        report = await run(sessions, config(6, funding=True), Script())
    assert report.metrics["funding_coverage_pct"] == ratio_text(5 / 6 * 100)
    assert any("funding rates missing for BTC" in w for w in report.metrics["warnings"])


async def test_without_funding_nothing_is_charged(sqlite_url: str) -> None:
    """funding off: the same run pays and receives nothing, and reports no coverage."""
    async with database(sqlite_url) as sessions:
        await store_hourly(sessions, BARS)
        await store_funding(sessions, RATES)
        report = await run(sessions, config(6), Script({0: short(), 3: CLOSE}))
    assert only_trade(report)["funding"] == "0"
    assert report.metrics["funding_coverage_pct"] is None
