"""Equity-curve metrics (README "Analytics"; backtesting.md section 8.8): daily returns from the
last point of each UTC day, Sharpe, Sortino, volatility, drawdown, CAGR, and several traders'
curves chained into one. Part of domain/metrics.py, the one metrics module of backtests and
analytics; the same rules: float64 with `math.fsum`, Decimal money, None for undefined.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Context, Decimal

ANNUAL_DAYS = 365  # crypto trades every day: daily ratios annualise with sqrt(365)
WIDE = Context(prec=40)
MONEY = Decimal("1e-10")
# Daily returns whose spread is below this are flat: a Sharpe over float noise is not a ratio.
_FLAT = 1e-15

Equity = Sequence[tuple[datetime, Decimal]]


def utc(t: datetime) -> datetime:
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def _std(xs: Sequence[float]) -> float | None:
    """Sample standard deviation (ddof=1); None under 2 values."""
    if len(xs) < 2:
        return None
    m = math.fsum(xs) / len(xs)
    return math.sqrt(math.fsum((x - m) ** 2 for x in xs) / (len(xs) - 1))


def daily_closes(equity: Equity) -> list[Decimal]:
    """E_0 (the first point) and then the last equity of each UTC day."""
    if not equity:
        return []
    out = [equity[0][1]]
    days: dict[date, Decimal] = {}
    for t, e in equity:
        days[utc(t).date()] = e  # sorted input: the last of each day wins
    return out + list(days.values())


def daily_returns(equity: Equity) -> list[float] | None:
    """d_j = E_j / E_{j-1} - 1 over `daily_closes`; None if an equity is not positive."""
    closes = daily_closes(equity)
    out: list[float] = []
    for prev, cur in zip(closes, closes[1:], strict=False):
        if prev <= 0:
            return None
        out.append(float(WIDE.divide(cur, prev)) - 1.0)
    return out


def sharpe(d: Sequence[float]) -> float | None:
    """mean / std (ddof=1) x sqrt(365), rf = 0; None under 2 days or with a flat series."""
    std = _std(d)
    if std is None or std < _FLAT:
        return None
    return math.fsum(d) / len(d) / std * math.sqrt(ANNUAL_DAYS)


def sortino(d: Sequence[float]) -> float | None:
    """mean / sqrt(sum(min(d, 0)^2) / N) x sqrt(365); None without a negative day (or under 2
    days: as for Sharpe, one day says nothing)."""
    if len(d) < 2 or not any(x < 0 for x in d):
        return None
    down = math.sqrt(math.fsum(min(x, 0.0) ** 2 for x in d) / len(d))
    return math.fsum(d) / len(d) / down * math.sqrt(ANNUAL_DAYS)


def volatility_pct(d: Sequence[float]) -> float | None:
    std = _std(d)
    return None if std is None else std * math.sqrt(ANNUAL_DAYS) * 100


@dataclass(frozen=True)
class Drawdown:
    pct: float | None  # None: no point with a positive peak
    drop: Decimal | None  # peak - trough of that same drawdown
    start: datetime | None  # the peak's time (None: no drawdown)
    end: datetime | None  # the trough's time
    recovery_hours: float | None  # trough -> back at the peak (None: not recovered)


def max_drawdown(equity: Equity) -> Drawdown:
    """The largest fall from a running peak, in % of that peak, on the marked-to-market series."""
    best: tuple[float, Decimal, datetime, datetime, Decimal] | None = None
    peak: tuple[datetime, Decimal] | None = None
    for t, e in equity:
        if peak is None or e > peak[1]:
            peak = (t, e)
        if peak[1] > 0:
            pct = float(WIDE.divide(peak[1] - e, peak[1])) * 100
            if best is None or pct > best[0]:
                best = (pct, peak[1] - e, peak[0], t, peak[1])
    if best is None:
        return Drawdown(None, None, None, None, None)
    pct, drop, start, end, top = best
    if drop == 0:
        return Drawdown(0.0, Decimal(0), None, None, None)
    back = next((t for t, e in equity if t > end and e >= top), None)
    hours = None if back is None else (utc(back) - utc(end)).total_seconds() / 3600
    return Drawdown(pct, drop, utc(start), utc(end), hours)


def cagr_pct(e0: Decimal, e_end: Decimal, days: float) -> float | None:
    """((E_end / E_0)^(365 / days) - 1) x 100; -100 once equity is gone; None if undefined
    (no time, no positive start) or beyond a float."""
    if days <= 0 or e0 <= 0:
        return None
    if e_end <= 0:
        return -100.0
    try:
        growth: float = math.pow(float(WIDE.divide(e_end, e0)), ANNUAL_DAYS / days)
    except OverflowError:
        return None
    return (growth - 1) * 100


def combine(curves: Mapping[int, Equity]) -> list[tuple[datetime, Decimal]]:
    """Several traders' curves as one: at each time, the value moves by the return of the
    traders already present at the previous time. Why chain returns rather than add equities:
    a trader starting mid-period (or a gap in its points) would show as a jump in equity."""
    if len(curves) == 1:
        return list(next(iter(curves.values())))
    points = sorted((utc(t), a, e) for a, curve in curves.items() for t, e in curve)
    out: list[tuple[datetime, Decimal]] = []
    last: dict[int, Decimal] = {}
    i = 0
    while i < len(points):
        t = points[i][0]
        prev = dict(last)
        while i < len(points) and points[i][0] == t:
            last[points[i][1]] = points[i][2]
            i += 1
        if not out:
            value = sum(last.values(), Decimal(0))
        else:
            base = sum(prev.values(), Decimal(0))
            now = sum((last[a] for a in prev), Decimal(0))
            value = out[-1][1]
            value = WIDE.multiply(value, WIDE.divide(now, base)) if base > 0 else value
        out.append((t, value.quantize(MONEY, context=WIDE)))
    return out
