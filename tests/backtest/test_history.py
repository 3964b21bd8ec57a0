"""The history's point-in-time reads: the exact candle window the strategy sees (shared with
the sandbox's session decider), the price at a decision, and which stored source is read."""

from __future__ import annotations

from bisect import bisect_right
from decimal import Decimal as D

from db.candles import store_candles
from domain.market import Interval
from strategies.backtest.history import MarketHistory, Series, load_history
from tests.backtest.support import (
    HOUR,
    MIN,
    START,
    T0,
    candle,
    config,
    database,
    in_memory,
)

M5 = Interval.M5


def history_with(series: dict[Interval, list[object]]) -> MarketHistory:
    cfg = config(3)
    base = in_memory(cfg, ["100"] * 3)
    for iv, candles in series.items():
        base.series[("BTC", iv)] = Series(iv, candles)  # type: ignore[arg-type]
    return base


def test_a_series_that_stops_shows_nothing_older_than_100_intervals() -> None:
    """5m candles stop 2 hours before t: the window keeps the ones closed within 100 x 5m of
    t (the last 76), never 100 stale ones."""
    stop = START - 2 * HOUR
    fives = [candle(stop - (200 - i) * M5.ms, "100") for i in range(200)]  # last closes at stop
    h = history_with({M5: fives})
    rows = h.klines_at("BTC", M5, START)
    assert [r[0] + M5.ms for r in rows] == [
        t for t in (c.open_time_ms + M5.ms for c in fives) if START - 100 * M5.ms < t <= START
    ]
    assert len(rows) == 100 - 24  # 24 intervals of the 2 hours have no candle
    assert h.klines_at("BTC", M5, START + 10 * HOUR) == []


def test_kline_rows_and_close_times_slice_to_the_snapshot_window() -> None:
    """The session decider slices rows[i - 100 : i], i = bisect_right(close_times, t): with
    contiguous data that is the engine's window, for every interval."""
    cfg = config(5)
    h = in_memory(cfg, [str(100 + i) for i in range(5)])
    for t in (START, START + HOUR, START + 4 * HOUR):
        rows, closes = h.kline_rows("BTC", "1h"), h.close_times("BTC", "1h")
        i = bisect_right(closes, t)
        assert rows[i - 100 : i] == h.klines_at("BTC", Interval.H1, t)
        assert rows[i - 1][0] + HOUR == t  # the bar that closed at t, never the forming one


def test_the_price_is_the_1m_close_at_t_else_the_bar_close() -> None:
    ones = [candle(START - 3 * MIN, "90"), candle(START - 2 * MIN, "91"), candle(START - MIN, "92")]
    h = history_with({Interval.M1: ones})
    assert h.price("BTC", START) == D(92)  # the 1m candle closed at t
    # an hour later the last 1m candle is stale: the 1h bar's close
    assert h.price("BTC", START + HOUR) == D(100)


def test_the_funding_mark_is_the_open_of_the_candle_starting_then() -> None:
    ones = [candle(START, ("95", "96", "94", "95.5"))]
    h = history_with({Interval.M1: ones})
    assert h.mark_at("BTC", START) == D(95)  # 1m first
    assert h.mark_at("BTC", START - HOUR) == D(100)  # the 1h bar opening then
    assert h.mark_at("BTC", START + 30 * MIN) == D("95.5")  # else the last close before


async def test_the_source_with_the_most_candles_is_read(sqlite_url: str) -> None:
    """Two sources for BTC 1h: the one holding more of the range is used, and only it."""
    async with database(sqlite_url) as sessions:
        full = [candle(T0 + i * HOUR, "100") for i in range(103)]
        partial = [candle(T0 + i * HOUR, "500") for i in range(50)]
        await store_candles(sessions, "import", "BTC", Interval.H1, full)
        await store_candles(sessions, "hyperliquid", "BTC", Interval.H1, partial)
        h = await load_history(sessions, config(3))
    assert h.sources == {"BTC": "import"}
    assert {c.close for c in h.get("BTC", Interval.H1).candles} == {D(100)}  # type: ignore[union-attr]


async def test_a_tie_reads_the_first_source_by_name(sqlite_url: str) -> None:
    async with database(sqlite_url) as sessions:
        for source in ("zeta", "alpha"):
            candles = [candle(T0 + i * HOUR, "100") for i in range(103)]
            await store_candles(sessions, source, "BTC", Interval.H1, candles)
        h = await load_history(sessions, config(3))
    assert h.sources == {"BTC": "alpha"}
