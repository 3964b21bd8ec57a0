"""Order placement through the trader's exchange, idempotent by client order id."""

from __future__ import annotations

import time

from temporalio import activity

from activities.exchanges.router import ExchangeRouter
from domain.contracts import Activity, CancelOrderInput, CancelOrderResult
from domain.orders import OrderIntent, OrderOutcome


class OrderActivities:
    def __init__(self, exchange: ExchangeRouter) -> None:
        self.exchange = exchange

    @activity.defn(name=Activity.PLACE_ORDER)
    async def place_order(self, intent: OrderIntent) -> OrderOutcome:
        feed = await self.exchange.feed_for(intent.account_id)
        mark = await feed.get_price(intent.symbol, int(time.time() * 1000))
        return await self.exchange.place_order(intent, mark)

    @activity.defn(name=Activity.CANCEL_ORDER)
    async def cancel_order(self, req: CancelOrderInput) -> CancelOrderResult:
        """Cancel a resting order the platform placed; record it if it is one of our rows."""
        cancelled, reason = await self.exchange.cancel(
            req.account_id, req.client_order_id, req.symbol
        )
        if cancelled:
            await self.exchange.mark_cancelled(req.client_order_id)
        return CancelOrderResult(
            client_order_id=req.client_order_id, cancelled=cancelled, reason=reason
        )
