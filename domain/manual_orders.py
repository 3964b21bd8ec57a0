"""The owner's own order (POST /api/orders/create), carried out like a decision.

A manual order skips the strategy, not the rules: it passes the same risk gate (domain/risk.py)
as the `Decision` it amounts to (`as_decision`), its intent is recorded before it is sent, and
it is in the decision log as a `manual` decision. It is a model of its own, not more fields on
`Decision`, so that strategies (programs, prompts) keep their schema: they cannot send limit
orders.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from domain.decision import Decision, Operation
from domain.ids import OrderLeg, client_order_id
from domain.orders import OrderIntent, OrderType, TimeInForce
from domain.risk import DenyReason, PositionView, RiskVerdict
from domain.vocabulary import PositionSide, Side

_USD_QUANTUM = Decimal("1e-10")  # Decision.size_usd allows 10 decimal places
# A larger notional is valued at this (far above any trader's notional limit, which denies it)
# rather than one that Decimal's 28 digits cannot quantize or Decision.size_usd cannot hold.
_USD_CEILING = Decimal(10**15)
Amount = Field(default=None, gt=0, max_digits=30, decimal_places=10)


class ManualOrder(BaseModel):
    """One order as the owner asked for it. Sizes: exactly one of `quantity` (base units) and
    `size_usd`; `price` for limit orders only (and required there); `time_in_force` likewise."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    symbol: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9._-]+$")
    side: Side
    order_type: OrderType
    quantity: Decimal | None = Amount
    size_usd: Decimal | None = Amount
    price: Decimal | None = Amount
    name: str = Field(default="", max_length=200)
    leverage: Decimal | None = Field(default=None, gt=0, le=1000, decimal_places=10)
    reduce_only: bool = False
    take_profit_pct: Decimal | None = Field(default=None, gt=0, le=10000, decimal_places=10)
    stop_loss_pct: Decimal | None = Field(default=None, gt=0, lt=100, decimal_places=10)
    time_in_force: TimeInForce | None = None

    @field_validator("symbol")
    @classmethod
    def _upper_symbol(cls, v: str) -> str:
        return v.strip().upper()

    @field_validator(
        "quantity", "size_usd", "price", "leverage", "take_profit_pct", "stop_loss_pct"
    )
    @classmethod
    def _finite(cls, v: Decimal | None) -> Decimal | None:
        if v is not None and not v.is_finite():
            raise ValueError("must be a finite number")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> ManualOrder:
        if (self.quantity is None) == (self.size_usd is None):
            raise ValueError("quantity: give exactly one of quantity (base units) and size_usd")
        limit = self.order_type is OrderType.LIMIT
        if limit and self.price is None:
            raise ValueError("price: required for a limit order")
        if not limit and self.price is not None:
            raise ValueError("price: a market order takes no price (use order_type limit)")
        if not limit and self.time_in_force is not None:
            raise ValueError("time_in_force: only for limit orders")
        if self.reduce_only and (self.take_profit_pct or self.stop_loss_pct):
            raise ValueError("take_profit_pct: a reduce-only order opens nothing to protect")
        return self

    @property
    def opens(self) -> PositionSide:
        """The position side an order of this side opens (or adds to)."""
        return self.side.opens


def _held(order: ManualOrder, positions: list[PositionView]) -> PositionView | None:
    return next((p for p in positions if p.symbol == order.symbol), None)


def as_decision(order: ManualOrder, mark: Decimal | None) -> Decision:
    """The decision this order amounts to, as the risk gate and the decision log see it: a
    reduce-only order is a close (allowed while paused), any other a long or short of its
    notional (base quantity at the limit price, else at the mark; 0 if no mark is known, which
    the gate then denies for want of a price)."""
    reasoning = order.name or f"manual {order.order_type.value} order"
    if order.reduce_only:
        return Decision(operation=Operation.CLOSE, symbol=order.symbol, reasoning=reasoning)
    size_usd = order.size_usd
    if size_usd is None:
        assert order.quantity is not None  # exactly one is given (validated)
        price = order.price or mark or Decimal(0)
        size_usd = min(order.quantity * price, _USD_CEILING).quantize(
            _USD_QUANTUM, rounding=ROUND_DOWN
        )
    operation = Operation.LONG if order.side is Side.BUY else Operation.SHORT
    return Decision(
        operation=operation,
        symbol=order.symbol,
        size_usd=max(size_usd, _USD_QUANTUM),
        leverage=order.leverage,
        take_profit_pct=order.take_profit_pct,
        stop_loss_pct=order.stop_loss_pct,
        reasoning=reasoning,
    )


def reduce_denial(order: ManualOrder, positions: list[PositionView]) -> RiskVerdict | None:
    """A reduce-only order must face a position it can reduce (the gate's close rule only
    asks that one is held, whatever its side)."""
    if not order.reduce_only:
        return None
    held = _held(order, positions)
    if held is not None and held.side != order.opens:
        return None
    what = f"no {order.side.opposite.opens.value} {order.symbol} position"
    return RiskVerdict.deny(
        DenyReason.NO_POSITION_TO_CLOSE, f"{what} for a reduce-only {order.side.value} to reduce"
    )


def manual_intent(
    order: ManualOrder,
    account_id: int,
    decision_id: str,
    seq: int,
    positions: list[PositionView],
) -> OrderIntent:
    """The order's intent in the shared contract (domain/orders.py), as any venue takes it."""
    leg = OrderLeg.CLOSE if order.reduce_only else OrderLeg.ENTRY
    held = _held(order, positions)
    leverage = order.leverage or (held.leverage if held is not None else Decimal(1))
    limit = order.order_type is OrderType.LIMIT
    return OrderIntent(
        client_order_id=client_order_id(account_id, seq, leg),
        account_id=account_id,
        decision_id=decision_id,
        leg=leg,
        symbol=order.symbol,
        side=order.side,
        reduce_only=order.reduce_only,
        size_usd=order.size_usd,
        leverage=leverage,
        take_profit_pct=order.take_profit_pct,
        stop_loss_pct=order.stop_loss_pct,
        order_type=order.order_type,
        limit_price=order.price if limit else None,
        time_in_force=(order.time_in_force or TimeInForce.GTC) if limit else None,
        size_base=order.quantity,
    )
