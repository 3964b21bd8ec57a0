"""The shared types of a backtest run. The engine (strategies/backtest/engine.py) walks the
bars; a `Decide` callable turns one bar close's input into the strategy's answer; the activity
(activities/backtest.py) checkpoints the engine, reports progress and stores the report.

Times are epoch milliseconds (UTC). Money is Decimal. Everything a report holds is JSON-ready
(Decimals as strings) so that `result_hash` is over a canonical text."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from domain.decision import Decision
from domain.market import Interval
from domain.paper import PaperConfig
from domain.risk import RiskLimits

Intrabar = Literal["auto", "bar", "1m"]
MAX_STEPS = 600_000  # decisions per run; more is refused (422 RANGE_TOO_LARGE)
DEFAULT_LIMITS = RiskLimits(
    max_leverage=Decimal(5),
    max_position_notional_usd=Decimal(1000),
    max_concurrent_positions=3,
)


@dataclass(frozen=True)
class BacktestConfig:
    """What a run is: the same config gives the same report, byte for byte."""

    symbols: tuple[str, ...]  # sorted, upper case
    interval: Interval  # the decision interval: one decision per bar close
    start_ms: int  # the first decision is at the first bar close >= start_ms
    end_ms: int  # the last bar closes at or before end_ms; positions still open close there
    initial_balance: Decimal = Decimal(10000)
    paper: PaperConfig = PaperConfig()  # fees, slippage, liquidation
    funding: bool = True
    intrabar: Intrabar = "auto"
    seed: int = 0
    limits: RiskLimits = field(default_factory=lambda: DEFAULT_LIMITS.model_copy())
    allow_gaps: bool = False  # False: a missing bar inside the range refuses the run

    def as_json(self) -> dict[str, Any]:
        """The config as canonical JSON values (the first part of the result hash)."""
        return {
            "symbols": list(self.symbols),
            "interval": self.interval.value,
            "start_ms": self.start_ms,
            "end_ms": self.end_ms,
            "initial_balance": str(self.initial_balance),
            "taker_fee_bps": str(self.paper.taker_fee_bps),
            "maker_fee_bps": str(self.paper.maker_fee_bps),
            "slippage_bps": str(self.paper.slippage_bps),
            "funding": self.funding,
            "intrabar": self.intrabar,
            "seed": self.seed,
            "limits": self.limits.model_dump(mode="json"),
            "allow_gaps": self.allow_gaps,
        }


@dataclass(frozen=True)
class StepInput:
    """One decision's input at the close of bar `step` (0-based), `at_ms` = that close.

    `account` is the non-candle part of the live snapshot (`symbols`, `now`,
    `default_interval`, `prices`, `positions`, `balance`, `trigger`: the keys of
    adapters/market/snapshot.snapshot_dict besides `klines`), JSON-ready. `snapshot()` builds
    the whole snapshot exactly as live does (the same 100 closed candles per interval), for a
    decider that sends it; a decider that holds the candles itself (the sandbox's backtest
    session) uses `account` and `at_ms` only."""

    step: int
    at_ms: int
    account: dict[str, Any]
    snapshot: Callable[[], dict[str, Any]]


@dataclass(frozen=True)
class StepOutcome:
    """The strategy's answer: a decision, or why there is none (the decision is recorded as
    failed with this code and the run goes on)."""

    decision: Decision | None
    error_code: str | None = None
    error: str | None = None
    run_ms: int | None = None
    logs: str = ""
    extra: dict[str, Any] = field(default_factory=dict)  # e.g. a prompt run's usage and cost


Decide = Callable[[StepInput], Awaitable[StepOutcome]]
Progress = Callable[[int, int, Decimal], Awaitable[None]]  # (steps done, total, equity)


class CoverageError(ValueError):
    """Stored history does not cover the run: `missing` lists (symbol, interval, from_ms,
    to_ms) ranges, the API's 422 DATA_COVERAGE."""

    def __init__(self, missing: list[tuple[str, str, int, int]]) -> None:
        self.missing = missing
        super().__init__(f"no stored candles for {len(missing)} range(s)")


@dataclass(frozen=True)
class BacktestReport:
    """A run's results, JSON-ready: `trades` are the spec's trade objects (section 8.2),
    `equity` [at_ms, equity, equity_low] per bar close, `decisions` the steps that traded, were
    denied or failed (holds only counted, in metrics["decisions"]), `metrics` section 8.8's
    (with the honesty counters `ambiguous_exits`, `data_gaps`, `funding_coverage_pct`,
    `warnings`), `finished` False when cancelled part way. `result_hash` is the sha256 of
    the canonical JSON of config, trades, equity and metrics."""

    trades: list[dict[str, Any]]
    equity: list[list[Any]]
    decisions: list[dict[str, Any]]
    metrics: dict[str, Any]
    result_hash: str
    finished: bool
    # trade_line per symbol, exit_reason, side and month: [{"key", "trades", ...}] (not hashed:
    # derived from the trades)
    breakdowns: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
