"""Performance metrics of a run: one module for backtests and live analytics
(README "Analytics"; the formulas are the team spec's, backtesting.md section 8.8).

Inputs are an equity series (time, equity) and round trips (`Trip`, the round_trips rows'
fields). Money stays Decimal; ratios are float64 summed with `math.fsum` (the same answer
whatever the order of the terms' rounding) and written as strings of 10 significant digits.
Every undefined value is None (null in JSON): never an infinity, never a sentinel such as
freqtrade's -100. The equity half is in domain/equity_metrics.py.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from domain.equity_metrics import (
    MONEY,
    WIDE,
    Equity,
    cagr_pct,
    daily_returns,
    max_drawdown,
    sharpe,
    sortino,
    utc,
    volatility_pct,
)
from domain.money import plain
from domain.vocabulary import AccountType, PositionSide

RELIABLE_DAYS = 90  # a CAGR over less is marked unreliable (short windows explode it)


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
        return (utc(self.closed_at) - utc(self.opened_at)).total_seconds() / 3600


def _mean(xs: Sequence[float]) -> float | None:
    return math.fsum(xs) / len(xs) if xs else None


def _ratio(num: Decimal, den: Decimal) -> float | None:
    return None if den == 0 else float(WIDE.divide(num, den))


# --- round trips ---------------------------------------------------------------------------


def _return_on_margin(t: Trip) -> float | None:
    if t.leverage is None or t.leverage <= 0 or t.notional <= 0:
        return None  # margin unknown: left out of the mean rather than guessed
    return float(WIDE.divide(t.net_pnl * t.leverage, t.notional)) * 100


def _return_unlevered(t: Trip) -> float | None:
    return None if t.notional <= 0 else float(WIDE.divide(t.net_pnl, t.notional)) * 100


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
    spans = sorted((max(utc(t.opened_at), start), min(utc(t.closed_at), end)) for t in trips)
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
    trips = sorted(trips, key=lambda t: (utc(t.closed_at), utc(t.opened_at)))
    line = trade_line(trips)
    n = line["trades"]
    won = [t for t in trips if t.net_pnl > 0]
    lost = [t for t in trips if t.net_pnl < 0]
    avg_win = sum((t.net_pnl for t in won), Decimal(0)) / len(won) if won else None
    avg_loss = -sum((t.net_pnl for t in lost), Decimal(0)) / len(lost) if lost else None
    ratio = None
    if avg_loss is not None and n:
        ratio = (1 + float(WIDE.divide(avg_win or Decimal(0), avg_loss))) * len(won) / n - 1
    unlevered = [r for r in map(_return_unlevered, trips) if r is not None]
    wins_run, losses_run = _streaks(trips)
    longs = [t for t in trips if t.side == PositionSide.LONG]
    shorts = [t for t in trips if t.side == PositionSide.SHORT]
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
        "expectancy": WIDE.divide(line["total_pnl"], n).quantize(MONEY, context=WIDE)
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
    first = utc(start) if start else (utc(equity[0][0]) if equity else None)
    last = utc(end) if end else (utc(equity[-1][0]) if equity else None)
    days = (last - first).total_seconds() / 86400 if first and last else 0.0
    e0 = equity[0][1] if equity else None
    e_end = equity[-1][1] if equity else None
    curve_days = (utc(equity[-1][0]) - utc(equity[0][0])).total_seconds() / 86400 if equity else 0.0
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
    monday = utc(t).date() - timedelta(days=utc(t).weekday())
    return monday.isoformat()


PERIODS: dict[str, Callable[[datetime], str]] = {
    "day": lambda t: utc(t).date().isoformat(),
    "week": _week,  # the Monday (UTC) the ISO week starts on
    "month": lambda t: utc(t).strftime("%Y-%m"),
}


def by_period(period: str) -> Callable[[Trip], str]:
    """A trip's period by the UTC time it closed."""
    key = PERIODS[period]
    return lambda t: key(t.closed_at)


def strategy_of(t: Trip) -> tuple[str | None, int | None]:
    if t.program_id is not None:
        return (AccountType.PROGRAM.value, t.program_id)
    if t.prompt_id is not None:
        return (AccountType.PROMPT.value, t.prompt_id)
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
            out[k] = utc(v).isoformat()
        else:
            raise TypeError(f"{k}: {type(v).__name__}")
    return out
