"""Order placement through the trader's exchange, idempotent by client order id."""

from __future__ import annotations

import time

from temporalio import activity

from activities.heartbeat import with_heartbeats
from adapters.exchanges.router import ExchangeRouter
from domain import profiles
from domain.contracts import Activity, CancelOrderInput, CancelOrderResult, ResolveOrderInput
from domain.orders import OrderIntent, OrderOutcome


class OrderActivities:
    def __init__(
        self, exchange: ExchangeRouter, resolve_seconds: float = profiles.ORDER_RESOLVE_SECONDS
    ) -> None:
        self.exchange = exchange
        self.resolve_seconds = resolve_seconds

    @activity.defn(name=Activity.PLACE_ORDER)
    async def place_order(self, intent: OrderIntent) -> OrderOutcome:
        return await with_heartbeats(self._place(intent, activity.info().attempt))

    async def _place(self, intent: OrderIntent, attempt: int) -> OrderOutcome:
        feed = await self.exchange.feed_for(intent.account_id)
        mark = await feed.get_price(intent.symbol, int(time.time() * 1000))
        if attempt > 1:
            return await self.exchange.place_order_retry(intent, mark)
        return await self.exchange.place_order(intent, mark)

    @activity.defn(name=Activity.RESOLVE_ORDER)
    async def resolve_order(self, req: ResolveOrderInput) -> OrderOutcome:
        """Look an `unknown` order up with backoff until the bound; never resend it."""
        deadline = activity.info().scheduled_time.timestamp() + self.resolve_seconds
        return await with_heartbeats(self.exchange.resolve_order(req.intent, deadline))

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
