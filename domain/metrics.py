"""Performance metrics of a run: one module for backtests and live analytics
(README "Analytics"; the formulas are the team spec's, backtesting.md section 8.8).

Inputs are an equity series (time, equity) and round trips (`Trip`, the round_trips rows'
fields). Money stays Decimal; ratios are float64 summed with `math.fsum` (the same answer
whatever the order of the terms' rounding) and written as strings of 10 significant digits.
Every undefined value is None (null in JSON): never an infinity, never a sentinel such as
freqtrade's -100.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Context, Decimal
from typing import Any

from domain.money import plain

ANNUAL_DAYS = 365  # crypto trades every day: daily ratios annualise with sqrt(365)
RELIABLE_DAYS = 90  # a CAGR over less is marked unreliable (short windows explode it)
_WIDE = Context(prec=40)
_MONEY = Decimal("1e-10")
# Daily returns whose spread is below this are flat: a Sharpe over float noise is not a ratio.
_FLAT = 1e-15

Equity = Sequence[tuple[datetime, Decimal]]


@dataclass(frozen=True)
class Trip:
    """A round trip as far as metrics need it (db round_trips row, or a backtest trade)."""

    symbol: str
    side: str  # long | short
    opened_at: datetime
    closed_at: datetime
    notional: Decimal
    leverage: Decimal | None
    fees: Decimal
    funding: Decimal
    net_pnl: Decimal
    exit_reason: str
    trigger_type: str | None = None
    program_id: int | None = None
    prompt_id: int | None = None
    account_id: int | None = None

    @property
    def hours(self) -> float:
        return (_utc(self.closed_at) - _utc(self.opened_at)).total_seconds() / 3600


def _utc(t: datetime) -> datetime:
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def _mean(xs: Sequence[float]) -> float | None:
    return math.fsum(xs) / len(xs) if xs else None


def _std(xs: Sequence[float]) -> float | None:
    """Sample standard deviation (ddof=1); None under 2 values."""
    if len(xs) < 2:
        return None
    m = math.fsum(xs) / len(xs)
    return math.sqrt(math.fsum((x - m) ** 2 for x in xs) / (len(xs) - 1))


def _ratio(num: Decimal, den: Decimal) -> float | None:
    return None if den == 0 else float(_WIDE.divide(num, den))


# --- equity ------------------------------------------------------------------------------


def daily_closes(equity: Equity) -> list[Decimal]:
    """E_0 (the first point) and then the last equity of each UTC day."""
    if not equity:
        return []
    out = [equity[0][1]]
    days: dict[date, Decimal] = {}
    for t, e in equity:
        days[_utc(t).date()] = e  # sorted input: the last of each day wins
    return out + list(days.values())


def daily_returns(equity: Equity) -> list[float] | None:
    """d_j = E_j / E_{j-1} - 1 over `daily_closes`; None if an equity is not positive."""
    closes = daily_closes(equity)
    out: list[float] = []
    for prev, cur in zip(closes, closes[1:], strict=False):
        if prev <= 0:
            return None
        out.append(float(_WIDE.divide(cur, prev)) - 1.0)
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
            pct = float(_WIDE.divide(peak[1] - e, peak[1])) * 100
            if best is None or pct > best[0]:
                best = (pct, peak[1] - e, peak[0], t, peak[1])
    if best is None:
        return Drawdown(None, None, None, None, None)
    pct, drop, start, end, top = best
    if drop == 0:
        return Drawdown(0.0, Decimal(0), None, None, None)
    back = next((t for t, e in equity if t > end and e >= top), None)
    hours = None if back is None else (_utc(back) - _utc(end)).total_seconds() / 3600
    return Drawdown(pct, drop, _utc(start), _utc(end), hours)


def cagr_pct(e0: Decimal, e_end: Decimal, days: float) -> float | None:
    """((E_end / E_0)^(365 / days) - 1) x 100; -100 once equity is gone; None if undefined
    (no time, no positive start) or beyond a float."""
    if days <= 0 or e0 <= 0:
        return None
    if e_end <= 0:
        return -100.0
    try:
        growth: float = math.pow(float(_WIDE.divide(e_end, e0)), ANNUAL_DAYS / days)
    except OverflowError:
        return None
    return (growth - 1) * 100


def combine(curves: Mapping[int, Equity]) -> list[tuple[datetime, Decimal]]:
    """Several traders' curves as one: at each time, the value moves by the return of the
    traders already present at the previous time. Why chain returns rather than add equities:
    a trader starting mid-period (or a gap in its points) would show as a jump in equity."""
    if len(curves) == 1:
        return list(next(iter(curves.values())))
    points = sorted((_utc(t), a, e) for a, curve in curves.items() for t, e in curve)
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
            value = _WIDE.multiply(value, _WIDE.divide(now, base)) if base > 0 else value
        out.append((t, value.quantize(_MONEY, context=_WIDE)))
    return out


# --- round trips ---------------------------------------------------------------------------


def _return_on_margin(t: Trip) -> float | None:
    if t.leverage is None or t.leverage <= 0 or t.notional <= 0:
        return None  # margin unknown: left out of the mean rather than guessed
    return float(_WIDE.divide(t.net_pnl * t.leverage, t.notional)) * 100


def _return_unlevered(t: Trip) -> float | None:
    return None if t.notional <= 0 else float(_WIDE.divide(t.net_pnl, t.notional)) * 100


def _streaks(trips: Sequence[Trip]) -> tuple[int, int]:
    wins = losses = run_w = run_l = 0
    for t in trips:
        run_w = run_w + 1 if t.net_pnl > 0 else 0
        run_l = run_l + 1 if t.net_pnl < 0 else 0
        wins, losses = max(wins, run_w), max(losses, run_l)
    return wins, losses


def _exposure_pct(trips: Sequence[Trip], start: datetime, end: datetime) -> float | None:
    """Share of the period with at least one position open, from the round trips."""
    span = (end - start).total_seconds()
    if span <= 0:
        return None
    covered, reach = 0.0, start
    spans = sorted((max(_utc(t.opened_at), start), min(_utc(t.closed_at), end)) for t in trips)
    for opened, closed in spans:
        begin = max(opened, reach)
        if closed > begin:
            covered += (closed - begin).total_seconds()
            reach = closed
    return covered / span * 100


def trade_line(trips: Sequence[Trip]) -> dict[str, Any]:
    """The breakdown line: counts, win rate, PnL, average return, profit factor, duration."""
    n = len(trips)
    won = [t for t in trips if t.net_pnl > 0]
    lost = [t for t in trips if t.net_pnl < 0]
    gains = sum((t.net_pnl for t in won), Decimal(0))
    pains = -sum((t.net_pnl for t in lost), Decimal(0))
    on_margin = [r for r in map(_return_on_margin, trips) if r is not None]
    return {
        "trades": n,
        "wins": len(won),
        "draws": n - len(won) - len(lost),
        "losses": len(lost),
        "win_rate": len(won) / n if n else None,
        "total_pnl": sum((t.net_pnl for t in trips), Decimal(0)),
        "avg_return_pct": _mean(on_margin),
        "profit_factor": _ratio(gains, pains) if lost else None,
        "avg_duration_hours": _mean([t.hours for t in trips]),
        "total_fees": sum((t.fees for t in trips), Decimal(0)),
        "total_funding": sum((t.funding for t in trips), Decimal(0)),
    }


def trade_metrics(trips: Sequence[Trip]) -> dict[str, Any]:
    """Everything the round trips alone give (the summary's trade half)."""
    trips = sorted(trips, key=lambda t: (_utc(t.closed_at), _utc(t.opened_at)))
    line = trade_line(trips)
    n = line["trades"]
    won = [t for t in trips if t.net_pnl > 0]
    lost = [t for t in trips if t.net_pnl < 0]
    avg_win = sum((t.net_pnl for t in won), Decimal(0)) / len(won) if won else None
    avg_loss = -sum((t.net_pnl for t in lost), Decimal(0)) / len(lost) if lost else None
    ratio = None
    if avg_loss is not None and n:
        ratio = (1 + float(_WIDE.divide(avg_win or Decimal(0), avg_loss))) * len(won) / n - 1
    unlevered = [r for r in map(_return_unlevered, trips) if r is not None]
    wins_run, losses_run = _streaks(trips)
    longs = [t for t in trips if t.side == "long"]
    shorts = [t for t in trips if t.side == "short"]
    return {
        "total_pnl": line["total_pnl"],
        "total_trades": n,
        "wins": line["wins"],
        "draws": line["draws"],
        "losses": line["losses"],
        "win_rate": line["win_rate"],
        "avg_trade_duration_hours": line["avg_duration_hours"],
        "avg_win_duration_hours": _mean([t.hours for t in won]),
        "avg_loss_duration_hours": _mean([t.hours for t in lost]),
        "best_trade_pnl": max((t.net_pnl for t in trips), default=None),
        "worst_trade_pnl": min((t.net_pnl for t in trips), default=None),
        "avg_return_pct": line["avg_return_pct"],
        "avg_return_pct_unlevered": _mean(unlevered),
        "profit_factor": line["profit_factor"],
        # = win_rate * avg_win - loss_rate * avg_loss, which is the mean net PnL
        "expectancy": _WIDE.divide(line["total_pnl"], n).quantize(_MONEY, context=_WIDE)
        if n
        else None,
        "expectancy_ratio": ratio,
        "max_consecutive_wins": wins_run,
        "max_consecutive_losses": losses_run,
        "total_fees": line["total_fees"],
        "total_funding": line["total_funding"],
        "long_trades": len(longs),
        "short_trades": len(shorts),
        "long_pnl": sum((t.net_pnl for t in longs), Decimal(0)),
        "short_pnl": sum((t.net_pnl for t in shorts), Decimal(0)),
    }


def summary(
    trips: Sequence[Trip],
    equity: Equity,
    start: datetime | None = None,
    end: datetime | None = None,
) -> dict[str, Any]:
    """The full metrics of a period: the round trips closed in it and the equity series over
    it (sorted by time). `start`/`end` default to the equity series' first and last times."""
    out = trade_metrics(trips)
    first = _utc(start) if start else (_utc(equity[0][0]) if equity else None)
    last = _utc(end) if end else (_utc(equity[-1][0]) if equity else None)
    days = (last - first).total_seconds() / 86400 if first and last else 0.0
    e0 = equity[0][1] if equity else None
    e_end = equity[-1][1] if equity else None
    curve_days = (
        (_utc(equity[-1][0]) - _utc(equity[0][0])).total_seconds() / 86400 if equity else 0.0
    )
    d = daily_returns(equity) or []
    dd = max_drawdown(equity)
    cagr = cagr_pct(e0, e_end, curve_days) if e0 is not None and e_end is not None else None
    out.update(
        total_return_pct=_ratio(out["total_pnl"] * 100, e0) if e0 and e0 > 0 else None,
        equity_start=e0,
        equity_end=e_end,
        equity_change=None if e0 is None or e_end is None else e_end - e0,
        sharpe_ratio=sharpe(d),
        sortino_ratio=sortino(d),
        volatility_annualized_pct=volatility_pct(d),
        max_drawdown_pct=dd.pct,
        max_drawdown_abs=dd.drop,
        drawdown_start=dd.start,
        drawdown_end=dd.end,
        recovery_time_hours=dd.recovery_hours,
        cagr_pct=cagr,
        annualized_reliable=curve_days >= RELIABLE_DAYS,
        calmar_ratio=cagr / dd.pct if cagr is not None and dd.pct else None,
        exposure_pct=_exposure_pct(trips, first, last) if first and last else None,
        trades_per_day=out["total_trades"] / days if days > 0 else None,
        period_start=first,
        period_end=last,
        equity_points=len(equity),
        trading_days=len(d),
    )
    return out


# --- breakdowns ----------------------------------------------------------------------------


def _week(t: datetime) -> str:
    monday = _utc(t).date() - timedelta(days=_utc(t).weekday())
    return monday.isoformat()


PERIODS: dict[str, Callable[[datetime], str]] = {
    "day": lambda t: _utc(t).date().isoformat(),
    "week": _week,  # the Monday (UTC) the ISO week starts on
    "month": lambda t: _utc(t).strftime("%Y-%m"),
}


def by_period(period: str) -> Callable[[Trip], str]:
    """A trip's period by the UTC time it closed."""
    key = PERIODS[period]
    return lambda t: key(t.closed_at)


def strategy_of(t: Trip) -> tuple[str | None, int | None]:
    if t.program_id is not None:
        return ("program", t.program_id)
    if t.prompt_id is not None:
        return ("prompt", t.prompt_id)
    return (None, None)  # no strategy behind it: manual orders, reconciliation


def breakdown(
    trips: Iterable[Trip], key: Callable[[Trip], Any]
) -> list[tuple[Any, dict[str, Any]]]:
    """`trade_line` of each group of `trips` by `key`, in the order of the keys (None last)."""
    groups: dict[Any, list[Trip]] = {}
    for t in trips:
        groups.setdefault(key(t), []).append(t)
    order = sorted(groups, key=lambda k: (k is None, str(k)))
    return [(k, trade_line(groups[k])) for k in order]


# --- JSON ----------------------------------------------------------------------------------


def ratio_text(x: float | None) -> str | None:
    """A ratio as 10 significant digits, plainly written ("1.5", "0.00012"); None stays."""
    if x is None or not math.isfinite(x):
        return None
    return plain(Decimal(f"{x:.10g}"))


def as_json(values: Mapping[str, Any]) -> dict[str, Any]:
    """Money as plain decimal strings, ratios as 10-digit strings, times ISO 8601 UTC."""
    out: dict[str, Any] = {}
    for k, v in values.items():
        if v is None or isinstance(v, bool | int | str):
            out[k] = v
        elif isinstance(v, Decimal):
            out[k] = plain(v)
        elif isinstance(v, float):
            out[k] = ratio_text(v)
        elif isinstance(v, datetime):
            out[k] = _utc(v).isoformat()
        else:
            raise TypeError(f"{k}: {type(v).__name__}")
    return out
