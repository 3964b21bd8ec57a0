"""Live traders (Hyperliquid, Binance): the venue client built per call from sealed credentials.

Secrets are decrypted here, inside the activity that signs, and dropped with the client; they
never reach workflow inputs, results or logs.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from adapters.exchanges import resting, retry
from adapters.exchanges.base import AccountView
from adapters.exchanges.client import (
    ExchangeClient,
    ExchangeError,
    Fill,
    FundingPayment,
    OutcomeUnknown,
    ProtectiveOrderError,
)
from adapters.exchanges.placement import decided, rejected
from db import equity
from db.base import utcnow
from db.fills import foreign_new, record_fills
from db.funding import record_payments
from db.models import Account, OrderRecord
from db.order_status import FOUND_BY, set_order_status
from db.round_trips import record_after_fills
from db.transactions import read, write
from domain import profiles
from domain.ids import ProtectiveKind, protective_client_order_id
from domain.market import Candle, Interval
from domain.orders import OrderIntent, OrderOutcome, OrderStatus
from domain.vocabulary import Exchange, Side
from vault import KeyWrapper, SealedSecret, open_secret

log = logging.getLogger("hyperoru.exchanges")
CREDENTIALS_FIELD = "exchange_credentials"
FILLS_LOOKBACK_MS = 24 * 3600 * 1000


def build_client(
    exchange: str,
    environment: str,
    base_url: str | None,
    wallet_address: str | None,
    secrets: dict[str, str],
    timeout_s: float = 10.0,
    symbols: list[str] | None = None,
) -> ExchangeClient:
    if exchange == Exchange.HYPERLIQUID:
        from adapters.exchanges.hyperliquid import HyperliquidClient

        return HyperliquidClient(
            wallet_address or "",
            secrets["api_wallet_private_key"],
            environment,
            base_url=base_url,
            timeout_s=timeout_s,
        )
    if exchange == Exchange.BINANCE:
        from adapters.exchanges.binance import BinanceFuturesClient

        return BinanceFuturesClient(
            secrets["api_key"],
            secrets["api_secret"],
            environment,
            base_url=base_url,
            timeout_s=timeout_s,
            symbols=symbols or (),
        )
    raise ValueError(f"not a live exchange: {exchange}")


class LiveExchanges:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        vault: KeyWrapper,
        timeout_s: float = 10.0,
    ) -> None:
        self.sessions = sessions
        self.vault = vault
        self.timeout_s = timeout_s

    @asynccontextmanager
    async def client(self, account_id: int) -> AsyncIterator[ExchangeClient]:
        async with self.sessions() as s:
            acct = await s.get(Account, account_id)
        if acct is None or not acct.exchange_credentials_sealed or not acct.exchange_environment:
            raise ExchangeError(
                "NOT_CONNECTED",
                "connect the trader's exchange first",
                retryable=False,
                venue=acct.exchange if acct else "",
            )
        sealed = SealedSecret.from_json(acct.exchange_credentials_sealed)
        secrets = json.loads(open_secret(self.vault, sealed, account_id, CREDENTIALS_FIELD))
        client = build_client(
            acct.exchange,
            acct.exchange_environment,
            acct.exchange_base_url,
            acct.exchange_wallet_address,
            secrets,
            timeout_s=self.timeout_s,
            symbols=list(acct.symbols),
        )
        del secrets
        try:
            yield client
        finally:
            await client.close()

    async def view(self, account_id: int, marks: dict[str, Decimal]) -> AccountView:
        async with self.client(account_id) as c:
            return await c.account()

    async def sync(self, account_id: int, marks: dict[str, Decimal]) -> AccountView:
        """The exchange's truth, with fills and funding payments recorded once (deduplicated
        by the venue's ids), a liquidation's fills recorded as such, and what became of our
        resting orders (a limit order filled, a trigger fired: resting.refresh)."""
        async with self.client(account_id) as c:
            view = await c.account()
            since = int(time.time() * 1000) - FILLS_LOOKBACK_MS
            fills = await c.fills(since)
            fills = await self._flag_liquidations(account_id, c, fills, since)
            # Funding is paid on positions: none held now and no fill in the window, none due.
            payments = await c.funding_payments(since) if fills or view.positions else []
            await resting.refresh(self, account_id, c, fills)
        await self._record_fills(account_id, fills, view, payments)
        return view

    async def _flag_liquidations(
        self, account_id: int, c: ExchangeClient, fills: list[Fill], since: int
    ) -> list[Fill]:
        """`fills` with the liquidation's marked. Only a new fill that no order of ours made can
        be one, and only then is the venue asked (Binance's fills carry no flag of their own)."""
        foreign = await read(self.sessions, lambda s: foreign_new(s, account_id, fills))
        if not [f for f in foreign if not f.liquidation]:
            return fills
        liquidated = await c.liquidated_order_ids(since)
        return [
            f.model_copy(update={"liquidation": True})
            if f.exchange_order_id in liquidated and not f.venue_client_id
            else f
            for f in fills
        ]

    async def place_order(
        self, intent: OrderIntent, mark: Decimal, retry: bool = False
    ) -> OrderOutcome:
        """Submit once. On a retry (an earlier attempt may have sent it) the venue must say
        "no such order" CONFIRM_ABSENT_LOOKUPS times before anything is sent; an answer lost
        after sending comes back as `unknown`, for resolve_order to settle by lookups."""
        try:
            async with self.client(intent.account_id) as c:
                known = await self._confirm_absent(c, intent) if retry else None
                try:
                    outcome = await c.place(intent, mark, known=known)
                except ProtectiveOrderError as err:
                    if err.retryable:
                        raise
                    outcome = err.entry.model_copy(
                        update={"reject_reason": f"take-profit/stop-loss not placed: {err}"}
                    )
                except OutcomeUnknown as err:
                    outcome = _unknown(intent, str(err))  # resolve_order takes it from here
                fills = (
                    []
                    if outcome.status is OrderStatus.UNKNOWN
                    else await c.fills(int(time.time() * 1000) - FILLS_LOOKBACK_MS)
                )
                view = await _account_after_fill(c, outcome)
        except ExchangeError as err:
            if err.retryable:
                raise  # Temporal retries; the retry looks the order up before resending
            outcome = rejected(intent, f"{err.code}: {err}")
            fills, view = [], None
        # The outcome first: its venue order id names our order on the fills recorded next.
        outcome = await self._record(outcome, "place_retry" if retry else "place")
        await self._record_fills(intent.account_id, fills, view)
        if outcome.status is OrderStatus.FILLED and not intent.reduce_only:
            await self.record_protective_legs(intent)
        return outcome

    async def _confirm_absent(self, c: ExchangeClient, intent: OrderIntent) -> OrderOutcome | None:
        """The order if any of several spaced lookups finds it; None once all say absent."""
        return await retry.spaced(
            lambda: c.lookup(intent.client_order_id, intent.symbol),
            profiles.CONFIRM_ABSENT_LOOKUPS,
            profiles.CONFIRM_ABSENT_SPACING_S,
        )

    @staticmethod
    async def _protect(c: ExchangeClient, intent: OrderIntent, entry: OrderOutcome) -> OrderOutcome:
        """A found, filled entry still gets its missing TP/SL legs (each looked up first)."""
        try:
            return await c.place(intent, entry.avg_price or Decimal(0), known=entry)
        except ProtectiveOrderError as err:
            return entry.model_copy(
                update={"reject_reason": f"take-profit/stop-loss not placed: {err}"}
            )

    async def resolve_order(self, intent: OrderIntent, deadline: float) -> OrderOutcome:
        """Settle an order whose answer was lost by lookups only (never by resending), with
        backoff, until ``deadline`` (epoch seconds). Still unknown then: recorded `unknown`."""
        absent, last = 0, "no lookup answered"

        async def attempt() -> OrderOutcome | None:
            nonlocal absent, last
            try:
                found = await self._settled(intent)
            except ExchangeError as err:
                absent, last = 0, str(err)  # absence must hold CONFIRM_ABSENT_LOOKUPS in a row
                return None
            if found is not None:
                return found
            absent += 1
            last = f"venue has no order {intent.client_order_id} ({absent} lookups)"
            if absent < profiles.CONFIRM_ABSENT_LOOKUPS:
                return None
            gone = rejected(intent, f"NOT_PLACED: {last}; not resent")
            return await self._record(gone, "resolve")

        settled = await retry.with_backoff(attempt, deadline)
        if settled is not None:
            return settled
        unknown = _unknown(intent, f"still unknown at the deadline: {last}")
        return await self._record(unknown, "resolve")

    async def _settled(self, intent: OrderIntent) -> OrderOutcome | None:
        """One lookup; the order found is recorded (with its fills and, for a filled entry, its
        TP/SL legs). None: the venue says it has no such order."""
        async with self.client(intent.account_id) as c:
            found = await c.lookup(intent.client_order_id, intent.symbol)
            if found is None:
                return None
            if found.status is OrderStatus.FILLED and not intent.reduce_only:
                found = await self._protect(c, intent, found)
            fills = await c.fills(int(time.time() * 1000) - FILLS_LOOKBACK_MS)
            view = await _account_after_fill(c, found)
        found = await self._record(found, "resolve")
        await self._record_fills(intent.account_id, fills, view)
        if found.status is OrderStatus.FILLED and not intent.reduce_only:
            await self.record_protective_legs(intent)
        return found

    async def record_protective_legs(self, intent: OrderIntent) -> None:
        """TP/SL legs rest at the venue: recorded as orders so cancels and fills are tracked."""
        candidates: list[tuple[ProtectiveKind, Decimal | None]] = [
            ("tp", intent.take_profit_pct),
            ("sl", intent.stop_loss_pct),
        ]
        legs = [(k, p) for k, p in candidates if p is not None]
        async with self.sessions() as s, s.begin():
            for kind, pct in legs:
                coid = protective_client_order_id(intent.client_order_id, kind)
                if await s.get(OrderRecord, coid) is not None:
                    continue
                s.add(
                    OrderRecord(
                        client_order_id=coid,
                        decision_id=intent.decision_id,
                        account_id=intent.account_id,
                        leg=kind,
                        symbol=intent.symbol,
                        side=Side.SELL if intent.side == Side.BUY else Side.BUY,
                        reduce_only=True,
                        leverage=intent.leverage,
                        take_profit_pct=pct if kind == "tp" else None,
                        stop_loss_pct=pct if kind == "sl" else None,
                        status=OrderStatus.SUBMITTED,
                    )
                )

    async def open_orders(self, account_id: int) -> list[dict[str, Any]]:
        """The trader's orders resting at its venue, each named by our client order id when it
        is ours (adapters/exchanges/resting.py)."""
        return await resting.open_orders(self, account_id)

    async def _record(self, outcome: OrderOutcome, where: str) -> OrderOutcome:
        """Record `outcome`; the order as the row still says, if the venue's word was refused."""
        stands = await self.record_outcome(outcome, where)
        return stands if stands is not None and stands.status is not outcome.status else outcome

    async def record_outcome(
        self, outcome: OrderOutcome, where: str, *, found_by: str = FOUND_BY
    ) -> OrderOutcome | None:
        """Record what the venue said of one of our orders; what the row says afterwards (the
        stored one if the venue's word is an impossible move: see db/order_status.py), or None
        if it is not ours. `where`: which step heard it; `found_by`: the reason of the finding
        if this settles an order its finished decision left unsettled."""
        async with self.sessions() as s, s.begin():
            return await s.run_sync(
                lambda sync: set_order_status(
                    sync,
                    outcome.client_order_id,
                    outcome.status,
                    where,
                    found_by=found_by,
                    exchange_order_id=outcome.exchange_order_id,
                    filled_size=outcome.filled_size,
                    avg_price=outcome.avg_price,
                    fee=outcome.fee,
                    reject_reason=outcome.reject_reason,
                )
            )

    async def _record_fills(
        self,
        account_id: int,
        fills: list[Fill],
        view: AccountView | None = None,
        payments: list[FundingPayment] | None = None,
    ) -> None:
        """Each fill once (by trade id), with its trade and position reports (db/fills.py), the
        round trip of a position it left flat, each funding payment once (db/funding.py), and
        the account's equity point from `view` when any fill is new: one transaction."""
        if not fills and not payments:
            return

        def record(s: Session) -> None:
            new = record_fills(s, account_id, fills) if fills else 0
            record_after_fills(s, account_id, {f.symbol for f in fills})
            record_payments(s, account_id, payments or [])
            if new and view is not None:
                equity.record(s, view.equity_point(account_id, utcnow()))

        await write(self.sessions, record)


async def _account_after_fill(c: ExchangeClient, outcome: OrderOutcome) -> AccountView | None:
    """The account as the venue has it after a filled order (for the fill's equity point); None
    if not filled, or if the venue does not say (the next sample records it): the order is
    placed, and an error here must not make it look failed."""
    if outcome.status is not OrderStatus.FILLED:
        return None
    try:
        return await c.account()
    except ExchangeError as err:
        log.warning("order %s: no equity point for its fill: %s", outcome.client_order_id, err)
        return None


def _unknown(intent: OrderIntent, reason: str) -> OrderOutcome:
    return decided(intent, OrderStatus.UNKNOWN, reason)


class VenueFeed:
    """A live trader's market data comes from its own venue."""

    def __init__(self, live: LiveExchanges, account_id: int, symbols: list[str]) -> None:
        self.live = live
        self.account_id = account_id
        self._symbols = symbols
        self.name = "venue"

    def symbols(self) -> list[str]:
        return list(self._symbols)

    async def get_price(self, symbol: str, at_ms: int) -> Decimal:
        async with self.live.client(self.account_id) as c:
            mids = await c.mids()
        return mids[symbol]

    async def get_klines(
        self, symbol: str, interval: Interval, limit: int, end_ms: int
    ) -> list[Candle]:
        async with self.live.client(self.account_id) as c:
            return await c.candles(symbol, interval.value, limit, end_ms)
