"""Order placement through the trader's exchange, idempotent by client order id."""

from __future__ import annotations

import time

from temporalio import activity

from activities.exchanges.router import ExchangeRouter
from domain.contracts import Activity
from domain.orders import OrderIntent, OrderOutcome


class OrderActivities:
    def __init__(self, exchange: ExchangeRouter) -> None:
        self.exchange = exchange

    @activity.defn(name=Activity.PLACE_ORDER)
    async def place_order(self, intent: OrderIntent) -> OrderOutcome:
        feed = await self.exchange.feed_for(intent.account_id)
        mark = await feed.get_price(intent.symbol, int(time.time() * 1000))
        return await self.exchange.place_order(intent, mark)
