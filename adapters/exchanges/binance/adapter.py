"""Binance USD-M futures: order lookup and the venue's hooks for the shared placement algorithm
(``adapters/exchanges/placement.py``); the reads are in ``reads.py``.

* One-way position mode is assumed. Entries and closes are MARKET orders with
  ``newClientOrderId`` = our id (or its digest), or LIMIT orders with ``timeInForce`` GTC, IOC
  or GTX (post-only); closes are ``reduceOnly``. TP/SL are
  TAKE_PROFIT_MARKET / STOP_MARKET with ``closePosition=true``, which python-binance reroutes
  to ``POST /fapi/v1/algoOrder`` with ``clientAlgoId``.
* Binance order queries need a symbol. ``lookup``/``cancel`` take an optional ``symbol``;
  without one they try the symbols this client has placed or was configured with.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from binance.client import Client

from adapters.exchanges import placement
from adapters.exchanges.binance import schemas as bn
from adapters.exchanges.binance.errors import VENUE
from adapters.exchanges.binance.reads import BinanceReads
from adapters.exchanges.client import ErrorCode, ExchangeError, LivePosition
from adapters.exchanges.placement import ProtectiveLeg, VenueOrder, rejected
from adapters.exchanges.wire import parse
from domain.exchange_rules import InstrumentRules, binance_client_algo_id, binance_client_order_id
from domain.ids import entry_of, protective_kind
from domain.orders import OrderIntent, OrderOutcome, TimeInForce

_TIF = {TimeInForce.GTC: "GTC", TimeInForce.IOC: "IOC", TimeInForce.POST_ONLY: "GTX"}


def _cancel_algo(vs: str, algo_id: int) -> Callable[[Client], Any]:
    return lambda c: c.futures_cancel_algo_order(symbol=vs, algoId=algo_id)


class BinanceFuturesClient(BinanceReads):
    def _candidate_symbols(self, client_order_id: str, symbol: str | None) -> list[str]:
        if symbol is not None:
            return [self._venue_symbol(symbol)]
        known = self._symbol_of.get(client_order_id) or self._symbol_of.get(
            entry_of(client_order_id)
        )
        if known is not None:
            return [known]
        return sorted(self._configured | self._seen)

    async def lookup(self, client_order_id: str, symbol: str | None = None) -> OrderOutcome | None:
        candidates = self._candidate_symbols(client_order_id, symbol)
        if not candidates:
            raise ExchangeError(
                ErrorCode.SYMBOL_UNKNOWN,
                "Binance order queries need a symbol; pass symbol= or configure symbols",
                retryable=False,
                venue=VENUE,
            )
        for vs in candidates:
            outcome = await self._lookup_in(client_order_id, vs)
            if outcome is not None:
                self._symbol_of[client_order_id] = vs
                return outcome
        return None

    async def _lookup_in(self, client_order_id: str, vs: str) -> OrderOutcome | None:
        symbol = self._our_symbol(vs)
        try:
            if protective_kind(client_order_id) is not None:
                cid = binance_client_algo_id(client_order_id)
                raw = await self._transport.call(
                    "algoOrder", lambda c: c.futures_get_order(symbol=vs, clientAlgoId=cid)
                )
                algo = parse(bn.AlgoOrder, raw, venue=VENUE, what="algoOrder")
                return algo.outcome(client_order_id, symbol)
            cid = binance_client_order_id(client_order_id)
            raw = await self._transport.call(
                "order", lambda c: c.futures_get_order(symbol=vs, origClientOrderId=cid)
            )
        except ExchangeError as err:
            if err.code == ErrorCode.NOT_FOUND:
                return None
            raise
        order = parse(bn.FuturesOrder, raw, venue=VENUE, what="order")
        outcome = order.outcome(client_order_id, symbol)
        return await placement.with_fee(self, outcome) if outcome.filled_size else outcome

    async def place(
        self, intent: OrderIntent, mark: Decimal, known: OrderOutcome | None = None
    ) -> OrderOutcome:
        vs = self._venue_symbol(intent.symbol)
        self._seen.add(vs)  # its fills are listed from now on
        self._symbol_of[intent.client_order_id] = vs
        return await placement.place(self, intent, mark, known)

    async def cancel(self, client_order_id: str, symbol: str | None = None) -> bool:
        return await placement.cancel(self, client_order_id, symbol)

    # ------------------------------------------------------------ placement hooks

    async def position(self, rules: InstrumentRules) -> LivePosition | None:
        return next((p for p in await self._positions() if p.symbol == rules.symbol), None)

    def refusal(self, order: VenueOrder) -> str | None:
        return None  # a MARKET order has no price of ours; a LIMIT's is on the grid already

    async def set_leverage(self, rules: InstrumentRules, leverage: int) -> str | None:
        vs = rules.venue_symbol
        try:
            await self._transport.call(
                "leverage",
                lambda c: c.futures_change_leverage(symbol=vs, leverage=leverage),
                mutating=True,
            )
        except ExchangeError as err:
            if err.retryable or err.code == ErrorCode.AUTH:
                raise
            return err.message
        return None

    async def submit(self, order: VenueOrder) -> OrderOutcome:
        intent = order.intent
        params: dict[str, Any] = {
            "symbol": order.rules.venue_symbol,
            "side": "BUY" if order.is_buy else "SELL",
            "type": "MARKET",
            "quantity": str(order.quantity),
            "newClientOrderId": binance_client_order_id(intent.client_order_id),
            "newOrderRespType": "RESULT",
        }
        if order.limit_price is not None:
            params["type"] = "LIMIT"
            params["price"] = str(order.limit_price)
            params["timeInForce"] = _TIF[order.time_in_force]
        if intent.reduce_only:
            params["reduceOnly"] = "true"
        raw = await self._transport.call(
            "order", lambda c: c.futures_create_order(**params), mutating=True
        )
        placed = parse(bn.FuturesOrder, raw, venue=VENUE, what="order", mutating=True)
        if (
            params.get("timeInForce") == "GTX"
            and placed.status.startswith("EXPIRED")
            and not placed.executed_qty
        ):
            # Binance answers a crossing GTX with -5022; an answer that shows it expired instead
            # says the same thing
            return rejected(intent, f"{ErrorCode.POST_ONLY_WOULD_CROSS}: expired as taker")
        return placed.outcome(intent.client_order_id, intent.symbol)

    async def fee(self, outcome: OrderOutcome) -> Decimal | None:
        oid = outcome.exchange_order_id
        trades = await self._trades(self._venue_symbol(outcome.symbol), orderId=oid)
        mine = [t for t in trades if t.exchange_order_id == oid]
        return sum((t.fee for t in mine), Decimal(0)) if mine else None

    async def place_trigger(self, leg: ProtectiveLeg) -> None:
        params: dict[str, Any] = {
            "symbol": leg.rules.venue_symbol,
            "side": "BUY" if leg.is_buy else "SELL",
            "type": "TAKE_PROFIT_MARKET" if leg.kind == "tp" else "STOP_MARKET",
            "stopPrice": str(leg.trigger),  # python-binance renames it triggerPrice
            "closePosition": "true",
            "workingType": "MARK_PRICE",
            "clientAlgoId": binance_client_algo_id(leg.client_order_id),
        }
        await self._transport.call(
            f"algoOrder {leg.kind}", lambda c: c.futures_create_order(**params), mutating=True
        )

    async def cancel_triggers(self, rules: InstrumentRules) -> None:
        # Binance expires closePosition orders itself once the position is gone; this covers the
        # window before it does.
        vs = rules.venue_symbol
        for algo in await self._open_algo_orders(vs):
            await self._transport.call(
                "cancel algoOrder", _cancel_algo(vs, algo.algo_id), mutating=True
            )

    async def cancel_resting(
        self, client_order_id: str, order: OrderOutcome, symbol: str | None
    ) -> bool:
        vs = self._symbol_of[client_order_id]  # the lookup that found it remembered where
        try:
            if protective_kind(client_order_id) is not None:
                cid = binance_client_algo_id(client_order_id)
                await self._transport.call(
                    "cancel algoOrder",
                    lambda c: c.futures_cancel_algo_order(symbol=vs, clientAlgoId=cid),
                    mutating=True,
                )
            else:
                cid = binance_client_order_id(client_order_id)
                await self._transport.call(
                    "cancel order",
                    lambda c: c.futures_cancel_order(symbol=vs, origClientOrderId=cid),
                    mutating=True,
                )
        except ExchangeError as err:
            if err.code == ErrorCode.NOT_FOUND:
                return False
            raise
        return True
