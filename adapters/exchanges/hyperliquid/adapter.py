"""Hyperliquid perpetuals: order lookup and the venue's hooks for the shared placement algorithm
(``adapters/exchanges/placement.py``); the reads are in ``reads.py``.

Market orders are IOC limit orders at mark +/- ``slippage``; limit orders are limit orders with
the intent's time in force (GTC ``Gtc``, IOC ``Ioc``, post-only ``Alo``); TP/SL are reduce-only
trigger orders (``tpsl``) with their own cloids. Every client order id maps to a 16-byte cloid.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hyperliquid.utils.types import Cloid

from adapters.exchanges import placement
from adapters.exchanges.client import ErrorCode, ExchangeError, LivePosition
from adapters.exchanges.hyperliquid import schemas as hl
from adapters.exchanges.hyperliquid.errors import VENUE, map_status, reject_code
from adapters.exchanges.hyperliquid.reads import HyperliquidReads
from adapters.exchanges.hyperliquid.transport import now_ms
from adapters.exchanges.placement import ProtectiveLeg, VenueOrder, decided, rejected
from adapters.exchanges.wire import parse, plain, safe_text
from domain.exchange_rules import (
    InstrumentRules,
    SizeDeny,
    hyperliquid_cloid,
    round_quantity,
    slippage_price,
)
from domain.orders import OrderIntent, OrderOutcome, OrderStatus, TimeInForce

_TIF = {TimeInForce.GTC: "Gtc", TimeInForce.IOC: "Ioc", TimeInForce.POST_ONLY: "Alo"}


def _cloid(client_order_id: str) -> Cloid:
    return Cloid(hyperliquid_cloid(client_order_id))


class HyperliquidClient(HyperliquidReads):
    async def lookup(self, client_order_id: str, symbol: str | None = None) -> OrderOutcome | None:
        payload = {
            "type": "orderStatus",
            "user": self.wallet_address,
            "oid": hyperliquid_cloid(client_order_id),
        }
        reply = await self._info(hl.OrderStatusReply, payload)
        if reply.order is None:
            return None  # unknownOid: the venue has no order with this cloid
        order, status = reply.order.order, reply.order.status
        fills = await self._order_fills(str(order.oid), order.timestamp)
        filled = sum((f.size for f in fills), Decimal(0))
        if not fills and status == "filled":
            filled = (order.orig_sz or Decimal(0)) - order.sz
        avg = (
            plain(sum((f.size * f.price for f in fills), Decimal(0)) / filled)
            if fills and filled
            else None
        )
        mapped = map_status(status, filled)
        return OrderOutcome(
            client_order_id=client_order_id,
            status=mapped,
            symbol=order.coin,
            side=hl.side_name(order.side),
            exchange_order_id=str(order.oid),
            filled_size=filled if filled else None,
            avg_price=avg,
            fee=sum((f.fee for f in fills), Decimal(0)) if fills else None,
            reject_reason=status
            if mapped in (OrderStatus.REJECTED, OrderStatus.CANCELLED)
            else None,
        )

    async def place(
        self, intent: OrderIntent, mark: Decimal, known: OrderOutcome | None = None
    ) -> OrderOutcome:
        return await placement.place(self, intent, mark, known)

    async def cancel(self, client_order_id: str, symbol: str | None = None) -> bool:
        return await placement.cancel(self, client_order_id, symbol)

    # ------------------------------------------------------------ placement hooks

    async def position(self, rules: InstrumentRules) -> LivePosition | None:
        positions = (await self._clearinghouse()).positions()
        return next((p for p in positions if p.symbol == rules.symbol), None)

    def _limit_price(self, order: VenueOrder) -> Decimal | None:
        if order.limit_price is not None:
            return order.limit_price
        return slippage_price(order.mark, order.is_buy, self.slippage, order.rules)

    def refusal(self, order: VenueOrder) -> str | None:
        # a market order is an IOC limit order: its price must be a valid price
        return SizeDeny.PRICE_INVALID.value if self._limit_price(order) is None else None

    async def set_leverage(self, rules: InstrumentRules, leverage: int) -> str | None:
        coin = rules.venue_symbol
        reply = await self._act(
            "updateLeverage", lambda ex: ex.update_leverage(leverage, coin, is_cross=True)
        )
        return safe_text(reply.response) if reply.status == "err" else None

    async def submit(self, order: VenueOrder) -> OrderOutcome:
        intent, coin, qty = order.intent, order.rules.venue_symbol, order.quantity
        limit_px = self._limit_price(order)
        assert limit_px is not None  # refusal() said so
        is_limit = order.limit_price is not None
        tif = _TIF[order.time_in_force] if is_limit else "Ioc"
        cloid = _cloid(intent.client_order_id)
        reply = await self._act(
            "order",
            lambda ex: ex.order(
                coin,
                order.is_buy,
                float(qty),  # SDK boundary: the SDK takes floats and re-checks 8-decimal wire form
                float(limit_px),
                {"limit": {"tif": tif}},
                reduce_only=intent.reduce_only,
                cloid=cloid,
            ),
        )
        if reply.status == "err":
            msg = safe_text(reply.response)
            return rejected(intent, f"{reject_code(msg)}: {msg}")
        st = parse(hl.OrderResponse, reply.response, venue=VENUE, what="order", mutating=True).first
        if st.filled is not None and (tif == "Ioc" or st.filled.total_sz >= qty):
            return self._answered(order, OrderStatus.FILLED, st.filled.oid, st.filled)
        accepted = st.filled or st.resting
        if accepted is not None:  # resting, perhaps partly filled already
            return await self._resting(order, accepted.oid)
        msg = safe_text(st.error)
        code = reject_code(msg)
        if is_limit and tif == "Ioc" and code == "NO_LIQUIDITY":
            return decided(intent, OrderStatus.CANCELLED, f"{code}: {msg}")  # IOC: nothing filled
        return rejected(intent, f"{code}: {msg}")

    @staticmethod
    def _answered(
        order: VenueOrder, status: OrderStatus, oid: int, filled: hl.Filled | None = None
    ) -> OrderOutcome:
        intent = order.intent
        return OrderOutcome(
            client_order_id=intent.client_order_id,
            symbol=intent.symbol,
            side=intent.side,
            status=status,
            exchange_order_id=str(oid),
            filled_size=filled.total_sz if filled else None,
            avg_price=filled.avg_px if filled else None,
        )

    async def _resting(self, order: VenueOrder, oid: int) -> OrderOutcome:
        """A resting order's answer, with what of it filled at once (its fills: best effort,
        the sync learns them later otherwise)."""
        resting = self._answered(order, OrderStatus.SUBMITTED, oid)
        try:
            fills = await self._order_fills(str(oid), now_ms() - 60_000)
        except ExchangeError:
            return resting
        if not fills:
            return resting
        size = sum((f.size for f in fills), Decimal(0))
        return resting.model_copy(
            update={
                "filled_size": size,
                "avg_price": plain(sum((f.size * f.price for f in fills), Decimal(0)) / size),
                "fee": sum((f.fee for f in fills), Decimal(0)),
            }
        )

    async def fee(self, outcome: OrderOutcome) -> Decimal | None:
        assert outcome.exchange_order_id is not None
        fills = await self._order_fills(outcome.exchange_order_id, now_ms() - 60_000)
        return sum((f.fee for f in fills), Decimal(0)) if fills else None

    async def place_trigger(self, leg: ProtectiveLeg) -> None:
        assert leg.entry.filled_size is not None  # placement checked the entry's fill
        size = round_quantity(leg.entry.filled_size, leg.rules, market=False)
        if size <= 0:
            raise ExchangeError(
                ErrorCode.INVALID_ORDER,
                f"{SizeDeny.QUANTITY_BELOW_MINIMUM.value}: {leg.kind} size rounds to zero",
                retryable=False,
                venue=VENUE,
            )
        what = f"order {leg.kind}"
        order_type: Any = {
            "trigger": {"triggerPx": float(leg.trigger), "isMarket": True, "tpsl": leg.kind}
        }
        coin, cloid = leg.rules.venue_symbol, _cloid(leg.client_order_id)
        reply = await self._act(
            what,
            lambda ex: ex.order(
                coin,
                leg.is_buy,
                float(size),
                float(leg.trigger),
                order_type,
                reduce_only=True,
                cloid=cloid,
            ),
        )
        if reply.status == "ok":
            st = parse(
                hl.OrderResponse, reply.response, venue=VENUE, what=what, mutating=True
            ).first
            if st.resting is not None or st.filled is not None:
                return
            msg = safe_text(st.error)
        else:
            msg = safe_text(reply.response)
        raise ExchangeError(ErrorCode.INVALID_ORDER, msg, retryable=False, venue=VENUE)

    async def cancel_triggers(self, rules: InstrumentRules) -> None:
        coin = rules.venue_symbol
        stale = [
            o.oid
            for o in await self._frontend_open_orders()
            if o.coin == coin and o.is_trigger and o.reduce_only
        ]
        if stale:
            await self._act(
                "cancel", lambda ex: ex.bulk_cancel([{"coin": coin, "oid": oid} for oid in stale])
            )

    async def cancel_resting(
        self, client_order_id: str, order: OrderOutcome, symbol: str | None
    ) -> bool:
        coin, cloid = order.symbol or symbol or "", _cloid(client_order_id)
        what = "cancelByCloid"
        reply = await self._act(what, lambda ex: ex.cancel_by_cloid(coin, cloid))
        if reply.status != "ok":
            return False
        return parse(
            hl.CancelResponse, reply.response, venue=VENUE, what=what, mutating=True
        ).cancelled
