"""The risk gate every decision passes before any order: pure rules, stable deny codes.

Leverage above the trader's maximum is denied, not clamped: a strategy that asks for more
than it is allowed has misread its limits, and silently trading a different size is worse.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel

from domain.decision import Decision, Operation
from domain.vocabulary import PositionSide


class DenyReason(StrEnum):
    TRADING_HALTED = "TRADING_HALTED"
    SYMBOL_NOT_ALLOWED = "SYMBOL_NOT_ALLOWED"
    MARKET_DATA_UNAVAILABLE = "MARKET_DATA_UNAVAILABLE"
    LEVERAGE_EXCEEDS_MAX = "LEVERAGE_EXCEEDS_MAX"
    LEVERAGE_BELOW_ONE = "LEVERAGE_BELOW_ONE"
    NOTIONAL_EXCEEDS_MAX = "NOTIONAL_EXCEEDS_MAX"
    MAX_CONCURRENT_POSITIONS = "MAX_CONCURRENT_POSITIONS"
    POSITION_SIDE_CONFLICT = "POSITION_SIDE_CONFLICT"
    NO_POSITION_TO_CLOSE = "NO_POSITION_TO_CLOSE"
    INSUFFICIENT_MARGIN = "INSUFFICIENT_MARGIN"


class RiskLimits(BaseModel):
    max_leverage: Decimal
    max_position_notional_usd: Decimal
    max_concurrent_positions: int


class PositionView(BaseModel):
    symbol: str
    side: PositionSide
    size: Decimal
    entry_price: Decimal
    mark_price: Decimal
    leverage: Decimal
    unrealized_pnl: Decimal

    @property
    def notional(self) -> Decimal:
        return self.size * self.mark_price


class RiskCheckInput(BaseModel):
    decision: Decision
    limits: RiskLimits
    symbols: list[str]
    positions: list[PositionView]
    prices: dict[str, Decimal]
    available_usd: Decimal
    trading_halted: bool = False


class RiskVerdict(BaseModel):
    approved: bool
    code: DenyReason | None = None
    message: str = ""

    @classmethod
    def ok(cls, message: str = "within limits") -> RiskVerdict:
        return cls(approved=True, message=message)

    @classmethod
    def deny(cls, code: DenyReason, message: str) -> RiskVerdict:
        return cls(approved=False, code=code, message=message)


def evaluate(req: RiskCheckInput) -> RiskVerdict:
    d = req.decision
    if d.operation is Operation.HOLD:
        return RiskVerdict.ok("hold: nothing to check")
    if req.trading_halted and d.operation is not Operation.CLOSE:
        return RiskVerdict.deny(
            DenyReason.TRADING_HALTED, "trader is paused or halted: only closes are allowed"
        )
    assert d.symbol is not None  # guaranteed by Decision validation
    if d.symbol not in req.symbols:
        return RiskVerdict.deny(
            DenyReason.SYMBOL_NOT_ALLOWED, f"{d.symbol} is not one of {', '.join(req.symbols)}"
        )
    held = {p.symbol: p for p in req.positions}
    if d.operation is Operation.CLOSE:
        if d.symbol not in held:
            return RiskVerdict.deny(DenyReason.NO_POSITION_TO_CLOSE, f"no open {d.symbol} position")
        return RiskVerdict.ok("close is always allowed")
    return _check_open(req, d, held)


def _check_open(req: RiskCheckInput, d: Decision, held: dict[str, PositionView]) -> RiskVerdict:
    assert d.symbol is not None and d.size_usd is not None
    price = req.prices.get(d.symbol)
    if price is None or price <= 0:
        return RiskVerdict.deny(DenyReason.MARKET_DATA_UNAVAILABLE, f"no price for {d.symbol}")
    lev, limits = d.effective_leverage, req.limits
    if lev < 1:
        return RiskVerdict.deny(DenyReason.LEVERAGE_BELOW_ONE, f"leverage {lev} is below 1")
    if lev > limits.max_leverage:
        return RiskVerdict.deny(
            DenyReason.LEVERAGE_EXCEEDS_MAX, f"leverage {lev} exceeds max {limits.max_leverage}"
        )
    side = PositionSide.LONG if d.operation is Operation.LONG else PositionSide.SHORT
    existing = held.get(d.symbol)
    if existing is not None and existing.side != side:
        return RiskVerdict.deny(
            DenyReason.POSITION_SIDE_CONFLICT,
            f"{d.symbol} is held {existing.side}; close it before opening {side}",
        )
    total = d.size_usd + (existing.notional if existing else Decimal(0))
    if total > limits.max_position_notional_usd:
        return RiskVerdict.deny(
            DenyReason.NOTIONAL_EXCEEDS_MAX,
            f"position notional {total:.2f} USD exceeds max {limits.max_position_notional_usd}",
        )
    if existing is None and len(held) >= limits.max_concurrent_positions:
        return RiskVerdict.deny(
            DenyReason.MAX_CONCURRENT_POSITIONS,
            f"{len(held)} positions open, max {limits.max_concurrent_positions}",
        )
    margin = d.size_usd / lev
    if margin > req.available_usd:
        return RiskVerdict.deny(
            DenyReason.INSUFFICIENT_MARGIN,
            f"needs {margin:.2f} USD margin, {req.available_usd:.2f} available",
        )
    return RiskVerdict.ok()
