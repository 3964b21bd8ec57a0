"""domain/equity_metrics.py (through domain/metrics.summary) over an equity series: daily
returns from the last point of each UTC day, Sharpe, Sortino, volatility, drawdown, CAGR and
Calmar against figures worked out by hand, the undefined cases (one day, flat equity, no equity)
as None, and several traders' curves chained."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from domain import equity_metrics, metrics

T0 = datetime(2026, 12, 1, tzinfo=UTC)
D = Decimal


def at(day: int, hour: int) -> datetime:
    return T0 + timedelta(days=day, hours=hour)


# Day 1 closes at 1050 (a high of 1100 at noon), day 2 dips to 900 and closes at 990, day 3
# gets back to 1100 at noon.
EQUITY = [
    (at(0, 0), D(1000)),
    (at(0, 12), D(1100)),
    (at(0, 23), D(1050)),
    (at(1, 10), D(900)),
    (at(1, 20), D(990)),
    (at(2, 12), D(1100)),
]
DAILY = [1050 / 1000 - 1, 990 / 1050 - 1, 1100 / 990 - 1]


def test_daily_returns_use_the_first_point_then_each_days_last() -> None:
    assert equity_metrics.daily_closes(EQUITY) == [D(1000), D(1050), D(990), D(1100)]
    assert equity_metrics.daily_returns(EQUITY) == pytest.approx(DAILY, rel=1e-15)


def test_sharpe_sortino_volatility() -> None:
    mean = sum(DAILY) / 3
    std = math.sqrt(sum((d - mean) ** 2 for d in DAILY) / 2)
    down = math.sqrt(DAILY[1] ** 2 / 3)  # one negative day, over all three
    m = metrics.summary([], EQUITY)
    assert m["sharpe_ratio"] == pytest.approx(mean / std * math.sqrt(365), rel=1e-12)
    assert m["sortino_ratio"] == pytest.approx(mean / down * math.sqrt(365), rel=1e-12)
    assert m["volatility_annualized_pct"] == pytest.approx(std * math.sqrt(365) * 100, rel=1e-12)
    assert m["trading_days"] == 3 and m["equity_points"] == 6


def test_max_drawdown_is_on_the_marked_series_with_its_recovery() -> None:
    """From the 1100 peak (day 1 noon) to 900 (day 2 10:00): 200 / 1100; back at 1100 26 h
    after the trough."""
    m = metrics.summary([], EQUITY)
    assert m["max_drawdown_pct"] == pytest.approx(200 / 1100 * 100, rel=1e-12)
    assert m["max_drawdown_abs"] == D(200)
    assert (m["drawdown_start"], m["drawdown_end"]) == (at(0, 12), at(1, 10))
    assert m["recovery_time_hours"] == 26.0


def test_an_unrecovered_drawdown_has_no_recovery_time() -> None:
    m = metrics.summary([], EQUITY[:5])
    assert m["max_drawdown_pct"] == pytest.approx(200 / 1100 * 100, rel=1e-12)
    assert m["recovery_time_hours"] is None


def test_cagr_calmar_and_reliability() -> None:
    """2.5 days from 1000 to 1100; far too short to annualise reliably."""
    m = metrics.summary([], EQUITY)
    cagr = (1.1 ** (365 / 2.5) - 1) * 100
    assert m["cagr_pct"] == pytest.approx(cagr, rel=1e-9)
    assert m["calmar_ratio"] == pytest.approx(cagr / (200 / 1100 * 100), rel=1e-9)
    assert m["annualized_reliable"] is False
    long = [(at(0, 0), D(1000)), (at(100, 0), D(1100))]
    assert metrics.summary([], long)["annualized_reliable"] is True


def test_total_return_is_the_trades_pnl_on_the_starting_equity() -> None:
    trips = [
        metrics.Trip(
            "BTC", "long", at(0, 1), at(0, 2), D(500), D(1), D(0), D(0), D(50), "decision"
        ),
        metrics.Trip(
            "BTC", "long", at(1, 1), at(1, 2), D(500), D(1), D(0), D(0), D(-10), "decision"
        ),
    ]
    m = metrics.summary(trips, EQUITY)
    assert m["total_pnl"] == D(40) and m["total_return_pct"] == pytest.approx(4.0)
    assert (m["equity_start"], m["equity_end"], m["equity_change"]) == (D(1000), D(1100), D(100))


def test_one_day_leaves_the_daily_ratios_undefined() -> None:
    m = metrics.summary([], [(at(0, 1), D(1000)), (at(0, 5), D(990))])
    for k in ("sharpe_ratio", "sortino_ratio", "volatility_annualized_pct"):
        assert m[k] is None, k
    assert m["max_drawdown_pct"] == pytest.approx(1.0)


def test_flat_equity() -> None:
    flat = [(at(i, 12), D(1000)) for i in range(5)]
    m = metrics.summary([], flat)
    assert (m["sharpe_ratio"], m["sortino_ratio"], m["calmar_ratio"]) == (None, None, None)
    assert m["max_drawdown_pct"] == 0.0 and m["drawdown_start"] is None
    assert m["cagr_pct"] == 0.0 and m["volatility_annualized_pct"] == 0.0


def test_steady_growth_has_no_sortino() -> None:
    """No negative day: the downside deviation is 0, so the ratio is undefined, not inf."""
    up = [(at(i, 12), D(1000 + 10 * i)) for i in range(5)]
    m = metrics.summary([], up)
    assert m["sortino_ratio"] is None and m["sharpe_ratio"] is not None


def test_no_equity() -> None:
    m = metrics.summary([], [])
    for k in (
        "sharpe_ratio",
        "max_drawdown_pct",
        "cagr_pct",
        "total_return_pct",
        "calmar_ratio",
        "equity_start",
        "period_start",
    ):
        assert m[k] is None, k


def test_cagr_edges_are_never_infinite() -> None:
    assert equity_metrics.cagr_pct(D(1000), D(0), 10) == -100.0  # equity gone
    assert equity_metrics.cagr_pct(D(1000), D("1e13"), 1) is None  # beyond a float: undefined
    assert equity_metrics.cagr_pct(D(0), D(10), 10) is None
    assert equity_metrics.cagr_pct(D(1000), D(1100), 0) is None


def test_combine_chains_returns_so_a_trader_joining_is_no_gain() -> None:
    """A: 1000 -> 1100 -> 1100; B joins at t1 with 500, then 550. At t2 the two together made
    50 on 1600: the combined 1100 grows by 1650 / 1600."""
    a = [(at(0, 0), D(1000)), (at(0, 1), D(1100)), (at(0, 2), D(1100))]
    b = [(at(0, 1), D(500)), (at(0, 2), D(550))]
    out = equity_metrics.combine({1: a, 2: b})
    assert out == [(at(0, 0), D(1000)), (at(0, 1), D(1100)), (at(0, 2), D("1134.375"))]
    assert equity_metrics.combine({1: a}) == a
