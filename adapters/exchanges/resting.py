"""A live trader's orders that rest at its venue: limit orders and TP/SL triggers.

* ``refresh`` (on every account sync): an order recorded `submitted` that the venue no longer
  lists as open is looked up and what became of it is recorded (filled, cancelled); one still
  open that the sync's fills show part filled is recorded with what filled so far (still
  `submitted`). A limit entry that rested and has now filled gets its TP/SL legs then: legs
  are never placed while an entry rests, since a trigger for a size not held yet could close a
  position the entry did not open (Binance's legs close the whole position).
* ``open_orders``: the orders resting at the venue, named by our client order id where ours.

The fills themselves are recorded by the sync from the venue's fill list (db/fills.py).
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from adapters.exchanges.client import ExchangeClient, Fill, ProtectiveOrderError
from adapters.exchanges.wire import plain
from db.models import OrderRecord
from domain.ids import OrderLeg
from domain.orders import OrderIntent, OrderOutcome, OrderStatus
from domain.vocabulary import Side

if TYPE_CHECKING:
    from adapters.exchanges.live import LiveExchanges

log = logging.getLogger("hyperoru.exchanges")

# Our orders that can be resting at the venue (an `unknown` one may have reached it).
_MAY_REST = (OrderStatus.SUBMITTED, OrderStatus.UNKNOWN)


async def _recorded(live: LiveExchanges, account_id: int, *statuses: str) -> list[OrderRecord]:
    async with live.sessions() as s:
        return list(
            await s.scalars(
                select(OrderRecord).where(
                    OrderRecord.account_id == account_id, OrderRecord.status.in_(statuses)
                )
            )
        )


async def refresh(
    live: LiveExchanges, account_id: int, client: ExchangeClient, fills: list[Fill]
) -> None:
    """Orders we recorded as resting: those no longer open, ask the venue what became of them
    and record it (a filled limit entry gets its TP/SL legs first); those still open, record
    what ``fills`` (the sync's) show of them filled so far."""
    resting = await _recorded(live, account_id, OrderStatus.SUBMITTED)
    if not resting:
        return
    open_ids = {
        o.get("client_order_id") or o.get("venue_client_id") for o in await client.open_orders()
    }
    for order in resting:
        coid = order.client_order_id
        venue_id = client.venue_client_id(coid)
        if coid in open_ids or venue_id in open_ids:
            await _part_filled(live, order, venue_id, fills)
            continue
        found = await client.lookup(coid, order.symbol)
        if found is None or found.status is OrderStatus.SUBMITTED:
            continue
        if found.status is OrderStatus.FILLED and order.leg == OrderLeg.ENTRY:
            protected = await _protect_filled(live, client, order, found)
            if protected is None:
                continue  # still `submitted` in our records: the next sync tries again
            found = protected
        await live.record_outcome(found, "refresh_resting")


async def _part_filled(
    live: LiveExchanges, order: OrderRecord, venue_id: str, fills: list[Fill]
) -> None:
    """A resting order's fills so far (filled size, average price, fees), if more than its row
    says; it stays `submitted`. A Hyperliquid fill names our cloid, a Binance one only the
    venue's order id."""
    mine = [
        f
        for f in fills
        if f.venue_client_id == venue_id
        or (order.exchange_order_id is not None and f.exchange_order_id == order.exchange_order_id)
    ]
    size = sum((f.size for f in mine), Decimal(0))
    if not mine or size <= (order.filled_size or 0):
        return  # nothing new (or fills older than the sync's look-back: the row knows more)
    await live.record_outcome(
        OrderOutcome(
            client_order_id=order.client_order_id,
            status=OrderStatus.SUBMITTED,
            symbol=order.symbol,
            side=Side(order.side),
            exchange_order_id=order.exchange_order_id,
            filled_size=size,
            avg_price=plain(sum((f.size * f.price for f in mine), Decimal(0)) / size),
            fee=sum((f.fee for f in mine), Decimal(0)),
        ),
        "refresh_resting",
    )


async def _protect_filled(
    live: LiveExchanges, client: ExchangeClient, order: OrderRecord, found: OrderOutcome
) -> OrderOutcome | None:
    """The filled entry's missing TP/SL legs, each looked up first (placement.ensure_protection,
    as for an entry filled at placement). None when a leg could not be placed for a reason
    that may pass; a leg the venue refuses is recorded on the entry, as at placement."""
    intent = intent_of(order)
    if intent.take_profit_pct is None and intent.stop_loss_pct is None:
        return found
    try:
        found = await client.place(intent, found.avg_price or Decimal(0), known=found)
    except ProtectiveOrderError as err:
        if err.retryable:
            log.warning("order %s: TP/SL not placed yet: %s", order.client_order_id, err)
            return None
        found = err.entry.model_copy(
            update={"reject_reason": f"take-profit/stop-loss not placed: {err}"}
        )
    await live.record_protective_legs(intent)
    return found


async def open_orders(live: LiveExchanges, account_id: int) -> list[dict[str, Any]]:
    """The trader's orders resting at its venue (``client.OpenOrder`` as dicts, TP/SL triggers
    included), each with ``client_order_id``: ours when the platform placed it (the venue
    knows it by its cloid / newClientOrderId), else None."""
    ours = [o.client_order_id for o in await _recorded(live, account_id, *_MAY_REST)]
    async with live.client(account_id) as c:
        opened = await c.open_orders()
        by_venue_id = {c.venue_client_id(coid): coid for coid in ours}
    return [
        {**o, "client_order_id": by_venue_id.get(o.get("venue_client_id") or "")} for o in opened
    ]


def intent_of(order: OrderRecord) -> OrderIntent:
    """A recorded order as the intent placement takes (to place a filled entry's TP/SL legs:
    its id, symbol, side, leverage and TP/SL percentages are what is read)."""
    return OrderIntent(
        client_order_id=order.client_order_id,
        account_id=order.account_id,
        decision_id=order.decision_id,
        leg=OrderLeg(order.leg),
        symbol=order.symbol,
        side=Side(order.side),
        reduce_only=order.reduce_only,
        size_usd=order.size_usd,
        leverage=order.leverage,
        take_profit_pct=order.take_profit_pct,
        stop_loss_pct=order.stop_loss_pct,
    )
