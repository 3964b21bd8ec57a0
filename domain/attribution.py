"""AI attribution and program analytics (README "Analytics"; team spec backtesting.md 8.2):
how right a prompt trader's calls were, which model and which market regime its trades made
money in, and how a program runs. Pure: the rows come from db/analytics_decisions.py, and every
metrics line is domain/metrics.py's `trade_line` (no second metrics implementation).

Decision accuracy. A decision at time t on a candle interval iv (its snapshot's
`default_interval`) is scored on the candles table's bars of that interval: the forward return
is close(b0 + (horizon - 1) * iv) / open(b0) - 1, where b0 is the first bar opening at or after
t. That is what a position entered at the next bar's open (the backtest's fill rule, spec 8.3)
made over `horizon` whole bars; no bar the decision could see is part of it. A long is correct
when that return is > 0, a short when < 0 (0 matches no sign), a hold when |return| < the round
trip cost (2 x the taker fee) on its symbol, or, for a hold naming none, on every symbol of its
snapshot. Closes are counted, not scored. A decision whose bars are not stored is `unscored`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

import numpy as np

from domain.decision import Operation
from domain.equity import utc
from domain.indicators import REGIME_MIN_CANDLES, Series, regime
from domain.market import Candle
from domain.metrics import Trip, as_json, breakdown, ratio_text, trade_line
from domain.vocabulary import DecisionStatus


class RegimeLabel(StrEnum):
    """domain.indicators.regime's answers, and `unknown` where it cannot be computed."""

    VOLATILE = "volatile"
    TRENDING = "trending"
    CALM = "calm"
    RANGING = "ranging"
    UNKNOWN = "unknown"


UNKNOWN_REGIME = RegimeLabel.UNKNOWN.value
REGIME_INTERVAL = "1h"  # data.get_regime's default and the prompt's {market_regime}


@dataclass(frozen=True)
class DecisionFacts:
    """What analytics read of one decision row (db/analytics_decisions.py)."""

    id: str
    account_id: int
    at: datetime  # the snapshot's `now` (the data's time), else the row's creation
    interval: str  # the snapshot's default_interval, else 1h
    status: str
    operation: str | None  # None: the strategy gave no usable decision
    symbol: str | None
    symbols: tuple[str, ...] = ()  # the snapshot's symbols
    error_code: str | None = None
    program_id: int | None = None  # the program that ran (output.program_id)
    run_ms: int | None = None  # its sandbox run time (output.run_ms)
    prompt_id: int | None = None  # llm_exchange.prompt_id: set when a model was asked
    model: str | None = None  # llm_exchange.model: the trader's model when it asked
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cost_usd: Decimal | None = None


# --- decision accuracy ---------------------------------------------------------------------


def forward_window(at_ms: int, interval_ms: int, horizon: int) -> tuple[int, int]:
    """The open times of the first and last bar of the forward window of a decision at `at_ms`."""
    first = -(-at_ms // interval_ms) * interval_ms  # the first bar opening at or after at_ms
    return first, first + (horizon - 1) * interval_ms


def forward_return(
    sources: Sequence[Mapping[int, Candle]], at_ms: int, interval_ms: int, horizon: int
) -> Decimal | None:
    """The forward return from one source's bars (open time -> candle; the first source, in
    order, holding both ends); None when none does (never guessed from a neighbour)."""
    first, last = forward_window(at_ms, interval_ms, horizon)
    for bars in sources:
        start, end = bars.get(first), bars.get(last)
        if start is not None and end is not None and start.open > 0:
            return end.close / start.open - 1
    return None


def correct(
    d: DecisionFacts, returns: Callable[[str], Decimal | None], cost: Decimal
) -> bool | None:
    """Whether the call was right; None when it cannot be scored (no bars, or a close)."""
    if d.operation in (Operation.LONG, Operation.SHORT):
        r = returns(d.symbol) if d.symbol else None
        if r is None:
            return None
        return r > 0 if d.operation == Operation.LONG else r < 0
    if d.operation == Operation.HOLD:
        symbols = (d.symbol,) if d.symbol else d.symbols
        moves = [returns(s) for s in symbols]
        if not moves or any(m is None for m in moves):
            return None
        return all(abs(m) < cost for m in moves if m is not None)
    return None


DIRECTIONAL = "directional"  # long and short together


@dataclass
class Tally:
    decisions: int = 0
    scored: int = 0
    correct: int = 0

    def add(self, verdict: bool | None) -> None:
        self.decisions += 1
        if verdict is not None:
            self.scored += 1
            self.correct += int(verdict)

    def as_json(self) -> dict[str, Any]:
        share = self.correct / self.scored if self.scored else None
        return {
            "decisions": self.decisions,
            "scored": self.scored,
            "correct": self.correct,
            "unscored": self.decisions - self.scored,
            "accuracy": ratio_text(share),
        }


def accuracy(
    decisions: Iterable[DecisionFacts], verdict: Callable[[DecisionFacts], bool | None]
) -> dict[str, Any]:
    """Counts and shares by operation: long, short, both (directional), hold; closes counted."""
    tallies = {k: Tally() for k in (DIRECTIONAL, Operation.LONG, Operation.SHORT, Operation.HOLD)}
    closes = 0
    for d in decisions:
        if d.operation == Operation.CLOSE:
            closes += 1
        elif d.operation in tallies:
            v = verdict(d)
            tallies[d.operation].add(v)
            if d.operation != Operation.HOLD:
                tallies[DIRECTIONAL].add(v)
    return {**{str(k): t.as_json() for k, t in tallies.items()}, "close_decisions": closes}


# --- model comparison and regimes ----------------------------------------------------------


def _sum_or_none(xs: Sequence[Any]) -> Any:
    known = [x for x in xs if x is not None]
    return sum(known[1:], known[0]) if known else None


def model_lines(
    trips: Sequence[tuple[Trip, str | None]], decisions: Sequence[DecisionFacts]
) -> list[dict[str, Any]]:
    """One line per model: the metrics line of the round trips its entry decisions opened, and
    its decisions, tokens and cost (null when none was recorded)."""
    by_model: dict[str | None, list[DecisionFacts]] = {}
    for d in decisions:
        by_model.setdefault(d.model, []).append(d)
    models = {m for _, m in trips} | set(by_model)
    lines = dict(breakdown([t for t, _ in trips], _model_key(trips)))
    out = []
    for m in sorted(models, key=lambda k: (k is None, str(k))):
        ds = by_model.get(m, [])
        costs = [d.cost_usd for d in ds]
        out.append(
            {
                "model": m,
                **as_json(lines.get(m) or trade_line([])),
                "decisions": len(ds),
                "prompt_tokens": _sum_or_none([d.prompt_tokens for d in ds]),
                "completion_tokens": _sum_or_none([d.completion_tokens for d in ds]),
                "cost_usd": as_json({"c": _sum_or_none(costs)})["c"],
                "priced_decisions": sum(c is not None for c in costs),
            }
        )
    return out


def _model_key(trips: Sequence[tuple[Trip, str | None]]) -> Callable[[Trip], str | None]:
    model = {id(t): m for t, m in trips}
    return lambda t: model[id(t)]


def regime_label(rows: Any) -> str:
    """domain.indicators.regime (what a program's data.get_regime answers) on snapshot kline
    rows [open time, open, high, low, close, volume]; `unknown` when it cannot be computed
    (no rows, malformed ones, fewer than REGIME_MIN_CANDLES)."""
    if not isinstance(rows, list):
        return UNKNOWN_REGIME
    good = []
    for row in rows:
        if not isinstance(row, list | tuple) or len(row) < 6:
            continue
        try:
            nums = [float(v) for v in row[:5]]
        except (TypeError, ValueError):
            continue
        if all(math.isfinite(x) for x in nums):
            good.append(nums)
    if len(good) < REGIME_MIN_CANDLES:
        return UNKNOWN_REGIME
    good.sort(key=lambda r: r[0])
    arr = np.asarray(good, dtype=np.float64)
    try:
        return regime(Series(high=arr[:, 2].copy(), low=arr[:, 3].copy(), close=arr[:, 4].copy()))
    except (ValueError, IndexError):
        return UNKNOWN_REGIME


def regime_lines(trips: Sequence[tuple[Trip, str]]) -> list[dict[str, Any]]:
    """The metrics line of the round trips per regime label of their entry decision."""
    label = {id(t): r for t, r in trips}
    lines = breakdown([t for t, _ in trips], lambda t: label[id(t)])
    return [{"regime": k, **as_json(line)} for k, line in lines]


# --- programs ------------------------------------------------------------------------------

FAILED, DENIED = DecisionStatus.FAILED.value, DecisionStatus.DENIED.value
DISTRIBUTION = (*(o.value for o in Operation), FAILED, DENIED)


def outcome_of(d: DecisionFacts) -> str:
    """denied: the risk gate refused it; failed: the program gave no usable decision (error,
    timeout, invalid output); else its operation (also when an order of it did not fill)."""
    if d.status == DecisionStatus.DENIED:
        return DENIED
    if d.operation not in {o.value for o in Operation}:
        return FAILED
    return str(d.operation)


def p99(values: Sequence[int]) -> int | None:
    """Nearest-rank 99th percentile: the smallest value at least 99 % of the values are <=."""
    if not values:
        return None
    ranked = sorted(values)
    return ranked[math.ceil(0.99 * len(ranked)) - 1]


def program_line(decisions: Sequence[DecisionFacts], trips: Sequence[Trip]) -> dict[str, Any]:
    """Executions, run times, the decisions' distribution and error codes, and the metrics line
    of the round trips its decisions opened."""
    times = [d.run_ms for d in decisions if d.run_ms is not None]
    dist = dict.fromkeys(DISTRIBUTION, 0)
    codes: dict[str, int] = {}
    for d in decisions:
        dist[outcome_of(d)] += 1
        if d.error_code:
            codes[d.error_code] = codes.get(d.error_code, 0) + 1
    return {
        "executions": len(decisions),
        "timed_executions": len(times),
        "avg_execution_ms": ratio_text(math.fsum(times) / len(times) if times else None),
        "p99_execution_ms": p99(times),
        "decision_distribution": dist,
        "error_codes": dict(sorted(codes.items())),
        "metrics": as_json(trade_line(trips)),
    }


def at_ms(t: datetime) -> int:
    return int(utc(t).timestamp() * 1000)


def group(
    decisions: Iterable[DecisionFacts], key: Callable[[DecisionFacts], Any]
) -> Mapping[Any, list[DecisionFacts]]:
    out: dict[Any, list[DecisionFacts]] = {}
    for d in decisions:
        out.setdefault(key(d), []).append(d)
    return out
