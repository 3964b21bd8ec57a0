"""Order placement through the trader's exchange, idempotent by client order id."""

from __future__ import annotations

import time

from temporalio import activity

from activities.exchanges.base import Exchange
from activities.market.feed import MarketFeed
from domain.contracts import Activity
from domain.orders import OrderIntent, OrderOutcome


class OrderActivities:
    def __init__(self, exchange: Exchange, feed: MarketFeed) -> None:
        self.exchange = exchange
        self.feed = feed

    @activity.defn(name=Activity.PLACE_ORDER)
    async def place_order(self, intent: OrderIntent) -> OrderOutcome:
        mark = await self.feed.get_price(intent.symbol, int(time.time() * 1000))
        return await self.exchange.place_order(intent, mark)
