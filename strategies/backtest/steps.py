"""What the backtest loop counts and records about its decisions (section 8.8's `decisions`,
`denied_by_code` and honesty counters; section 8.9's decision rows)."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from decimal import Decimal
from typing import Any

from domain.money import plain
from strategies.backtest.contract import StepOutcome

OPERATIONS = ("long", "short", "close", "hold")


@dataclass
class Counters:
    total: int = 0
    long: int = 0
    short: int = 0
    close: int = 0
    hold: int = 0
    denied: int = 0
    failed: int = 0
    rejected: int = 0
    denied_by_code: dict[str, int] = field(default_factory=dict)
    data_gaps: int = 0  # decision bars skipped for want of data (allow_gaps)
    ambiguous_exits: int = 0
    funding_unmarked: int = 0  # settlements without any price to mark them (not charged)
    slippage: Decimal = Decimal(0)  # sum |fill - reference| x size

    def count(self, operation: str) -> None:
        setattr(self, operation, getattr(self, operation) + 1)

    def deny(self, code: str) -> None:
        self.denied += 1
        self.denied_by_code[code] = self.denied_by_code.get(code, 0) + 1

    def copy(self) -> Counters:
        return replace(self, denied_by_code=dict(self.denied_by_code))

    def decisions(self) -> dict[str, int]:
        names = ("total", *OPERATIONS, "denied", "failed", "rejected")
        return {n: getattr(self, n) for n in names}

    def to_json(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["slippage"] = str(self.slippage)
        out["denied_by_code"] = dict(sorted(self.denied_by_code.items()))
        return out

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Counters:
        kw = {f.name: d[f.name] for f in fields(cls) if f.name in d}
        kw["slippage"] = Decimal(d.get("slippage", "0"))
        kw["denied_by_code"] = dict(d.get("denied_by_code", {}))
        return cls(**kw)


def decision_record(
    step: int,
    at_ms: int,
    outcome: StepOutcome,
    status: str,
    code: str | None,
    message: str | None = None,
) -> dict[str, Any]:
    """A non-hold, denied or failed decision as the report lists it. status: pending (its
    orders wait for the next open) -> filled | rejected; not_filled (the last bar's); denied;
    failed. `code`: the risk gate's deny code, the paper fill's reject reason, or the
    decider's error code."""
    d = outcome.decision
    return {
        "step": step,
        "at_ms": at_ms,
        "operation": d.operation.value if d is not None else None,
        "symbol": d.symbol if d is not None else None,
        "size_usd": plain(d.size_usd) if d is not None and d.size_usd is not None else None,
        "leverage": plain(d.leverage) if d is not None and d.leverage is not None else None,
        "status": status,
        "code": code,
        "error": message if message is not None else outcome.error,
        "run_ms": outcome.run_ms,
        "reasoning": d.reasoning if d is not None else None,
    }
