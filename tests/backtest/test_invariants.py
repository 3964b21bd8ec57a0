"""Accounting invariants on random bars and random decisions (backtesting.md 8.11 test 6):
whatever happens (entries, adds, closes, stops, take profits, liquidations, funding, gaps),
the money adds up exactly."""

from __future__ import annotations

import asyncio
from decimal import Decimal as D
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.decision import Decision
from domain.market import Interval
from domain.paper import PaperConfig
from strategies.backtest.contract import BacktestReport, StepInput, StepOutcome
from strategies.backtest.engine import BacktestEngine
from strategies.backtest.history import MarketHistory, Series
from tests.backtest.lookahead_support import aggregate, minutes
from tests.backtest.support import HOUR, START, T0, candle, config, in_memory

move = st.integers(-300, 300)  # cents; a bar's open gaps from the last close by the first


def walk(moves: list[tuple[int, int, int, int]]) -> list[tuple[D, D, D, D]]:
    """Bars as a random walk from 100: open = last close + gap, then the body and wicks."""
    out, level = [], 10000
    for gap, body, up, down in moves:
        o = max(100, level + gap)
        c = max(100, o + body)
        h, low = max(o, c) + abs(up), max(50, min(o, c) - abs(down))
        out.append((D(o) / 100, D(h) / 100, D(low) / 100, D(c) / 100))
        level = c
    return out


pct = st.none() | st.integers(5, 500).map(lambda x: D(x) / 100)
decision = st.one_of(
    st.just(Decision(operation="hold")),
    st.just(Decision(operation="close", symbol="BTC")),
    st.builds(
        Decision,
        operation=st.sampled_from(["long", "short"]),
        symbol=st.just("BTC"),
        size_usd=st.integers(50, 3000).map(D),
        leverage=st.integers(1, 50).map(D),
        take_profit_pct=pct,
        stop_loss_pct=pct,
    ),
)
rate = st.integers(-30, 30).map(lambda x: str(D(x) / 100000))


class Random:
    def __init__(self, decisions: list[Decision]) -> None:
        self.decisions = decisions

    async def __call__(self, step: StepInput) -> StepOutcome:
        return StepOutcome(self.decisions[step.step % len(self.decisions)])


def backtest(bars: list[Any], decisions: list[Decision], rates: list[str], slip: int) -> Any:
    text = [tuple(str(x) for x in b) for b in bars]
    cfg = config(
        len(bars),
        funding=True,
        paper=PaperConfig(taker_fee_bps=D("4.5"), slippage_bps=D(slip)),
    )
    funding = {START - HOUR + i * HOUR: r for i, r in enumerate(rates)}
    engine = BacktestEngine(cfg, in_memory(cfg, text, funding))  # type: ignore[arg-type]
    asyncio.run(engine.run(Random(decisions)))
    return engine, engine.report()


runs = given(
    bars=st.lists(st.tuples(move, move, move, move), min_size=2, max_size=30).map(walk),
    decisions=st.lists(decision, min_size=1, max_size=12),
    rates=st.lists(rate, min_size=1, max_size=30),
)
fast = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _sum(report: BacktestReport, key: str) -> D:
    return sum((D(t[key]) for t in report.trades), D(0))


@fast
@runs
def test_final_equity_minus_initial_is_the_sum_of_net_pnl(
    bars: list[Any], decisions: list[Decision], rates: list[str]
) -> None:
    engine, report = backtest(bars, decisions, rates, slip=5)
    assert report.finished and not engine.account.positions
    assert D(report.equity[-1][1]) - D(10000) == _sum(report, "net_pnl")
    assert D(report.metrics["total_pnl"]) == _sum(report, "net_pnl")
    # every fee and funding payment the account saw is on a trade
    assert _sum(report, "fees") == engine.account.fees_paid
    assert _sum(report, "funding") == engine.account.funding_paid
    # net = gross - fees - funding on each trade
    for t in report.trades:
        assert D(t["net_pnl"]) == D(t["gross_pnl"]) - D(t["fees"]) - D(t["funding"])
    liquidated = any(t["exit_reason"] == "liquidation" for t in report.trades)
    assert liquidated or min(D(p[2]) for p in report.equity) >= 0


@fast
@runs
def test_fills_lie_inside_their_candle_except_gap_opens(
    bars: list[Any], decisions: list[Decision], rates: list[str]
) -> None:
    """Without slippage, a fill is at a price its candle traded at, except a take profit the
    bar gapped past (filled at the TP price, no improvement)."""
    _, report = backtest(bars, decisions, rates, slip=0)
    candle = {START - HOUR + i * HOUR: b for i, b in enumerate(bars)}
    for d in report.decisions:
        if d["status"] == "filled":
            o, h, low, _ = candle[d["filled_at_ms"]]
            assert low <= D(d["fill_price"]) <= h
    for t in report.trades:
        o, h, low, c = candle[t["closed_at_ms"] if t["exit_reason"] != "end_of_backtest"
                              else t["closed_at_ms"] - HOUR]  # fmt: skip
        exit_price = D(t["exit_price"])
        if t["exit_reason"] == "take_profit" and not low <= exit_price <= h:
            long = t["side"] == "long"
            assert (o > exit_price) if long else (o < exit_price)  # a favourable gap
            continue
        assert low <= exit_price <= h, t


def minute_backtest(seed: int, n: int, decisions: list[Decision], intrabar: str) -> Any:
    """Hourly bars built from a random 1m walk (stored too), so `auto` re-scans ambiguous bars
    and `1m` walks every bar minute by minute, funding settling at its minute."""
    ones = minutes(START - HOUR, n * 60, seed, step=40)
    hours = aggregate(ones, Interval.H1)
    cfg = config(n, funding=True, intrabar=intrabar)
    warm = [candle(T0 + i * HOUR, "100") for i in range(99)]
    rates = [(START - HOUR + i * HOUR, D(i % 5 - 2) / 1000) for i in range(n)]
    history = MarketHistory(
        cfg,
        {
            ("BTC", Interval.H1): Series(Interval.H1, warm + hours),
            ("BTC", Interval.M1): Series(Interval.M1, ones),
        },
        {"BTC": rates},
        {"BTC": "test"},
    )
    engine = BacktestEngine(cfg, history)
    asyncio.run(engine.run(Random(decisions)))
    return engine, engine.report()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10**6),
    n=st.integers(2, 12),
    decisions=st.lists(decision, min_size=1, max_size=8),
    intrabar=st.sampled_from(["auto", "1m"]),
)
def test_the_invariants_hold_on_minute_data(
    seed: int, n: int, decisions: list[Decision], intrabar: str
) -> None:
    engine, report = minute_backtest(seed, n, decisions, intrabar)
    assert D(report.equity[-1][1]) - D(10000) == _sum(report, "net_pnl")
    assert _sum(report, "fees") == engine.account.fees_paid
    assert _sum(report, "funding") == engine.account.funding_paid
