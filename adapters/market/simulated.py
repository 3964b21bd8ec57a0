"""Deterministic synthetic market: price(symbol, t) is a pure function of (seed, symbol, t).

log(price / base) = vol * (sum of seeded sinusoids, periods from ~half an hour to ~two weeks
+ per-minute hash noise, linearly interpolated). No cumulative state, so any point or candle
costs O(1) and every process with the same seed sees identical prices. Seeds are derived
with hashlib (stable across processes, unlike hash()); per-minute noise uses a splitmix64
mixer keyed from that digest. The feed never reads the clock: callers pass times in.
"""

from __future__ import annotations

import hashlib
import math
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, Decimal

from adapters.market.feed import UnknownSymbolError
from domain.market import Candle, Interval, parse_interval
from domain.vocabulary import MarketSource

DEFAULT_SYMBOLS = ("BTC", "ETH", "SOL", "ARB", "DOGE")
# base price, volatility multiplier, traded USD per minute (for volume)
_PROFILES: dict[str, tuple[str, float, float]] = {
    "BTC": ("65000", 1.0, 3_000_000.0),
    "ETH": ("3200", 1.25, 1_500_000.0),
    "SOL": ("150", 1.6, 600_000.0),
    "ARB": ("0.8", 1.9, 100_000.0),
    "DOGE": ("0.15", 2.0, 300_000.0),
}
# (min period, max period) in minutes, (min amp, max amp) in log units, number of waves
_BANDS = (
    ((4320.0, 20160.0), (0.03, 0.07), 2),  # 3-14 days: trends / regimes
    ((480.0, 2880.0), (0.012, 0.025), 3),  # 8h-2d: swings visible on 1h candles
    ((30.0, 240.0), (0.0015, 0.003), 3),  # 30m-4h: swings visible on 1m candles
)
_NOISE = 0.0009  # per-minute noise amplitude (log units, before vol multiplier)
_SUBSTEPS = 6  # sampled sub-points per candle for high/low
_MASK = (1 << 64) - 1
_MAX_LIMIT = 5000
_CACHE_ENTRIES = 256  # (symbol, interval, window) results kept; closed candles never change


def _digest(*parts: object) -> int:
    raw = ":".join(str(p) for p in parts).encode()
    return int.from_bytes(hashlib.sha256(raw).digest()[:8], "big")


def _mix(x: int) -> int:
    """splitmix64 finaliser: a stable, fast 64-bit integer hash."""
    x = (x + 0x9E3779B97F4A7C15) & _MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    return x ^ (x >> 31)


def _unit(x: int) -> float:
    return (x >> 11) / float(1 << 53)  # [0, 1)


@dataclass(frozen=True)
class _Model:
    base: float
    vol: float
    usd_per_min: float
    tick: Decimal
    key: int
    waves: tuple[tuple[float, float, float], ...]  # (omega rad/min, amplitude, phase)

    def log_dev(self, t_ms: int) -> float:
        m = t_ms / 60000.0
        x = 0.0
        for omega, amp, phase in self.waves:
            x += amp * math.sin(omega * m + phase)
        k = math.floor(m)
        f = m - k
        n0 = _unit(_mix(self.key ^ (k & _MASK))) * 2.0 - 1.0
        n1 = _unit(_mix(self.key ^ ((k + 1) & _MASK))) * 2.0 - 1.0
        return self.vol * (x + _NOISE * (n0 + f * (n1 - n0)))

    def price(self, t_ms: int) -> float:
        return self.base * math.exp(self.log_dev(t_ms))

    def q(self, x: float, rounding: str = ROUND_HALF_EVEN) -> Decimal:
        return max(Decimal(x).quantize(self.tick, rounding=rounding), self.tick)


def _build_model(seed: int, symbol: str) -> _Model:
    if symbol in _PROFILES:
        base_s, vol, usd = _PROFILES[symbol]
        base = Decimal(base_s)
    else:  # unknown names get a seeded base between 0.1 and 1000
        base = Decimal(f"{10 ** (_unit(_digest(seed, symbol, 'base')) * 4 - 1):.6g}")
        vol, usd = 1.5, 200_000.0
    tick = Decimal(1).scaleb(max(base.adjusted() - 5, -8))  # ~6 significant digits
    waves = []
    for b, ((p_lo, p_hi), (a_lo, a_hi), count) in enumerate(_BANDS):
        for i in range(count):
            u = [_unit(_digest(seed, symbol, b, i, part)) for part in ("p", "a", "ph")]
            period = p_lo * (p_hi / p_lo) ** u[0]  # log-uniform period
            waves.append((2 * math.pi / period, a_lo + (a_hi - a_lo) * u[1], 2 * math.pi * u[2]))
    return _Model(float(base), vol, usd, tick, _digest(seed, symbol, "noise"), tuple(waves))


class SimulatedFeed:
    """MarketFeed with synthetic, reproducible prices for backtests, demos and tests."""

    name = MarketSource.SIMULATED.value  # plain text: it goes into messages and reprs

    def __init__(self, seed: int = 7, symbols: Iterable[str] = DEFAULT_SYMBOLS) -> None:
        self.seed = seed
        self._symbols = [s.strip().upper() for s in symbols]
        self._models = {s: _build_model(seed, s) for s in self._symbols}
        # Why a cache: every trader deciding within the same minute asks for the same closed
        # candles; computing them is ~7 sinusoid sums per sub-point, the largest worker cost.
        self._windows: OrderedDict[tuple[int, int, int, int], tuple[Candle, ...]] = OrderedDict()

    def symbols(self) -> list[str]:
        return list(self._symbols)

    def _model(self, symbol: str) -> _Model:
        model = self._models.get(symbol.strip().upper()) if isinstance(symbol, str) else None
        if model is None:
            raise UnknownSymbolError(symbol, self.name)
        return model

    def price(self, symbol: str, at_ms: int) -> Decimal:
        """Synchronous price at epoch ms `at_ms` (quantised to the symbol's tick)."""
        model = self._model(symbol)
        return model.q(model.price(int(at_ms)))

    def klines(
        self, symbol: str, interval: Interval | str, limit: int, end_ms: int
    ) -> list[Candle]:
        """Synchronous get_klines: `limit` closed candles with close time <= end_ms."""
        model = self._model(symbol)
        iv = parse_interval(interval)
        if not isinstance(limit, int) or not 1 <= limit <= _MAX_LIMIT:
            raise ValueError(f"limit must be an int in 1..{_MAX_LIMIT}, got {limit!r}")
        step = iv.ms
        first_open = (int(end_ms) // step) * step - limit * step
        key = (id(model), step, first_open, limit)
        hit = self._windows.get(key)
        if hit is not None:
            self._windows.move_to_end(key)
            return list(hit)
        candles = self._compute(model, step, first_open, limit)
        self._windows[key] = tuple(candles)
        if len(self._windows) > _CACHE_ENTRIES:
            self._windows.popitem(last=False)
        return candles

    @staticmethod
    def _compute(model: _Model, step: int, first_open: int, limit: int) -> list[Candle]:
        sub = step // _SUBSTEPS
        pts = [model.price(first_open + j * sub) for j in range(limit * _SUBSTEPS + 1)]
        minutes = step / 60000.0
        wick_scale = 0.0003 * model.vol * min(4.0, math.sqrt(minutes))
        candles = []
        for c in range(limit):
            open_ms = first_open + c * step
            seg = pts[c * _SUBSTEPS : (c + 1) * _SUBSTEPS + 1]
            o, cl = seg[0], seg[-1]
            h_key = _mix(model.key ^ _mix(open_ms ^ (step << 20)))
            wick_hi, wick_lo = _unit(h_key) * wick_scale, _unit(_mix(h_key)) * wick_scale
            hi, lo = max(seg) * (1 + wick_hi), min(seg) * (1 - wick_lo)
            v_key = _mix(h_key ^ 0xA5A5A5A5)
            spike = 3.0 + 5.0 * _unit(_mix(v_key)) if _unit(v_key) < 0.05 else 1.0
            move = 1.0 + 50.0 * abs(math.log(cl / o))
            usd = model.usd_per_min * minutes * (0.4 + _unit(_mix(v_key ^ 1))) * spike * move
            volume = max(Decimal(usd / cl).quantize(Decimal("0.001")), Decimal("0.001"))
            candles.append(
                Candle(
                    open_ms,
                    model.q(o),
                    model.q(hi, ROUND_CEILING),
                    model.q(lo, ROUND_FLOOR),
                    model.q(cl),
                    volume,
                )
            )
        return candles

    async def get_price(self, symbol: str, at_ms: int) -> Decimal:
        return self.price(symbol, at_ms)

    async def get_klines(
        self, symbol: str, interval: Interval, limit: int, end_ms: int
    ) -> list[Candle]:
        return self.klines(symbol, interval, limit, end_ms)
