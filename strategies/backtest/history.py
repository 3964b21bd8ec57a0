"""A run's market history in memory, read point in time (backtesting.md section 8.3).

`load_history` reads the stored candles (one `ORDER BY open_time_ms` query per symbol and
interval) and funding rates once; the engine and the deciders then only slice lists.

Which stored source a symbol's candles come from: the candles table is keyed by source
(`import` for uploads, the venue's name for backfills and the live feed's cache). Per symbol,
the source holding the most candles of the run's decision interval over the run's range
(warm-up included) is used, ties broken by name; every interval of that symbol is read from
that same source, so a run never splices two venues' prices. Funding rates come from the
candle source when it holds any for the symbol, else from the source holding the most.

Point in time at decision time t, for every interval iv shown: the candles whose close time
(`open_time_ms + iv.ms`, the live feed's predicate) is <= t and > t - 100 x iv.ms, oldest first:
with contiguous data exactly live's "last 100 closed candles", and never stale candles when a
series stops. The price at t is the close of the last closed 1m candle (within a minute of t),
else the close of the decision bar ending at t. A funding rate is seen once settled
(`funding_time_ms <= t`).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from adapters.market.rows import Row, to_rows
from adapters.market.snapshot import SNAPSHOT_CANDLES, SNAPSHOT_INTERVALS
from db.market_history import FundingRateRecord
from db.models import CandleRecord
from domain.factors import HISTORY_SAMPLES
from domain.market import Candle, Interval
from strategies.backtest.contract import BacktestConfig, CoverageError

M1 = Interval.M1
FUNDING_LOOKBACK_MS = 30 * 86_400_000  # funding_history of the first decisions


def first_close(config: BacktestConfig) -> int:
    """The first decision time: the first bar close >= start_ms."""
    step = config.interval.ms
    return -(-config.start_ms // step) * step


def last_close(config: BacktestConfig) -> int:
    step = config.interval.ms
    return config.end_ms // step * step


def snapshot_intervals(interval: Interval) -> tuple[Interval, ...]:
    """Live's snapshot intervals, plus the run's own when it is longer (4h, 1d)."""
    if interval in SNAPSHOT_INTERVALS:
        return SNAPSHOT_INTERVALS
    return (*SNAPSHOT_INTERVALS, interval)


@dataclass
class Series:
    """One symbol's candles of one interval, oldest first, with their rows built once."""

    interval: Interval
    candles: list[Candle]
    open_times: list[int] = field(init=False)
    close_times: list[int] = field(init=False)
    rows: list[Row] = field(init=False)
    by_open: dict[int, int] = field(init=False)

    def __post_init__(self) -> None:
        self.open_times = [c.open_time_ms for c in self.candles]
        self.close_times = [t + self.interval.ms for t in self.open_times]
        self.rows = to_rows(self.candles)
        self.by_open = {t: i for i, t in enumerate(self.open_times)}

    def window(self, t: int, depth: int = SNAPSHOT_CANDLES) -> tuple[int, int]:
        """[lo, hi) indexes of the candles closed at t within `depth` intervals."""
        hi = bisect_right(self.close_times, t)
        lo = bisect_right(self.close_times, t - depth * self.interval.ms, 0, hi)
        return lo, hi

    def at_open(self, open_ms: int) -> Candle | None:
        i = self.by_open.get(open_ms)
        return None if i is None else self.candles[i]

    def between(self, lo_ms: int, hi_ms: int) -> list[Candle]:
        """The candles opening in [lo_ms, hi_ms)."""
        return self.candles[
            bisect_left(self.open_times, lo_ms) : bisect_left(self.open_times, hi_ms)
        ]


@dataclass
class MarketHistory:
    config: BacktestConfig
    series: dict[tuple[str, Interval], Series]
    funding: dict[str, list[tuple[int, Decimal]]]  # per symbol, (time, rate) oldest first
    sources: dict[str, str]  # the candle source read per symbol
    gaps: set[int] = field(default_factory=set)  # decision bar opens without data (allow_gaps)
    warnings: list[str] = field(default_factory=list)
    _funding_times: dict[str, list[int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._funding_times = {s: [t for t, _ in r] for s, r in self.funding.items()}

    @property
    def symbols(self) -> list[str]:
        return list(self.config.symbols)

    @property
    def intervals(self) -> tuple[Interval, ...]:
        return snapshot_intervals(self.config.interval)

    def get(self, symbol: str, interval: Interval) -> Series | None:
        return self.series.get((symbol, interval))

    # --- what a decider that holds the candles itself slices (keep these two) ---------------

    def kline_rows(self, symbol: str, interval: Interval | str) -> list[Row]:
        """Every stored row of (symbol, interval), oldest first, in adapters/market/rows.py's
        format, built once; never mutate them."""
        one = self.get(symbol, Interval(interval))
        return one.rows if one is not None else []

    def close_times(self, symbol: str, interval: Interval | str) -> list[int]:
        """The close times of `kline_rows`' rows: rows[bisect_right(close_times, t) - 100 : that]
        are the 100 last closed at t (see `window` for the exact rule)."""
        one = self.get(symbol, Interval(interval))
        return one.close_times if one is not None else []

    # --- point in time ---------------------------------------------------------------------

    def klines_at(self, symbol: str, interval: Interval, t: int) -> list[Row]:
        one = self.get(symbol, interval)
        if one is None:
            return []
        lo, hi = one.window(t)
        return one.rows[lo:hi]

    def candles_at(self, symbol: str, interval: Interval, t: int, limit: int) -> list[Candle]:
        one = self.get(symbol, interval)
        if one is None:
            return []
        lo, hi = one.window(t, min(limit, SNAPSHOT_CANDLES))
        return one.candles[max(lo, hi - limit) : hi]

    def bar(self, symbol: str, open_ms: int) -> Candle | None:
        """The decision-interval candle opening at `open_ms`."""
        one = self.get(symbol, self.config.interval)
        return None if one is None else one.at_open(open_ms)

    def minutes(self, symbol: str, open_ms: int, close_ms: int) -> list[Candle]:
        one = self.get(symbol, M1)
        return [] if one is None else one.between(open_ms, close_ms)

    def price(self, symbol: str, t: int) -> Decimal | None:
        """Close of the last closed 1m candle (closed within the minute before t), else of the
        decision bar closing at t."""
        one = self.get(symbol, M1)
        if one is not None:
            i = bisect_right(one.close_times, t)
            if i and one.close_times[i - 1] > t - M1.ms:
                return one.candles[i - 1].close
        bar = self.bar(symbol, t - self.config.interval.ms)
        return None if bar is None else bar.close

    def mark_at(self, symbol: str, f: int) -> Decimal | None:
        """The mark of a funding settlement at f: the open of the candle starting at f (1m, then
        the decision interval), else the close of the last candle closed at or before f."""
        for iv in (M1, self.config.interval):
            one = self.get(symbol, iv)
            candle = None if one is None else one.at_open(f)
            if candle is not None:
                return candle.open
        for iv in (M1, self.config.interval):
            one = self.get(symbol, iv)
            if one is not None:
                i = bisect_right(one.close_times, f)
                if i:
                    return one.candles[i - 1].close
        return None

    def funding_between(self, symbol: str, lo: int, hi: int) -> list[tuple[int, Decimal]]:
        """Settlements with lo < time <= hi, oldest first."""
        times = self._funding_times.get(symbol, [])
        rates = self.funding.get(symbol, [])
        return rates[bisect_right(times, lo) : bisect_right(times, hi)]

    def funding_seen(self, symbol: str, t: int, n: int = HISTORY_SAMPLES) -> list[Decimal]:
        """The last `n` rates settled at or before t, oldest first."""
        times = self._funding_times.get(symbol, [])
        hi = bisect_right(times, t)
        return [r for _, r in self.funding.get(symbol, [])[max(0, hi - n) : hi]]


def _candle(r: CandleRecord) -> Candle:
    return Candle(
        r.open_time_ms,
        Decimal(r.open),
        Decimal(r.high),
        Decimal(r.low),
        Decimal(r.close),
        Decimal(r.volume),
    )


async def _pick_source(
    s: AsyncSession, symbol: str, interval: Interval, lo: int, hi: int
) -> str | None:
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


async def _series(
    s: AsyncSession, source: str, symbol: str, iv: Interval, lo: int, hi: int
) -> list[Candle]:
    c = CandleRecord
    rows = await s.scalars(
        select(c)
        .where(
            c.source == source,
            c.symbol == symbol,
            c.interval == iv.value,
            c.open_time_ms >= lo,
            c.open_time_ms < hi,
        )
        .order_by(c.open_time_ms)
    )
    return [_candle(r) for r in rows]


async def _funding(
    s: AsyncSession, symbol: str, preferred: str | None, lo: int, hi: int
) -> list[tuple[int, Decimal]]:
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


def missing_ranges(
    symbol: str, interval: Interval, have: set[int], lo: int, hi: int
) -> list[tuple[str, str, int, int]]:
    """The half-open [from_ms, to_ms) time ranges of the expected opens lo, lo + step, ... < hi
    without a candle (the ranges a backfill request takes as start and end)."""
    out: list[tuple[str, str, int, int]] = []
    step, start = interval.ms, None
    for t in range(lo, hi, step):
        if t not in have and start is None:
            start = t
        elif t in have and start is not None:
            out.append((symbol, interval.value, start, t))
            start = None
    if start is not None:
        out.append((symbol, interval.value, start, hi))
    return out


async def load_history(
    sessions: async_sessionmaker[AsyncSession], config: BacktestConfig
) -> MarketHistory:
    """The run's candles and funding rates; CoverageError listing the decision interval's
    missing ranges over [first close - 100 bars, last close] unless `config.allow_gaps` (then
    the bars without data are listed in `gaps` and skipped by the engine)."""
    iv = config.interval
    c0, ck = first_close(config), last_close(config)
    if ck < c0:
        raise ValueError("the range holds no bar close")
    warm_lo = c0 - SNAPSHOT_CANDLES * iv.ms
    series: dict[tuple[str, Interval], Series] = {}
    funding: dict[str, list[tuple[int, Decimal]]] = {}
    sources: dict[str, str] = {}
    missing: list[tuple[str, str, int, int]] = []
    gaps: set[int] = set()
    warnings: list[str] = []
    async with sessions() as s:
        for symbol in config.symbols:
            source = await _pick_source(s, symbol, iv, warm_lo, ck)
            if source is not None:
                sources[symbol] = source
            for one in snapshot_intervals(iv) if source is not None else ():
                assert source is not None
                lo = min(c0 - iv.ms - one.ms, c0 - (SNAPSHOT_CANDLES + 1) * one.ms)
                candles = await _series(s, source, symbol, one, lo, ck)
                if candles:
                    series[(symbol, one)] = Series(one, candles)
                elif one != iv:
                    warnings.append(f"no stored {one.value} candles for {symbol}: none shown")
            have = set(series[(symbol, iv)].by_open) if (symbol, iv) in series else set()
            holes = missing_ranges(symbol, iv, have, warm_lo, ck)
            missing += holes
            gaps |= {t for _, _, a, b in holes for t in range(max(a, c0 - iv.ms), b, iv.ms)}
            if config.funding:
                funding[symbol] = await _funding(s, symbol, source, c0 - FUNDING_LOOKBACK_MS, ck)
    if missing and not config.allow_gaps:
        raise CoverageError(missing)
    return MarketHistory(config, series, funding, sources, gaps, warnings)
