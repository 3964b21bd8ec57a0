"""A live trader's fills as its venue reports them: each recorded once (by its trade id), with
what it reports on the live stream, in one transaction: a trade_update per new fill, and a
position_update for each position the new fills opened, changed or closed.

Where a live position comes from. `GET /api/account/{id}/positions` asks the venue; inside the
transaction that records fills there is no venue answer to hand (a placement's fills come back
without the account), and asking for one would add a venue round trip to every order. So the
position is the one the recorded fills make, replayed in the order they were recorded with the
venues' own rule (average cost: a fill that adds moves the entry price to the size-weighted
average, one that reduces keeps it, one that turns the position around opens the rest at its
price): side, size and entry price equal the venue's while every fill of the position is
recorded (the platform records its own fills and, on each sync, the venue's last 24 hours).
Leverage is the one the platform set at the venue for its latest entry in the symbol (an
integer, as placement sets it; a position opened by hand at the venue has none). Mark price and
unrealised PnL are left out (null): the venue's mark is not known here, and the endpoint values
the position at its mark of the moment asked.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy import BindParameter, bindparam, insert, select
from sqlalchemy.orm import Session

from db import events, stream_events
from db.base import utcnow
from db.stream_events import Holding
from db.tables import ORDERS, TRADES
from domain.events import EventData
from domain.ids import OrderLeg
from domain.orders import OrderStatus
from domain.vocabulary import PositionSide, Side

# Built once, values bound at execution (see db/decisions.py).
_ACCOUNT: BindParameter[int] = bindparam("b_account")
_SYMBOL: BindParameter[str] = bindparam("b_symbol")
_KNOWN = select(TRADES.c.trade_id).where(
    TRADES.c.account_id == _ACCOUNT, TRADES.c.trade_id.in_(bindparam("b_ids", expanding=True))
)
_INSERT = insert(TRADES)
# Our order behind a venue's order id: Binance reports a fill's order id, not its client id.
_OURS_BY_VENUE_ID = select(ORDERS.c.exchange_order_id, ORDERS.c.client_order_id).where(
    ORDERS.c.account_id == _ACCOUNT,
    ORDERS.c.exchange_order_id.in_(bindparam("b_venue_ids", expanding=True)),
)
_OF_SYMBOL = (
    select(TRADES.c.side, TRADES.c.size, TRADES.c.price)
    .where(TRADES.c.account_id == _ACCOUNT, TRADES.c.symbol == _SYMBOL)
    .order_by(TRADES.c.id)
)
_LEVERAGE = (
    select(ORDERS.c.leverage)
    .where(
        ORDERS.c.account_id == _ACCOUNT,
        ORDERS.c.symbol == _SYMBOL,
        ORDERS.c.leg == OrderLeg.ENTRY,
        # the entry being placed is still `intent` when its fills are recorded; a refused one
        # may not have reached the leverage step
        ORDERS.c.status != OrderStatus.REJECTED,
    )
    .order_by(ORDERS.c.created_at.desc())
    .limit(1)
)


class VenueFill(Protocol):
    """What a venue says of one fill (adapters/exchanges/client.py Fill)."""

    @property
    def trade_id(self) -> str: ...
    @property
    def exchange_order_id(self) -> str: ...
    @property
    def venue_client_id(self) -> str | None: ...
    @property
    def symbol(self) -> str: ...
    @property
    def side(self) -> Side: ...
    @property
    def size(self) -> Decimal: ...
    @property
    def price(self) -> Decimal: ...
    @property
    def fee(self) -> Decimal: ...
    @property
    def realized_pnl(self) -> Decimal: ...
    @property
    def time_ms(self) -> int: ...
    @property
    def liquidation(self) -> bool: ...


@dataclass(frozen=True)
class Net:
    """A position as its fills make it: signed size (negative: short) and entry price."""

    size: Decimal = Decimal(0)
    entry: Decimal | None = None

    def after(self, side: str, size: Decimal, price: Decimal) -> Net:
        signed = size if side == Side.BUY else -size
        new = self.size + signed
        if self.size == 0 or self.entry is None:  # opens
            return Net(new, price)
        if (self.size > 0) == (signed > 0):  # adds: the size-weighted average
            held = abs(self.size)
            return Net(new, (held * self.entry + size * price) / (held + size))
        if new == 0:
            return Net()
        if (new > 0) != (self.size > 0):  # turned around: the rest opens at this price
            return Net(new, price)
        return Net(new, self.entry)  # reduces: the entry stays


def replay(fills: Iterable[Any]) -> Net:
    """The position `fills` (rows with side, size, price, oldest first) add up to."""
    net = Net()
    for f in fills:
        net = net.after(f.side, f.size, f.price)
    return net


def _holding(net: Net, leverage: Decimal | None) -> Holding | None:
    if net.size == 0:
        return None
    side = PositionSide.LONG if net.size > 0 else PositionSide.SHORT
    return Holding(side=side, size=abs(net.size), entry_price=net.entry, leverage=leverage)


def record_fills(s: Session, account_id: int, fills: Sequence[VenueFill]) -> int:
    """Record the fills not recorded yet, with their reports; how many were new."""
    conn = s.connection()
    ids = [f.trade_id for f in fills]
    seen = set(conn.scalars(_KNOWN, {"b_account": account_id, "b_ids": ids}))
    new: list[VenueFill] = []
    for f in sorted(fills, key=lambda f: (f.time_ms, f.trade_id)):  # recorded in venue order
        if f.trade_id not in seen:
            seen.add(f.trade_id)
            new.append(f)
    if not new:
        return 0
    at = utcnow()
    held = {sym: list(conn.execute(_OF_SYMBOL, _key(account_id, sym))) for sym in _symbols(new)}
    # Our order behind each fill, by the venue's order id: Binance names no client id, and
    # Hyperliquid names ours in its own form (a cloid); either way the trade shows our id.
    venue_ids = sorted({f.exchange_order_id for f in new if f.exchange_order_id})
    ours: dict[str, str] = {}
    if venue_ids:
        key = {"b_account": account_id, "b_venue_ids": venue_ids}
        ours = {venue: coid for venue, coid in conn.execute(_OURS_BY_VENUE_ID, key)}
    rows = [
        {
            "account_id": account_id,
            "trade_id": f.trade_id,
            "client_order_id": ours.get(f.exchange_order_id) or f.venue_client_id,
            "symbol": f.symbol,
            "side": f.side,
            "size": f.size,
            "price": f.price,
            "fee": f.fee,
            "realized_pnl": f.realized_pnl,
            "trigger": "liquidation" if f.liquidation else None,
            "created_at": at,
        }
        for f in new
    ]
    conn.execute(_INSERT, rows)
    reports: list[EventData] = [
        stream_events.filled(account_id, row, at, f.exchange_order_id)
        for row, f in zip(rows, new, strict=True)
    ]
    for sym, earlier in held.items():
        leverage = conn.execute(_LEVERAGE, _key(account_id, sym)).scalar()
        venue_leverage = None if leverage is None else Decimal(int(leverage))
        before = replay(earlier)
        after = replay([*earlier, *(f for f in new if f.symbol == sym)])
        reports += stream_events.position_moves(
            account_id,
            sym,
            _holding(before, venue_leverage),
            _holding(after, venue_leverage),
            at,
        )
    events.append(s, *reports)
    return len(new)


def foreign_new(s: Session, account_id: int, fills: Sequence[VenueFill]) -> list[VenueFill]:
    """The fills not recorded yet that no order of ours made (by the venue's client id or
    order id): a liquidation, or a trade made by hand at the venue."""
    conn = s.connection()
    ids = [f.trade_id for f in fills]
    seen = set(conn.scalars(_KNOWN, {"b_account": account_id, "b_ids": ids}))
    fresh = [f for f in fills if f.trade_id not in seen and not f.venue_client_id]
    if not fresh:
        return []
    key = {"b_account": account_id, "b_venue_ids": [f.exchange_order_id for f in fresh]}
    ours = {venue for venue, _ in conn.execute(_OURS_BY_VENUE_ID, key)}
    return [f for f in fresh if f.exchange_order_id not in ours]


def _key(account_id: int, symbol: str) -> dict[str, Any]:
    return {"b_account": account_id, "b_symbol": symbol}


def _symbols(fills: Iterable[VenueFill]) -> list[str]:
    return sorted({f.symbol for f in fills})
