from __future__ import annotations

import time
from decimal import Decimal

import pytest

from adapters.market import MarketFeed, SimulatedFeed, UnknownSymbolError
from domain.market import Candle, Interval, interval_seconds, parse_interval

T0 = 1_735_689_600_000  # 2025-01-01T00:00:00Z
SYMBOLS = ["BTC", "ETH", "SOL", "ARB", "DOGE"]


def rsi(closes: list[Decimal], n: int = 14) -> list[float]:
    """Wilder RSI, one value per close from index n on."""
    out: list[float] = []
    avg_g = avg_l = 0.0
    for i in range(1, len(closes)):
        d = float(closes[i] - closes[i - 1])
        g, loss = max(d, 0.0), max(-d, 0.0)
        if i <= n:
            avg_g, avg_l = avg_g + g / n, avg_l + loss / n
            if i < n:
                continue
        else:
            avg_g, avg_l = (avg_g * (n - 1) + g) / n, (avg_l * (n - 1) + loss) / n
        out.append(100.0 if avg_l == 0 else 100 - 100 / (1 + avg_g / avg_l))
    return out


def test_interval_helpers() -> None:
    assert [i.seconds for i in Interval] == [60, 300, 900, 3600, 14400, 86400]
    assert parse_interval(" 1H ") is Interval.H1
    assert interval_seconds("4h") == 14400
    for bad in ("2m", "1M", "", "hour"):
        with pytest.raises(ValueError, match="unknown interval"):
            parse_interval(bad)


def test_is_a_market_feed() -> None:
    feed = SimulatedFeed()
    assert isinstance(feed, MarketFeed)
    assert feed.symbols() == SYMBOLS


async def test_deterministic_across_instances() -> None:
    a, b = SimulatedFeed(seed=7), SimulatedFeed(seed=7)
    for s in SYMBOLS:
        assert await a.get_price(s, T0 + 12345) == await b.get_price(s, T0 + 12345)
        assert await a.get_klines(s, Interval.M5, 50, T0) == await b.get_klines(
            s, Interval.M5, 50, T0
        )
    other = SimulatedFeed(seed=8)
    assert await other.get_price("BTC", T0) != await a.get_price("BTC", T0)


async def test_prices_positive_plausible_and_distinct() -> None:
    feed = SimulatedFeed()
    bases = {"BTC": 65000, "ETH": 3200, "SOL": 150, "ARB": 0.8, "DOGE": 0.15}
    prices = {s: await feed.get_price(s, T0) for s in SYMBOLS}
    assert len(set(prices.values())) == len(SYMBOLS)
    for s, p in prices.items():
        assert isinstance(p, Decimal) and p > 0
        assert Decimal(bases[s]) / 2 < p < Decimal(bases[s]) * 2
    # price moves over time but is a pure function of t
    assert await feed.get_price("BTC", T0) != await feed.get_price("BTC", T0 + 3_600_000)
    assert await feed.get_price("BTC", T0) == feed.price("btc", T0)


@pytest.mark.parametrize("interval", list(Interval))
async def test_candle_invariants(interval: Interval) -> None:
    feed = SimulatedFeed()
    end = T0 + 1_234_567  # not aligned: last candle must close at or before it
    for s in SYMBOLS:
        candles = await feed.get_klines(s, interval, 120, end)
        assert len(candles) == 120
        assert all(isinstance(c, Candle) for c in candles)
        step = interval.ms
        assert candles[-1].open_time_ms + step <= end < candles[-1].open_time_ms + 2 * step
        for prev, cur in zip(candles, candles[1:], strict=False):
            assert cur.open_time_ms - prev.open_time_ms == step
            assert cur.open == prev.close
        for c in candles:
            assert c.open_time_ms % step == 0
            assert 0 < c.low <= min(c.open, c.close) <= max(c.open, c.close) <= c.high
            assert c.volume > 0
        assert candles[-1].close == await feed.get_price(s, candles[-1].open_time_ms + step)


async def test_klines_aligned_end_includes_candle_closing_exactly_then() -> None:
    feed = SimulatedFeed()
    candles = await feed.get_klines("ETH", Interval.H1, 3, T0)
    assert candles[-1].open_time_ms == T0 - 3_600_000
    assert [c.open_time_ms for c in candles] == [T0 - k * 3_600_000 for k in (3, 2, 1)]


async def test_unknown_symbol_and_bad_args() -> None:
    feed = SimulatedFeed()
    with pytest.raises(UnknownSymbolError):
        await feed.get_price("NOPE", T0)
    with pytest.raises(ValueError):
        await feed.get_klines("NOPE", Interval.M1, 10, T0)
    with pytest.raises(ValueError, match="limit"):
        await feed.get_klines("BTC", Interval.M1, 0, T0)
    with pytest.raises(ValueError, match="unknown interval"):
        await feed.get_klines("BTC", "7m", 10, T0)  # type: ignore[arg-type]


async def test_custom_symbols() -> None:
    feed = SimulatedFeed(seed=1, symbols=["btc", "XYZ"])
    assert feed.symbols() == ["BTC", "XYZ"]
    assert await feed.get_price("XYZ", T0) > 0
    with pytest.raises(UnknownSymbolError):
        await feed.get_price("ETH", T0)


@pytest.mark.parametrize("seed", [7, 1, 42])
@pytest.mark.parametrize(("interval", "windows"), [(Interval.M1, 7), (Interval.H1, 2)])
async def test_rsi_visits_oversold_and_overbought(
    seed: int, interval: Interval, windows: int
) -> None:
    """Within ~1 day of 1m data / ~2 weeks of 1h data RSI(14) goes below 35 and above 65."""
    feed = SimulatedFeed(seed=seed)
    crossing_windows = 0
    for s in SYMBOLS:
        values: list[float] = []
        for k in range(windows):
            end = T0 - k * 200 * interval.ms
            closes = [c.close for c in await feed.get_klines(s, interval, 200, end)]
            r = rsi(closes)
            values += r
            crossing_windows += min(r) < 35 and max(r) > 65
        assert min(values) < 35 and max(values) > 65, (s, min(values), max(values))
    assert crossing_windows > 0  # some single 200-candle window contains both extremes


async def test_klines_fast() -> None:
    feed = SimulatedFeed()
    start = time.perf_counter()
    for s in SYMBOLS:
        await feed.get_klines(s, Interval.H1, 100, T0)
    assert time.perf_counter() - start < 0.5  # loose; ~10 ms expected
