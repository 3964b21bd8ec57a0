"""A trader's current state at live marks: positions, overview, resting orders. One function
each, called by the REST routes (api/routes/history.py) and the live stream's `bootstrap` and
`get_snapshot` (api/ws/), so both answer the same values."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import HTTPConnection

from adapters.market.snapshot import now_ms
from api.market import feed_for
from api.queries import order_dict
from api.schemas import OverviewOut, PositionOut, PositionsOut
from db.models import Account, DecisionRecord, OrderRecord, TradeRecord
from domain.orders import OrderStatus
from domain.trader import TraderStatus
from domain.vocabulary import Exchange


async def _view(conn: HTTPConnection, account_id: int, symbols: list[str]) -> Any:
    feed = await feed_for(conn, account_id)
    at = now_ms()
    marks = {sym: await feed.get_price(sym, at) for sym in symbols}
    return await conn.app.state.exchange.view(account_id, marks)


async def positions_of(conn: HTTPConnection, acct: Account) -> PositionsOut:
    """Open positions at current marks."""
    view = await _view(conn, acct.id, list(acct.symbols))
    return PositionsOut(
        account_id=acct.id,
        positions=[PositionOut.model_validate(p.model_dump()) for p in view.positions],
        total_count=len(view.positions),
        total_unrealized_pnl=sum((p.unrealized_pnl for p in view.positions), Decimal(0)),
    )


async def overview_of(conn: HTTPConnection, s: AsyncSession, acct: Account) -> OverviewOut:
    """Equity, PnL, trade count and status."""
    view = await _view(conn, acct.id, list(acct.symbols))
    n_trades = await s.scalar(
        select(func.count()).select_from(TradeRecord).where(TradeRecord.account_id == acct.id)
    )
    n_decisions = await s.scalar(
        select(func.count()).select_from(DecisionRecord).where(DecisionRecord.account_id == acct.id)
    )
    return OverviewOut(
        id=acct.id,
        name=acct.name,
        status=TraderStatus.DELETED if acct.is_deleted else TraderStatus(acct.status),
        status_reason=acct.status_reason,
        trading_enabled=acct.trading_enabled and not acct.is_deleted,
        exchange=Exchange(acct.exchange),
        initial_capital=acct.initial_capital,
        equity=view.equity_usd,
        cash=view.cash_usd,
        available=view.available_usd,
        used_margin=view.used_margin_usd,
        realized_pnl=view.realized_pnl_usd,
        unrealized_pnl=view.unrealized_pnl_usd,
        fees_paid=view.fees_paid_usd,
        total_pnl=view.equity_usd - acct.initial_capital,
        total_trades=n_trades or 0,
        total_decisions=n_decisions or 0,
        open_positions=len(view.positions),
    )


async def open_orders_of(conn: HTTPConnection, acct: Account) -> dict[str, object]:
    """Orders resting at the exchange, TP/SL triggers included (on paper: its resting limit
    orders, as GET .../orders shows them; paper TP/SL live in the position)."""
    if acct.exchange == Exchange.PAPER:
        async with conn.app.state.sessions() as s:
            rows = await s.scalars(
                select(OrderRecord)
                .where(
                    OrderRecord.account_id == acct.id,
                    OrderRecord.status == OrderStatus.SUBMITTED.value,
                )
                .order_by(OrderRecord.created_at)
            )
            return {"account_id": acct.id, "orders": [order_dict(o) for o in rows]}
    async with conn.app.state.exchange.live.client(acct.id) as client:
        orders = await client.open_orders()
    return {"account_id": acct.id, "orders": orders}
