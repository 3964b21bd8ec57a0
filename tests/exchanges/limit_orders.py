"""Limit-order intents (the shared contract in domain/orders.py) for the live venues' tests."""

from __future__ import annotations

from decimal import Decimal as D

from domain.orders import OrderIntent, OrderType, TimeInForce


def limit(
    price: str,
    cid: str = "ho-1-1-entry",
    *,
    side: str = "buy",
    tif: TimeInForce | None = None,
    size_usd: str | None = "1000",
    size_base: str | None = None,
    symbol: str = "BTC",
    reduce_only: bool = False,
    tp: str | None = None,
    sl: str | None = None,
    account_id: int = 1,
    decision_id: str = "d-1",
) -> OrderIntent:
    return OrderIntent(
        client_order_id=cid,
        account_id=account_id,
        decision_id=decision_id,
        leg="close" if reduce_only else "entry",
        symbol=symbol,
        side=side,
        reduce_only=reduce_only,
        size_usd=D(size_usd) if size_usd is not None and size_base is None else None,
        leverage=D(5),
        take_profit_pct=D(tp) if tp else None,
        stop_loss_pct=D(sl) if sl else None,
        order_type=OrderType.LIMIT,
        limit_price=D(price),
        time_in_force=tif,
        size_base=D(size_base) if size_base is not None else None,
    )
