"""A backtest's results (backtesting.md sections 8.2, 8.8, 8.10): the trade objects, the equity
curve, the decisions, the metrics of domain/metrics.py (the module live analytics use, through
its `Trip`) plus the backtest's own extras, the breakdowns, and the result hash.

Money is written as plain Decimal strings (domain/money.py, as REST does), ratios as
10-significant-digit strings: the report holds no float, so its canonical JSON is stable."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from domain.metrics import Trip, as_json, breakdown, by_period, ratio_text, summary
from domain.money import plain
from domain.paper import PaperFill, PaperPosition, q_price
from strategies.backtest.contract import BacktestConfig, BacktestReport

if TYPE_CHECKING:
    from strategies.backtest.engine import BacktestEngine

HOUR_MS = 3_600_000
BREAKDOWNS = ("symbol", "exit_reason", "side", "month")


@dataclass
class OpenTrade:
    """A round trip still open: what its trade object will need at the close."""

    symbol: str
    side: str
    opened_at_ms: int
    entry_decision_at: int | None
    leverage: Decimal
    size: Decimal  # base units opened (entries and adds)
    fees: Decimal
    funding: Decimal  # paid (negative: received)
    slippage: Decimal
    gross: Decimal  # realised PnL of its closing fills, before fees and funding

    def to_json(self) -> dict[str, Any]:
        return {k: str(v) if isinstance(v, Decimal) else v for k, v in asdict(self).items()}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> OpenTrade:
        money = ("leverage", "size", "fees", "funding", "slippage", "gross")
        kw: dict[str, Any] = {k: Decimal(v) if k in money else v for k, v in d.items()}
        return cls(**kw)


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat()


def _pct(num: Decimal, den: Decimal) -> str | None:
    return None if den == 0 else ratio_text(float(num * 100 / den))


def close_trade(
    seq: int,
    trade: OpenTrade,
    position: PaperPosition,
    fill: PaperFill,
    reason: str,
    closed_at_ms: int,
    ambiguous: bool,
) -> dict[str, Any]:
    """The section 8.2 trade object of a round trip that `fill` closed. net_pnl = gross -
    fees - funding: each is exactly what moved the account's cash."""
    notional = q_price(trade.size * position.entry_price)
    margin = q_price(notional / trade.leverage)
    net = trade.gross - trade.fees - trade.funding
    return {
        "id": seq,
        "symbol": trade.symbol,
        "side": trade.side,
        "opened_at": iso(trade.opened_at_ms),
        "closed_at": iso(closed_at_ms),
        "opened_at_ms": trade.opened_at_ms,
        "closed_at_ms": closed_at_ms,
        "entry_price": plain(position.entry_price),
        "exit_price": plain(fill.price),
        "size": plain(trade.size),
        "notional": plain(notional),
        "leverage": plain(trade.leverage),
        "margin": plain(margin),
        "fees": plain(trade.fees),
        "funding": plain(trade.funding),
        "slippage_cost": plain(trade.slippage),
        "gross_pnl": plain(trade.gross),
        "net_pnl": plain(net),
        "return_pct": _pct(net, notional),
        "return_on_margin_pct": _pct(net, margin),
        "exit_reason": reason,
        "ambiguous_bar": ambiguous,
        "entry_decision_at": None
        if trade.entry_decision_at is None
        else iso(trade.entry_decision_at),
        "duration_hours": ratio_text((closed_at_ms - trade.opened_at_ms) / HOUR_MS),
    }


def trip(t: dict[str, Any]) -> Trip:
    return Trip(
        symbol=t["symbol"],
        side=t["side"],
        opened_at=datetime.fromtimestamp(t["opened_at_ms"] / 1000, UTC),
        closed_at=datetime.fromtimestamp(t["closed_at_ms"] / 1000, UTC),
        notional=Decimal(t["notional"]),
        leverage=Decimal(t["leverage"]),
        fees=Decimal(t["fees"]),
        funding=Decimal(t["funding"]),
        net_pnl=Decimal(t["net_pnl"]),
        exit_reason=t["exit_reason"],
    )


def _intrabar_drawdown_pct(equity: list[list[Any]]) -> float | None:
    """max over bars of (peak E - E_low) / peak, the peak over the bar-close equities so far."""
    worst: Decimal | None = None
    peak: Decimal | None = None
    for _, e, low in equity:
        e_dec, low_dec = Decimal(e), Decimal(low)
        peak = e_dec if peak is None else max(peak, e_dec)
        if peak > 0:
            dd = (peak - min(low_dec, e_dec)) / peak
            worst = dd if worst is None else max(worst, dd)
    return None if worst is None else float(worst * 100)


def _market_change_pct(engine: BacktestEngine) -> float | None:
    """Buy and hold: mean over symbols of last close / first close - 1, in percent."""
    h, cfg = engine.history, engine.config
    first_open = engine.c0 - cfg.interval.ms
    last_open = engine.c0 + (engine.total_steps - 2) * cfg.interval.ms
    changes = []
    for s in h.symbols:
        one = h.get(s, cfg.interval)
        if one is None:
            continue
        inside = one.between(first_open, last_open + 1)
        if inside and inside[0].close > 0:
            changes.append(float(inside[-1].close / inside[0].close - 1) * 100)
    return sum(changes) / len(changes) if changes else None


def _funding_coverage(engine: BacktestEngine) -> tuple[float | None, list[str]]:
    """Stored settlements over the expected ones in the run (per symbol, the period is the
    smallest spacing between its stored rates; hourly, Hyperliquid's, under two rates)."""
    if not engine.config.funding:
        return None, []
    lo = engine.c0 - engine.config.interval.ms
    hi = engine.c0 + (engine.total_steps - 1) * engine.config.interval.ms
    have = expected = 0
    warnings = []
    for s in engine.history.symbols:
        times = [t for t, _ in engine.history.funding.get(s, [])]
        spacing = [b - a for a, b in zip(times, times[1:], strict=False) if b > a]
        period = min(spacing) if spacing else HOUR_MS
        want = hi // period - lo // period
        got = len(engine.history.funding_between(s, lo, hi))
        have, expected = have + min(got, want), expected + want
        if got < want:
            warnings.append(f"funding rates missing for {s}: {want - got} of {want} counted as 0")
    return (100.0 if expected == 0 else have / expected * 100), warnings


def build_report(engine: BacktestEngine) -> BacktestReport:
    cfg = engine.config
    trips = [trip(t) for t in engine.trades]
    curve = [(datetime.fromtimestamp(p[0] / 1000, UTC), Decimal(p[1])) for p in engine.equity]
    metrics = as_json(summary(trips, curve))
    counters = engine.counters
    coverage, funding_warnings = _funding_coverage(engine)
    warnings = [*engine.history.warnings, *funding_warnings]
    if counters.funding_unmarked:
        warnings.append(f"{counters.funding_unmarked} funding settlements without a price: skipped")
    if counters.data_gaps:
        warnings.append(f"{counters.data_gaps} bars without data skipped (allow_gaps)")
    metrics.update(
        as_json(
            {
                "max_drawdown_intrabar_pct": _intrabar_drawdown_pct(engine.equity),
                "market_change_pct": _market_change_pct(engine),
                "total_slippage_cost": counters.slippage,
                "ambiguous_exits": counters.ambiguous_exits,
                "data_gaps": counters.data_gaps,
                "funding_coverage_pct": coverage,
                "initial_balance": cfg.initial_balance,
                "final_equity": Decimal(engine.equity[-1][1]) if engine.equity else None,
            }
        ),
        decisions=counters.decisions(),
        denied_by_code=dict(sorted(counters.denied_by_code.items())),
        warnings=warnings,
    )
    breakdowns = {
        "symbol": breakdown(trips, lambda t: t.symbol),
        "exit_reason": breakdown(trips, lambda t: t.exit_reason),
        "side": breakdown(trips, lambda t: t.side),
        "month": breakdown(trips, by_period("month")),
    }
    return BacktestReport(
        trades=engine.trades,
        equity=engine.equity,
        decisions=engine.decisions,
        metrics=metrics,
        result_hash=result_hash(cfg, engine.trades, engine.equity, metrics),
        finished=engine.ended,
        breakdowns={
            by: [{"key": k, **as_json(line)} for k, line in lines]
            for by, lines in breakdowns.items()
        },
    )


def canonical_json(value: Any) -> bytes:
    """Sorted keys, no whitespace, Decimals as strings; a float is refused (never hashed)."""

    def refuse(x: Any) -> Any:
        if isinstance(x, Decimal):
            return str(x)
        raise TypeError(f"not canonical JSON: {type(x).__name__}")

    def check(x: Any) -> None:
        if isinstance(x, float):
            raise TypeError("a float in the hashed report")
        if isinstance(x, dict):
            for v in x.values():
                check(v)
        elif isinstance(x, list | tuple):
            for v in x:
                check(v)

    check(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=refuse).encode()


def result_hash(
    config: BacktestConfig,
    trades: list[dict[str, Any]],
    equity: list[list[Any]],
    metrics: dict[str, Any],
) -> str:
    payload = {"config": config.as_json(), "trades": trades, "equity": equity, "metrics": metrics}
    return hashlib.sha256(canonical_json(payload)).hexdigest()
