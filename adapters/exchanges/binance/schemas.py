"""Binance USD-M futures replies as typed models, and their translation into the platform's
values. Parse with ``wire.parse``/``wire.parse_list``; symbols here are the venue's ("BTCUSDT"),
the adapter passes ours in."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from pydantic import ConfigDict, Field, model_validator

from adapters.exchanges.base import AccountView
from adapters.exchanges.client import Fill, FundingPayment, LivePosition, OpenOrder
from adapters.exchanges.wire import Num, OptNum, WireModel, plain
from domain.market import Candle
from domain.orders import OrderOutcome, OrderStatus
from domain.vocabulary import PositionSide, Side

WireSide = Literal["BUY", "SELL"]


def side_name(side: WireSide) -> Side:
    return Side.BUY if side == "BUY" else Side.SELL


_ALGO_STATUS = {
    "NEW": OrderStatus.SUBMITTED,
    "TRIGGERING": OrderStatus.SUBMITTED,
    "TRIGGERED": OrderStatus.SUBMITTED,
    "CANCELED": OrderStatus.CANCELLED,
    "EXPIRED": OrderStatus.CANCELLED,
    "REJECTED": OrderStatus.REJECTED,
}


def _order_status(status: str, executed: Decimal) -> OrderStatus:
    if status == "FILLED":
        return OrderStatus.FILLED
    if status in ("NEW", "PARTIALLY_FILLED"):
        return OrderStatus.SUBMITTED
    if status in ("CANCELED", "EXPIRED", "EXPIRED_IN_MATCH"):
        return OrderStatus.FILLED if executed > 0 else OrderStatus.CANCELLED
    if status == "REJECTED":
        return OrderStatus.REJECTED
    return OrderStatus.SUBMITTED  # unknown status: never claim a failure we cannot prove


# ---------------------------------------------------------------- account


class FuturesAccount(WireModel):
    total_wallet_balance: Num
    total_margin_balance: Num
    available_balance: Num
    total_initial_margin: Num
    total_unrealized_profit: Num

    def view(self, positions: list[LivePosition]) -> AccountView:
        return AccountView(
            cash_usd=self.total_wallet_balance,
            equity_usd=self.total_margin_balance,
            available_usd=self.available_balance,
            used_margin_usd=self.total_initial_margin,
            realized_pnl_usd=Decimal(0),  # not part of a venue snapshot: derive from fills
            fees_paid_usd=Decimal(0),
            unrealized_pnl_usd=self.total_unrealized_profit,
            positions=list(positions),
        )


class ApiPermissions(WireModel):
    """``GET /sapi/v1/account/apiRestrictions``: absent flags are treated as the risky answer."""

    enable_withdrawals: bool | None = None
    enable_futures: bool | None = None


class PositionRisk(WireModel):
    """One row of ``positionRisk`` (v2 carries leverage; v3 carries initialMargin)."""

    symbol: str
    position_amt: Num
    entry_price: Num
    mark_price: Num
    un_realized_profit: Num
    leverage: OptNum = None
    liquidation_price: OptNum = None  # "0" when there is none
    initial_margin: OptNum = None
    isolated_margin: OptNum = None
    notional: OptNum = None

    def margin_used(self) -> Decimal | None:
        if self.initial_margin is not None:
            return self.initial_margin
        if self.isolated_margin:
            return self.isolated_margin
        notional = self.notional or abs(self.position_amt) * self.mark_price
        return plain(abs(notional) / self.leverage) if self.leverage else None

    def live(self, symbol: str) -> LivePosition:
        return LivePosition(
            symbol=symbol,
            side=PositionSide.LONG if self.position_amt > 0 else PositionSide.SHORT,
            size=abs(self.position_amt),
            entry_price=self.entry_price,
            mark_price=self.mark_price,
            leverage=self.leverage or Decimal(1),
            unrealized_pnl=self.un_realized_profit,
            liquidation_price=self.liquidation_price or None,
            margin_used=self.margin_used(),
        )


# ---------------------------------------------------------------- exchange info


class SymbolFilter(WireModel):
    """One of a symbol's filters; ``domain.exchange_rules.binance_rules`` reads their values."""

    model_config = ConfigDict(extra="allow")  # merged with WireModel's

    filter_type: str


class SymbolInfo(WireModel):
    symbol: str
    status: str = "TRADING"
    filters: list[SymbolFilter] = Field(default_factory=list)

    def rules_input(self) -> dict[str, Any]:
        """The entry as ``binance_rules`` takes it (the venue's own field names)."""
        return self.model_dump(by_alias=True)


class ExchangeInfo(WireModel):
    symbols: list[SymbolInfo]


class LeverageBracket(WireModel):
    initial_leverage: int


class SymbolBrackets(WireModel):
    """One symbol's entry of ``GET /fapi/v1/leverageBracket``: the highest leverage is the
    first (smallest notional) bracket's."""

    symbol: str
    brackets: list[LeverageBracket] = Field(min_length=1)

    @property
    def max_leverage(self) -> int:
        return max(b.initial_leverage for b in self.brackets)


# ---------------------------------------------------------------- orders and trades


class FuturesOrder(WireModel):
    """An order as ``GET/POST /fapi/v1/order`` and ``openOrders`` describe it."""

    order_id: int
    client_order_id: str
    symbol: str
    status: str
    side: WireSide
    type: str = ""
    orig_qty: OptNum = None
    executed_qty: Num = Decimal(0)
    avg_price: OptNum = None
    price: OptNum = None
    stop_price: OptNum = None
    reduce_only: bool = False

    def outcome(self, client_order_id: str, symbol: str) -> OrderOutcome:
        status = _order_status(self.status, self.executed_qty)
        return OrderOutcome(
            client_order_id=client_order_id,
            status=status,
            symbol=symbol,
            side=side_name(self.side),
            exchange_order_id=str(self.order_id),
            filled_size=self.executed_qty or None,
            avg_price=self.avg_price or None,
            reject_reason=self.status
            if status in (OrderStatus.REJECTED, OrderStatus.CANCELLED)
            else None,
        )

    def open_order(self, symbol: str) -> OpenOrder:
        return OpenOrder(
            venue_client_id=self.client_order_id,
            exchange_order_id=str(self.order_id),
            symbol=symbol,
            side=side_name(self.side),
            type=self.type,
            size=self.orig_qty,
            price=self.price or None,
            trigger_price=self.stop_price or None,
            reduce_only=self.reduce_only,
            is_trigger=False,
        )


class AlgoOrder(WireModel):
    """A conditional (TP/SL) order, ``/fapi/v1/algoOrder`` and ``openAlgoOrders``."""

    algo_id: int
    client_algo_id: str
    symbol: str
    side: WireSide
    algo_status: str
    order_type: str = ""
    quantity: OptNum = None
    price: OptNum = None
    trigger_price: OptNum = None
    reduce_only: bool = False
    close_position: bool = False
    executed_qty: Num = Decimal(0)
    avg_price: OptNum = None
    actual_order_id: str | int | None = None  # "" until triggered

    def outcome(self, client_order_id: str, symbol: str) -> OrderOutcome:
        if self.algo_status == "FINISHED":
            triggered = self.executed_qty > 0 or bool(self.actual_order_id)
            status = OrderStatus.FILLED if triggered else OrderStatus.CANCELLED
        else:
            status = _ALGO_STATUS.get(self.algo_status, OrderStatus.SUBMITTED)
        return OrderOutcome(
            client_order_id=client_order_id,
            status=status,
            symbol=symbol,
            side=side_name(self.side),
            exchange_order_id=str(self.algo_id),
            filled_size=self.executed_qty or None,
            avg_price=self.avg_price or None,
            reject_reason=self.algo_status
            if status in (OrderStatus.REJECTED, OrderStatus.CANCELLED)
            else None,
        )

    def open_order(self, symbol: str) -> OpenOrder:
        return OpenOrder(
            venue_client_id=self.client_algo_id,
            exchange_order_id=str(self.algo_id),
            symbol=symbol,
            side=side_name(self.side),
            type=self.order_type,
            size=self.quantity or None,
            price=self.price or None,
            trigger_price=self.trigger_price,
            reduce_only=self.reduce_only or self.close_position,
            is_trigger=True,
        )


class Trade(WireModel):
    """One row of ``userTrades``."""

    id: int
    order_id: int
    symbol: str
    side: WireSide
    qty: Num
    price: Num
    commission: Num
    commission_asset: str = ""
    realized_pnl: Num = Decimal(0)
    time: int

    def fill(self, symbol: str) -> Fill:
        return Fill(
            trade_id=str(self.id),
            exchange_order_id=str(self.order_id),
            venue_client_id=None,
            symbol=symbol,
            side=side_name(self.side),
            size=self.qty,
            price=self.price,
            fee=self.commission,
            fee_asset=self.commission_asset,
            realized_pnl=self.realized_pnl,
            time_ms=self.time,
        )


class Income(WireModel):
    """One row of ``GET /fapi/v1/income`` (asked for ``incomeType=FUNDING_FEE``)."""

    symbol: str = ""
    income_type: str
    income: Num
    asset: str = ""
    time: int
    tran_id: int | str

    def payment(self, symbol: str) -> FundingPayment:
        return FundingPayment(
            payment_id=f"{self.tran_id}:{self.symbol}",
            symbol=symbol,
            amount=self.income,
            time_ms=self.time,
        )


class ForceOrder(WireModel):
    """One row of ``GET /fapi/v1/forceOrders``: an order the venue sent to liquidate (or
    auto-deleverage) the account."""

    order_id: int
    symbol: str = ""


# ---------------------------------------------------------------- market data


class MarkPrice(WireModel):
    """One row of ``premiumIndex``."""

    symbol: str
    mark_price: OptNum = None
    last_funding_rate: OptNum = None


class OpenInterest(WireModel):
    open_interest: Num


class Kline(WireModel):
    """``[openTime, open, high, low, close, volume, closeTime, ...]``."""

    open_time: int
    open: Num
    high: Num
    low: Num
    close: Num
    volume: Num

    @model_validator(mode="before")
    @classmethod
    def _from_row(cls, raw: Any) -> Any:
        if isinstance(raw, list | tuple) and len(raw) >= 6:
            return dict(
                zip(("open_time", "open", "high", "low", "close", "volume"), raw, strict=False)
            )
        return raw

    def candle(self) -> Candle:
        return Candle(
            open_time_ms=self.open_time,
            open=self.open,
            high=self.high,
            low=self.low,
            close=self.close,
            volume=self.volume,
        )
