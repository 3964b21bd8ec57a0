"""The built-in paper exchange: one perpetuals account per trader, stored in the database.

Limit orders rest in the account's state (domain/paper_limits.py): each sync, and each order
of the trader, first fills those the marks have reached (recorded like any fill, the order's
row moving submitted -> filled); a cancel takes one off the book.

Each fill is recorded with what it reports on the live stream (a trade_update, and the
position_update of the position it opened, changed or closed: from the account's state before
and after it), in the transaction that saves the account."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BindParameter, bindparam, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from adapters.exchanges import retry
from adapters.exchanges.base import AccountView
from adapters.exchanges.placement import decided, rejected
from db import equity, events, stream_events
from db.base import utcnow
from db.order_status import set_order_status
from db.orders import outcome_of
from db.round_trips import record_after_fills
from db.stream_events import Holding
from db.tables import ACCOUNTS, ORDERS, PAPER_ACCOUNTS, TRADES
from db.transactions import read, write
from domain import paper, paper_limits, paper_liquidation
from domain.events import EventData
from domain.orders import OrderIntent, OrderOutcome, OrderStatus, OrderType, TimeInForce
from domain.risk import PositionView
from domain.vocabulary import Side

# Built once, values bound at execution (see db/decisions.py).
_ACCOUNT: BindParameter[int] = bindparam("b_account")
_STATE = select(PAPER_ACCOUNTS.c.state).where(PAPER_ACCOUNTS.c.account_id == _ACCOUNT)
_STATE_LOCKED = _STATE.with_for_update()
_CAPITAL = select(ACCOUNTS.c.initial_capital).where(ACCOUNTS.c.id == _ACCOUNT)
_CREATE = {
    name: dialect.insert(PAPER_ACCOUNTS)
    .on_conflict_do_nothing()
    .returning(PAPER_ACCOUNTS.c.account_id)
    for name, dialect in (("sqlite", sqlite), ("postgresql", postgresql))
}
_SAVE = (
    update(PAPER_ACCOUNTS)
    .where(PAPER_ACCOUNTS.c.account_id == _ACCOUNT)
    .values(version=PAPER_ACCOUNTS.c.version + 1)
)
_ORDER_ID: BindParameter[str] = bindparam("b_coid")
_ORDER_LOCKED = select(ORDERS).where(ORDERS.c.client_order_id == _ORDER_ID).with_for_update()
_TRADE_FOUND = select(TRADES.c.id).where(
    TRADES.c.account_id == _ACCOUNT, TRADES.c.trade_id == bindparam("b_trade")
)
_TRADE_INSERT = insert(TRADES)
# A paper order in one of these never executed: its transaction did not commit.
NEVER_EXECUTED = (OrderStatus.INTENT, OrderStatus.UNKNOWN)
# A paper order in one of these was executed (it rests, filled, or was refused or cancelled).
EXECUTED = (OrderStatus.FILLED, OrderStatus.REJECTED, OrderStatus.SUBMITTED, OrderStatus.CANCELLED)


class PaperExchange:
    def __init__(self, sessions: async_sessionmaker[AsyncSession], cfg: paper.PaperConfig) -> None:
        self.sessions = sessions
        self.cfg = cfg
        # The last mark this process saw per symbol (the paper market is one for all traders):
        # a fill's equity point values the account's other positions at them.
        self.marks: dict[str, Decimal] = {}

    @staticmethod
    def _load(s: Session, account_id: int, lock: bool) -> paper.PaperAccount:
        """The account's state, the row created on first use."""
        conn = s.connection()
        key = {"b_account": account_id}
        stored = conn.execute(_STATE_LOCKED if lock else _STATE, key).scalar_one_or_none()
        if stored is not None:
            return paper.account_from_dict(stored)
        capital = conn.execute(_CAPITAL, key).scalar_one_or_none()
        if capital is None:
            raise LookupError(f"account {account_id} not found")
        state = paper.PaperAccount(cash=capital)
        # Another process (the API's view, the worker's first sync) may create it at the same
        # moment: the first row stands, and is the one returned.
        created = {"account_id": account_id, "state": paper.account_to_dict(state)}
        if conn.execute(_CREATE[conn.dialect.name], created).first() is not None:
            return state
        stored = conn.execute(_STATE_LOCKED if lock else _STATE, key).scalar_one()
        return paper.account_from_dict(stored)

    @staticmethod
    def _save(s: Session, account_id: int, state: paper.PaperAccount) -> None:
        s.connection().execute(
            _SAVE, {"b_account": account_id, "state": paper.account_to_dict(state)}
        )

    @staticmethod
    def _view(state: paper.PaperAccount, marks: dict[str, Decimal]) -> AccountView:
        positions = [
            PositionView(
                symbol=p.symbol,
                side=p.side,
                size=p.size,
                entry_price=p.entry_price,
                mark_price=marks.get(p.symbol, p.entry_price),
                leverage=p.leverage,
                unrealized_pnl=p.unrealized_pnl(marks.get(p.symbol, p.entry_price)),
            )
            for p in state.positions.values()
        ]
        equity = state.equity(marks)
        return AccountView(
            cash_usd=state.cash,
            equity_usd=equity,
            available_usd=state.available(marks),
            used_margin_usd=state.used_margin(),
            realized_pnl_usd=state.realized_pnl,
            fees_paid_usd=state.fees_paid,
            unrealized_pnl_usd=equity - state.cash,
            positions=positions,
        )

    view_of = _view  # the periodic equity sample values many accounts at once

    def _record_equity(
        self, s: Session, account_id: int, state: paper.PaperAccount, marks: dict[str, Decimal]
    ) -> None:
        """The account's equity point after a fill, in the fill's transaction."""
        self.marks.update(marks)
        view = self._view(state, dict(self.marks))
        equity.record(s, view.equity_point(account_id, utcnow()))

    async def view(self, account_id: int, marks: dict[str, Decimal]) -> AccountView:
        # Why a read first: only the first view writes (it creates the paper account row), and
        # a write transaction queues behind every other write (db/transactions.py).
        self.marks.update(marks)
        seen = await read(self.sessions, lambda s: self._peek(s, account_id))
        if seen is not None:
            return self._view(seen, marks)
        return await write(
            self.sessions, lambda s: self._view(self._load(s, account_id, False), marks)
        )

    @staticmethod
    def _peek(s: Session, account_id: int) -> paper.PaperAccount | None:
        state = s.connection().execute(_STATE, {"b_account": account_id}).scalar_one_or_none()
        return None if state is None else paper.account_from_dict(state)

    async def sync(self, account_id: int, marks: dict[str, Decimal]) -> AccountView:
        """Fire the liquidations and TP/SL triggers the marks have crossed
        (paper_liquidation.check_marks); trigger fills are recorded once."""
        # Why a read first: most syncs fire nothing, and a write transaction per decision that
        # writes nothing still queues behind every other write (db/transactions.py).
        self.marks.update(marks)
        seen = await read(self.sessions, lambda s: self._peek(s, account_id))
        if seen is not None and not self._moves(seen, marks):
            return self._view(seen, marks)

        def check(s: Session) -> AccountView:  # the row is created, or re-checked under the lock
            before = self._load(s, account_id, lock=True)
            at = utcnow()  # the fills' and the positions' time
            triggered, fills = paper_liquidation.check_marks(before, marks, self.cfg)
            reports = [r for f in fills for r in _record_fill(s, account_id, f, at)]
            state, resting = self._fill_resting(s, account_id, triggered, marks, at)
            if fills or state is not triggered:
                self._save(s, account_id, state)
                for symbol in sorted({f.symbol for f in fills} | resting):
                    reports += _position_moves(account_id, symbol, before, state, marks, at)
                events.append(s, *reports)
                self._record_equity(s, account_id, state, marks)
            return self._view(state, marks)

        return await write(self.sessions, check)

    def _moves(self, state: paper.PaperAccount, marks: dict[str, Decimal]) -> bool:
        """The marks fire a liquidation or a TP/SL, or reach a resting order."""
        if paper_liquidation.check_marks(state, marks, self.cfg)[1]:
            return True
        _, fills, dropped = paper_limits.fill_resting(state, marks, self.cfg)
        return bool(fills or dropped)

    def _fill_resting(
        self,
        s: Session,
        account_id: int,
        state: paper.PaperAccount,
        marks: dict[str, Decimal],
        at: datetime,
    ) -> tuple[paper.PaperAccount, set[str]]:
        """Fill the resting orders the marks reached (their rows: filled; any that can no
        longer execute: cancelled, with why); the new state (the same object if nothing
        changed) and the symbols whose position the fills moved (the fills' reports are
        appended here, the positions' are the caller's)."""
        after, fills, dropped = paper_limits.fill_resting(state, marks, self.cfg)
        for fill in fills:
            eid = f"paper-{fill.client_order_id}"
            events.append(s, *_record_fill(s, account_id, fill, at, eid))
            set_order_status(
                s,
                fill.client_order_id,
                OrderStatus.FILLED,
                "paper_fill",
                filled_size=fill.size,
                avg_price=fill.price,
                fee=fill.fee,
            )
        for coid, reason in dropped.items():
            set_order_status(s, coid, OrderStatus.CANCELLED, "paper_fill", reject_reason=reason)
        return after, {f.symbol for f in fills}

    async def cancel(self, account_id: int, client_order_id: str) -> tuple[bool, str]:
        """Take a resting limit order off the book (its margin released, its row cancelled)."""

        def take(s: Session) -> tuple[bool, str]:
            state = self._load(s, account_id, lock=True)
            after = paper_limits.cancel_resting(state, client_order_id)
            if after is None:
                return False, "no resting paper order with that id"
            self._save(s, account_id, after)
            set_order_status(s, client_order_id, OrderStatus.CANCELLED, "cancel")
            return True, ""

        return await write(self.sessions, take)

    async def place_order(self, intent: OrderIntent, mark: Decimal) -> OrderOutcome:
        """One transaction: the order row says if it executed, so a re-run never fills twice."""
        return await write(self.sessions, lambda s: self._place(s, intent, mark))

    def _place(self, s: Session, intent: OrderIntent, mark: Decimal) -> OrderOutcome:
        conn = s.connection()
        key = {"b_coid": intent.client_order_id}
        order = conn.execute(_ORDER_LOCKED, key).first()
        if order is None:
            raise LookupError(f"order intent {intent.client_order_id} was not recorded")
        if order.status in EXECUTED:
            return outcome_of(order)  # already executed: never twice
        marks = {intent.symbol: mark}
        # Resting orders the mark has reached fill first: they were on the book before this.
        before = self._load(s, intent.account_id, lock=True)
        at = utcnow()
        state, moved = self._fill_resting(s, intent.account_id, before, marks, at)
        if moved:
            events.append(
                s, *_position_moves(intent.account_id, intent.symbol, before, state, marks, at)
            )
        result = _execute(state, intent, mark, self.cfg)
        values: dict[str, Any] = {"exchange_order_id": f"paper-{intent.client_order_id}"}
        if result.fill is not None:
            reports = _record_fill(
                s, intent.account_id, result.fill, at, values["exchange_order_id"]
            )
            reports += _position_moves(
                intent.account_id, intent.symbol, state, result.account, marks, at
            )
            events.append(s, *reports)  # the fill and the position, with what they report
            values.update(
                filled_size=result.fill.size, avg_price=result.fill.price, fee=result.fill.fee
            )
        elif result.reject_reason is not None:
            values.update(reject_reason=result.reject_reason)
        if result.account is not before:
            self._save(s, intent.account_id, result.account)
            self._record_equity(s, intent.account_id, result.account, marks)
        return set_order_status(s, order, result.status, "paper_place", **values)

    async def resolve_order(self, intent: OrderIntent, deadline: float) -> OrderOutcome:
        """The paper venue is the database: the row says what happened, asked again with backoff
        until the database answers or ``deadline`` (epoch seconds) passes."""
        last = ""

        async def attempt() -> OrderOutcome | None:
            nonlocal last
            try:
                return await self._settle(intent)
            except (OSError, SQLAlchemyError) as err:
                last = f"database unavailable: {str(err)[:200]}"
                return None

        settled = await retry.with_backoff(attempt, deadline)
        if settled is not None:
            return settled
        return decided(intent, OrderStatus.UNKNOWN, f"still unknown at the deadline: {last}")

    async def _settle(self, intent: OrderIntent) -> OrderOutcome:
        async with self.sessions() as s, s.begin():
            settled = await s.run_sync(
                lambda sync: set_order_status(
                    sync,
                    intent.client_order_id,
                    OrderStatus.REJECTED,
                    "paper_resolve",
                    # the order transaction never committed: nothing was executed
                    only_from=NEVER_EXECUTED,
                    reject_reason="NOT_PLACED: never executed; not resent",
                )
            )
            return rejected(intent, "NOT_PLACED: no intent row") if settled is None else settled


def _record_fill(
    s: Session,
    account_id: int,
    fill: paper.PaperFill,
    at: datetime,
    exchange_order_id: str | None = None,
) -> list[EventData]:
    """Record the fill once (by its trade id); its report for the live stream, if recorded."""
    conn = s.connection()
    found = conn.execute(_TRADE_FOUND, {"b_account": account_id, "b_trade": fill.trade_id})
    if found.first() is not None:
        return []
    trade = {
        "account_id": account_id,
        "trade_id": fill.trade_id,
        "client_order_id": fill.client_order_id or None,
        "symbol": fill.symbol,
        "side": fill.side,
        "size": fill.size,
        "price": fill.price,
        "fee": fill.fee,
        "realized_pnl": fill.realized_pnl,
        "trigger": fill.is_liquidation_or_trigger,
        "created_at": at,
    }
    conn.execute(_TRADE_INSERT, trade)
    record_after_fills(s, account_id, [fill.symbol])  # a position left flat: its round trip
    return [stream_events.filled(account_id, trade, at, exchange_order_id)]


def _holding(pos: paper.PaperPosition | None, marks: dict[str, Decimal]) -> Holding | None:
    """A paper position as the API's positions endpoint values it (at the mark, else at its
    entry price: AccountView)."""
    if pos is None:
        return None
    mark = marks.get(pos.symbol, pos.entry_price)
    return Holding(
        side=pos.side,
        size=pos.size,
        entry_price=pos.entry_price,
        leverage=pos.leverage,
        mark_price=mark,
        unrealized_pnl=pos.unrealized_pnl(mark),
    )


def _position_moves(
    account_id: int,
    symbol: str,
    before: paper.PaperAccount,
    after: paper.PaperAccount,
    marks: dict[str, Decimal],
    at: datetime,
) -> list[EventData]:
    return list(
        stream_events.position_moves(
            account_id,
            symbol,
            _holding(before.positions.get(symbol), marks),
            _holding(after.positions.get(symbol), marks),
            at,
        )
    )


def _execute(
    state: paper.PaperAccount, intent: OrderIntent, mark: Decimal, cfg: paper.PaperConfig
) -> paper_limits.LimitResult:
    """The intent carried out on the account: a market order fills or is refused; a limit
    order may also rest (submitted) or, IOC, be cancelled."""
    order = paper_order(intent)
    if intent.order_type is OrderType.LIMIT and intent.limit_price is not None:
        tif = intent.time_in_force or TimeInForce.GTC
        return paper_limits.place_limit_order(state, order, intent.limit_price, tif, mark, cfg)
    done = paper.execute_market_order(state, order, mark, cfg)
    if done.fill is None:
        return paper_limits.LimitResult(
            state, OrderStatus.REJECTED, reject_reason=str(done.reject_reason)
        )
    return paper_limits.LimitResult(done.account, OrderStatus.FILLED, done.fill)


def paper_order(intent: OrderIntent) -> paper.PaperOrder:
    sized_in_base = intent.size_base is not None
    return paper.PaperOrder(
        client_order_id=intent.client_order_id,
        symbol=intent.symbol,
        side=Side.BUY if intent.side == Side.BUY else Side.SELL,
        size_usd=None if sized_in_base else intent.size_usd,
        size=intent.size_base,
        reduce_only=intent.reduce_only,
        leverage=intent.leverage,
        take_profit_pct=intent.take_profit_pct,
        stop_loss_pct=intent.stop_loss_pct,
    )
