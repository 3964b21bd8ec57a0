"""What the decision page derives from a recorded decision: the risk gate's rules one by one
(domain/risk.py's order) and the timeline of its recorded timestamps.

A verdict records only approved/denied, the denying rule's code and its message (which says
value and limit). So: rules before the denying one passed, the denying one shows its message,
rules after it were not checked. A value shown is the decision's own (symbol, leverage, size);
one the gate read from the account at that moment (prices, open positions, free margin) is not
recorded and says so. Limits are the trader's settings as they are now (README "Decision page").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from api.money import fmt
from api.schemas import AccountOut, DecisionOut
from domain.decision import Operation
from domain.vocabulary import DecisionStatus

NOT_RECORDED = "not recorded"


@dataclass(frozen=True)
class Rule:
    code: str
    name: str
    value: str
    limit: str
    result: str  # passed | denied | not checked
    message: str


@dataclass(frozen=True)
class Step:
    name: str
    at: datetime | None
    took: str  # since the previous recorded step, "" when either end is not recorded


def _dec(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value)) if value not in (None, "") else None
    except InvalidOperation:
        return None


def _leverage(d: dict[str, Any]) -> str:
    lev = _dec(d.get("leverage"))
    return str(lev if lev is not None else Decimal(1))


def _margin(d: dict[str, Any]) -> str:
    size, lev = _dec(d.get("size_usd")), _dec(d.get("leverage")) or Decimal(1)
    return f"{size / lev:.2f} USD" if size is not None and lev > 0 else NOT_RECORDED


Text = Callable[[dict[str, Any]], str]
Limit = Callable[[AccountOut], str]


def _symbol(d: dict[str, Any]) -> str:
    return str(d.get("symbol") or "—")


def _notional(d: dict[str, Any]) -> str:
    return f"{d.get('size_usd')} USD + held: {NOT_RECORDED}"


def _allowed(a: AccountOut) -> str:
    return ", ".join(a.symbols)


def _fixed(text: str) -> Callable[[Any], str]:
    return lambda _: text


_OPEN: list[tuple[str, str, Text, Limit]] = [
    ("TRADING_HALTED", "Trader not paused or halted", _fixed("—"),
     _fixed("only closes while halted")),
    ("SYMBOL_NOT_ALLOWED", "Symbol allowed", _symbol, _allowed),
    ("MARKET_DATA_UNAVAILABLE", "Price known", _fixed(NOT_RECORDED), _fixed("a price above 0")),
    ("LEVERAGE_BELOW_ONE", "Leverage at least 1", _leverage, _fixed("≥ 1")),
    ("LEVERAGE_EXCEEDS_MAX", "Leverage within max", _leverage,
     lambda a: f"≤ {fmt(a.max_leverage)}"),
    ("POSITION_SIDE_CONFLICT", "No opposite position", lambda d: str(d.get("operation") or "—"),
     _fixed("none held the other way")),
    ("NOTIONAL_EXCEEDS_MAX", "Position notional within max", _notional,
     lambda a: f"≤ {fmt(a.max_position_notional_usd)} USD"),
    ("MAX_CONCURRENT_POSITIONS", "Open positions within max", _fixed(NOT_RECORDED),
     lambda a: f"≤ {a.max_concurrent_positions}"),
    ("INSUFFICIENT_MARGIN", "Margin available", _margin, _fixed(f"free margin: {NOT_RECORDED}")),
]  # fmt: skip
_CLOSE: list[tuple[str, str, Text, Limit]] = [
    ("SYMBOL_NOT_ALLOWED", "Symbol allowed", _symbol, _allowed),
    ("NO_POSITION_TO_CLOSE", "A position to close", _symbol, _fixed("an open position")),
]


def risk_rules(rec: DecisionOut, acct: AccountOut) -> list[Rule]:
    """The rules the gate checks for the decision's operation, each with its outcome."""
    verdict = rec.risk_verdict
    decision = (rec.output or {}).get("decision")
    if not verdict or not isinstance(decision, dict):
        return []
    op = decision.get("operation")
    rules = (
        _CLOSE
        if op == Operation.CLOSE
        else _OPEN
        if op in (Operation.LONG, Operation.SHORT)
        else []
    )
    denied_code = None if verdict.get("approved") else verdict.get("code")
    out, seen_denial = [], False
    for code, name, value, limit in rules:
        if seen_denial:
            result, message = "not checked", ""
        elif code == denied_code:
            result, message, seen_denial = (
                DecisionStatus.DENIED.value,
                str(verdict.get("message") or ""),
                True,
            )
        else:
            result, message = "passed", ""
        out.append(Rule(code, name, value(decision), limit(acct), result, message))
    return out


def _took(start: datetime | None, end: datetime | None) -> str:
    if start is None or end is None:
        return ""
    ms = int((end - start).total_seconds() * 1000)
    return f"{ms} ms" if abs(ms) < 10_000 else f"{ms / 1000:.1f} s"


def _parsed(text: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(text)) if text else None
    except ValueError:
        return None


def timeline(
    created: datetime,
    decided: datetime | None,
    orders: list[dict[str, Any]],
    fills: list[dict[str, Any]],
    completed: datetime | None,
) -> list[Step]:
    """Trigger (context gathered from here) -> strategy and risk (decided) -> orders (first
    sent) -> fills (last) -> done, each with the time since the step before it."""
    sent = min((t for o in orders if (t := _parsed(o.get("created_at")))), default=None)
    filled = max((t for f in fills if (t := _parsed(f.get("created_at")))), default=None)
    points = [
        ("Triggered, context gathered", created),
        ("Strategy and risk decided", decided),
        ("Orders sent", sent),
        ("Last fill", filled),
        ("Completed", completed),
    ]
    steps, last = [], None
    for name, at in points:
        steps.append(Step(name, at, _took(last, at)))
        last = at if at is not None else last
    return steps
