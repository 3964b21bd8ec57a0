"""Hyperliquid's replies as typed models (``/info`` reads and signed ``/exchange`` actions), and
their translation into the platform's values. Parse with ``wire.parse``/``wire.parse_list``."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from pydantic import Field, RootModel, model_validator

from adapters.exchanges.base import AccountView
from adapters.exchanges.client import Fill, FundingPayment, LivePosition, OpenOrder
from adapters.exchanges.wire import Num, OptNum, WireModel, plain
from domain.market import Candle
from domain.vocabulary import PositionSide, Side

WireSide = Literal["A", "B"]  # ask (sell) | bid (buy)


def side_name(side: WireSide) -> Side:
    return Side.BUY if side == "B" else Side.SELL


# ---------------------------------------------------------------- meta


class AssetMeta(WireModel):
    name: str
    sz_decimals: int = Field(ge=0, le=6)  # the perp price rule allows 6 - szDecimals decimals
    max_leverage: int | None = None
    is_delisted: bool = False


class Meta(WireModel):
    universe: list[AssetMeta]


class AssetContext(WireModel):
    funding: OptNum = None
    open_interest: OptNum = None


class MetaAndContexts(RootModel[tuple[Meta, list[AssetContext]]]):
    """``metaAndAssetCtxs``: ``[meta, [ctx per universe entry]]``."""

    def context(self, coin: str) -> AssetContext | None:
        meta, contexts = self.root
        for asset, ctx in zip(meta.universe, contexts, strict=False):
            if asset.name == coin:
                return ctx
        return None


# ---------------------------------------------------------------- agents


class RoleData(WireModel):
    user: str = ""


class UserRole(WireModel):
    role: str
    data: RoleData | None = None


class ExtraAgent(WireModel):
    address: str
    valid_until: int | None = None


# ---------------------------------------------------------------- account


class PositionLeverage(WireModel):
    value: Num


class Position(WireModel):
    coin: str
    szi: Num
    entry_px: OptNum = None
    position_value: Num
    leverage: PositionLeverage
    unrealized_pnl: Num
    liquidation_px: OptNum = None
    margin_used: OptNum = None

    def live(self) -> LivePosition:
        size = abs(self.szi)
        entry = self.entry_px or Decimal(0)
        return LivePosition(
            symbol=self.coin,
            side=PositionSide.LONG if self.szi > 0 else PositionSide.SHORT,
            size=size,
            entry_price=entry,
            mark_price=plain(self.position_value / size) if self.position_value else entry,
            leverage=self.leverage.value or Decimal(1),
            unrealized_pnl=self.unrealized_pnl,
            liquidation_price=self.liquidation_px,
            margin_used=self.margin_used,
        )


class AssetPosition(WireModel):
    position: Position


class MarginSummary(WireModel):
    account_value: Num
    total_margin_used: Num


class ClearinghouseState(WireModel):
    asset_positions: list[AssetPosition] = Field(default_factory=list)
    margin_summary: MarginSummary
    withdrawable: Num

    def positions(self) -> list[LivePosition]:
        return [ap.position.live() for ap in self.asset_positions if ap.position.szi != 0]

    def view(self) -> AccountView:
        positions = self.positions()
        equity = self.margin_summary.account_value
        upnl = sum((p.unrealized_pnl for p in positions), Decimal(0))
        return AccountView(
            cash_usd=equity - upnl,
            equity_usd=equity,
            available_usd=self.withdrawable,
            used_margin_usd=self.margin_summary.total_margin_used,
            realized_pnl_usd=Decimal(0),  # not part of a venue snapshot: derive from fills
            fees_paid_usd=Decimal(0),
            unrealized_pnl_usd=upnl,
            positions=list(positions),
        )


# ---------------------------------------------------------------- orders and fills


class FrontendOrder(WireModel):
    """An order as ``frontendOpenOrders`` and ``orderStatus`` describe it."""

    coin: str
    oid: int
    cloid: str | None = None
    side: WireSide
    order_type: str = "Limit"
    sz: Num
    orig_sz: OptNum = None
    limit_px: OptNum = None
    trigger_px: OptNum = None
    is_trigger: bool = False
    reduce_only: bool = False
    timestamp: int | None = None

    def open_order(self) -> OpenOrder:
        return OpenOrder(
            venue_client_id=self.cloid,
            exchange_order_id=str(self.oid),
            symbol=self.coin,
            side=side_name(self.side),
            type=self.order_type,
            size=self.sz,
            price=self.limit_px,
            trigger_price=self.trigger_px if self.is_trigger else None,
            reduce_only=self.reduce_only,
            is_trigger=self.is_trigger,
        )


class OrderWithStatus(WireModel):
    order: FrontendOrder
    status: str


class OrderStatusReply(WireModel):
    """``orderStatus``: ``{"status": "unknownOid"}`` or ``{"status": "order", "order": ...}``."""

    status: Literal["order", "unknownOid"]
    order: OrderWithStatus | None = None

    @model_validator(mode="after")
    def _order_when_found(self) -> OrderStatusReply:
        if self.status == "order" and self.order is None:
            raise ValueError("an order status without its order")
        return self


class HlFill(WireModel):
    tid: int
    oid: int
    cloid: str | None = None
    coin: str
    side: WireSide
    sz: Num
    px: Num
    fee: Num
    fee_token: str = "USDC"
    closed_pnl: Num = Decimal(0)
    time: int
    # Present on the fills of a liquidation: {liquidatedUser, markPx, method}.
    liquidation: dict[str, Any] | None = None

    def fill(self) -> Fill:
        return Fill(
            trade_id=str(self.tid),
            exchange_order_id=str(self.oid),
            venue_client_id=self.cloid,
            symbol=self.coin,
            side=side_name(self.side),
            size=self.sz,
            price=self.px,
            fee=self.fee,
            fee_asset=self.fee_token,
            realized_pnl=self.closed_pnl,
            time_ms=self.time,
            liquidation=self.liquidation is not None,
        )


class FundingDelta(WireModel):
    type: str
    coin: str = ""
    usdc: Num = Decimal(0)
    funding_rate: OptNum = None


class HlFunding(WireModel):
    """One row of ``userFunding``: a position's hourly funding settlement."""

    time: int
    delta: FundingDelta

    def payment(self) -> FundingPayment | None:
        if self.delta.type != "funding" or not self.delta.coin:
            return None
        # Hyperliquid settles each coin once an hour and gives these rows no id of their own
        # (their hash is zero): the coin and the time name one.
        return FundingPayment(
            payment_id=f"{self.delta.coin}:{self.time}",
            symbol=self.delta.coin,
            amount=self.delta.usdc,
            rate=self.delta.funding_rate,
            time_ms=self.time,
        )


# ---------------------------------------------------------------- market data


class HlCandle(WireModel):
    t: int
    o: Num
    h: Num
    low: Num = Field(alias="l")
    c: Num
    v: Num

    def candle(self) -> Candle:
        return Candle(
            open_time_ms=self.t, open=self.o, high=self.h, low=self.low, close=self.c, volume=self.v
        )


class Mids(RootModel[dict[str, Num]]):
    """``allMids``: coin -> mid price."""


# ---------------------------------------------------------------- signed actions


class ActionReply(WireModel):
    """Every ``/exchange`` answer: ``ok`` with a typed response, or ``err`` with a text."""

    status: Literal["ok", "err"]
    response: Any = None


class Filled(WireModel):
    total_sz: Num
    avg_px: Num
    oid: int


class Resting(WireModel):
    oid: int


class OrderStatusEntry(WireModel):
    """One order's result in an ``order`` action: filled, resting, or refused with a text."""

    filled: Filled | None = None
    resting: Resting | None = None
    error: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _text_is_error(cls, raw: Any) -> Any:
        return {"error": raw} if isinstance(raw, str) else raw

    @model_validator(mode="after")
    def _one_result(self) -> OrderStatusEntry:
        if self.filled is None and self.resting is None and self.error is None:
            raise ValueError("neither filled, resting nor an error")
        return self


class OrderData(WireModel):
    statuses: list[OrderStatusEntry] = Field(min_length=1)


class OrderResponse(WireModel):
    """The ``response`` of an ``ok`` ``order`` action."""

    data: OrderData

    @property
    def first(self) -> OrderStatusEntry:
        return self.data.statuses[0]


class CancelData(WireModel):
    statuses: list[Any] = Field(min_length=1)


class CancelResponse(WireModel):
    """The ``response`` of an ``ok`` cancel: ``"success"`` or ``{"error": ...}`` per order."""

    data: CancelData

    @property
    def cancelled(self) -> bool:
        return self.data.statuses[0] == "success"
