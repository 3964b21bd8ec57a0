"""Binance USD-M futures through python-binance's synchronous ``Client`` (run in threads).

* ``Client(..., ping=False)``: no I/O at construction. ``base_url`` replaces both
  ``FUTURES_URL`` (``<base>/fapi``) and ``MARGIN_API_URL`` (``<base>/sapi``, for the API-key
  permission check); the requests timeout is the instance's ``REQUEST_TIMEOUT``.
* Symbols: ours are base assets ("BTC"); the venue's are ``<base><quote>`` ("BTCUSDT").
* One-way position mode is assumed. Entries and closes are MARKET orders with
  ``newClientOrderId`` = our id (or its digest); closes are ``reduceOnly``. TP/SL are
  TAKE_PROFIT_MARKET / STOP_MARKET with ``closePosition=true``, which python-binance reroutes
  to ``POST /fapi/v1/algoOrder`` with ``clientAlgoId``.
* Binance order queries need a symbol. ``lookup``/``cancel`` take an optional ``symbol``;
  without one they try the symbols this client has placed or was configured with.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any, TypeVar

from binance.client import Client
from binance.exceptions import BinanceAPIException, BinanceRequestException

from adapters.exchanges.base import AccountView
from adapters.exchanges.client import (
    ErrorCode,
    ExchangeError,
    Fill,
    LivePosition,
    OpenOrder,
    OutcomeUnknown,
    ProtectiveOrderError,
    VerifyResult,
    dec,
    dec0,
    dedupe_fills,
    plain,
    retry_after_seconds,
    run_blocking,
    safe_text,
)
from domain.exchange_rules import (
    InstrumentRules,
    ProtectiveKind,
    SizeDeny,
    SizeResult,
    binance_client_algo_id,
    binance_client_order_id,
    binance_rules,
    check_quantity,
    protective_client_order_id,
    protective_kind,
    protective_trigger_price,
    quantity_for_notional,
)
from domain.market import Candle, parse_interval
from domain.orders import OrderIntent, OrderOutcome, OrderStatus

log = logging.getLogger(__name__)

VENUE = "binance"
T = TypeVar("T")

_AUTH_CODES = {-1002, -1022, -2014, -2015}
_NOT_FOUND_CODES = {-2011, -2013}
_INVALID_ORDER_CODES = {
    -1013, -1100, -1102, -1111, -1116, -1117, -1121, -2021, -2022,
    -4003, -4004, -4005, -4014, -4023, -4024, -4131, -4164,
}  # fmt: skip
_DUPLICATE_CODES = {-4015, -4116, -2010}

_ALGO_STATUS = {
    "NEW": OrderStatus.SUBMITTED,
    "TRIGGERING": OrderStatus.SUBMITTED,
    "TRIGGERED": OrderStatus.SUBMITTED,
    "CANCELED": OrderStatus.CANCELLED,
    "EXPIRED": OrderStatus.CANCELLED,
    "REJECTED": OrderStatus.REJECTED,
}


def _now_ms() -> int:
    return int(time.time() * 1000)


def _map_order_status(status: str, executed: Decimal) -> OrderStatus:
    if status == "FILLED":
        return OrderStatus.FILLED
    if status in ("NEW", "PARTIALLY_FILLED"):
        return OrderStatus.SUBMITTED
    if status in ("CANCELED", "EXPIRED", "EXPIRED_IN_MATCH"):
        return OrderStatus.FILLED if executed > 0 else OrderStatus.CANCELLED
    if status == "REJECTED":
        return OrderStatus.REJECTED
    return OrderStatus.SUBMITTED


def _create_order(params: dict[str, Any]) -> Callable[[Client], Any]:
    return lambda c: c.futures_create_order(**params)


def _cancel_algo(vs: str, algo_id: Any) -> Callable[[Client], Any]:
    return lambda c: c.futures_cancel_algo_order(symbol=vs, algoId=algo_id)


class BinanceFuturesClient:
    venue = VENUE

    def __init__(
        self,
        api_key: str,
        api_secret: str,
        environment: str = "testnet",
        base_url: str | None = None,
        timeout_s: float = 10,
        *,
        quote_asset: str = "USDT",
        symbols: Iterable[str] = (),
        recv_window_ms: int = 5000,
    ) -> None:
        if environment not in ("testnet", "mainnet"):
            raise ValueError("environment must be 'testnet' or 'mainnet'")
        self.environment = environment
        self.base_url = base_url.rstrip("/") if base_url else None
        self.timeout_s = float(timeout_s)
        self.quote_asset = quote_asset.upper()
        client = Client(
            api_key,
            api_secret,
            ping=False,  # ping=True would call the spot API at construction
            testnet=environment == "testnet" and base_url is None,
        )
        client.REQUEST_TIMEOUT = self.timeout_s
        client.REQUEST_RECVWINDOW = int(recv_window_ms)
        if self.base_url is not None:
            client.FUTURES_URL = f"{self.base_url}/fapi"
            client.MARGIN_API_URL = f"{self.base_url}/sapi"
        self.__client = client
        # The futures testnet has no /sapi: the withdrawal check only applies where it exists.
        self.check_withdrawals = not (environment == "testnet" and base_url is None)
        self._configured = {self._venue_symbol(s) for s in symbols}
        self._seen: set[str] = set()
        self._symbol_of: dict[str, str] = {}  # our client order id -> venue symbol
        self._exchange_info: dict[str, dict[str, Any]] | None = None
        self._rules: dict[str, InstrumentRules] = {}

    def __repr__(self) -> str:
        return f"BinanceFuturesClient(environment={self.environment!r}, base_url={self.base_url!r})"

    def venue_client_id(self, client_order_id: str) -> str:
        if protective_kind(client_order_id) is not None:
            return binance_client_algo_id(client_order_id)
        return binance_client_order_id(client_order_id)

    async def close(self) -> None:
        self.__client.session.close()

    # ------------------------------------------------------------ plumbing

    def _venue_symbol(self, symbol: str) -> str:
        s = symbol.upper()
        return s if s.endswith(self.quote_asset) else f"{s}{self.quote_asset}"

    def _our_symbol(self, venue_symbol: str) -> str:
        if venue_symbol.endswith(self.quote_asset) and venue_symbol != self.quote_asset:
            return venue_symbol[: -len(self.quote_asset)]
        return venue_symbol

    def _classify(self, err: BaseException, what: str, mutating: bool) -> ExchangeError:
        if isinstance(err, BinanceAPIException):
            status, code = int(err.status_code), int(err.code or 0)
            msg = f"{what}: HTTP {status} code {code}: {safe_text(err.message)}"
            headers = getattr(err.response, "headers", None)
            venue_code = str(code)
            if status >= 500 or code in (-1000, -1001, -1006, -1007):
                if mutating:
                    return OutcomeUnknown(msg, venue=VENUE, status=status)
                return ExchangeError(
                    ErrorCode.SERVER_ERROR, msg, retryable=True, venue=VENUE, status=status,
                    venue_code=venue_code,
                )  # fmt: skip
            if status in (418, 429) or code in (-1003, -1015):
                return ExchangeError(
                    ErrorCode.RATE_LIMITED, msg, retryable=True, venue=VENUE, status=status,
                    venue_code=venue_code, retry_after_s=retry_after_seconds(headers),
                )  # fmt: skip
            if code == -1021:
                return ExchangeError(
                    ErrorCode.CLOCK_SKEW, msg, retryable=True, venue=VENUE, status=status,
                    venue_code=venue_code,
                )  # fmt: skip
            if code in _AUTH_CODES or status in (401, 403):
                return ExchangeError(
                    ErrorCode.AUTH, msg, retryable=False, venue=VENUE, status=status,
                    venue_code=venue_code,
                )  # fmt: skip
            if code == -2019:
                error_code = ErrorCode.INSUFFICIENT_MARGIN
            elif code in _NOT_FOUND_CODES:
                error_code = ErrorCode.NOT_FOUND
            elif code in _DUPLICATE_CODES or "duplicate" in msg.lower():
                error_code = ErrorCode.DUPLICATE
            elif code in _INVALID_ORDER_CODES:
                error_code = ErrorCode.INVALID_ORDER
            else:
                error_code = ErrorCode.VENUE_ERROR
            return ExchangeError(
                error_code, msg, retryable=False, venue=VENUE, status=status, venue_code=venue_code
            )
        if isinstance(err, BinanceRequestException):
            if mutating:
                return OutcomeUnknown(f"{what}: unparseable answer", venue=VENUE)
            return ExchangeError(
                ErrorCode.BAD_RESPONSE, f"{what}: unparseable answer", retryable=True, venue=VENUE
            )
        if mutating:
            return OutcomeUnknown(f"{what}: unexpected {type(err).__name__}", venue=VENUE)
        return ExchangeError(
            ErrorCode.BAD_RESPONSE,
            f"{what}: unexpected {type(err).__name__}",
            retryable=True,
            venue=VENUE,
        )

    async def _call(self, what: str, fn: Callable[[Client], T], *, mutating: bool = False) -> T:
        client = self.__client
        return await run_blocking(
            lambda: fn(client),
            timeout_s=self.timeout_s + 1,
            venue=VENUE,
            what=what,
            mutating=mutating,
            classify=self._classify,
        )

    # ------------------------------------------------------------ reads

    async def verify(self) -> VerifyResult:
        details = {"environment": self.environment}
        try:
            await self._call("account", lambda c: c.futures_account())
        except ExchangeError as err:
            if err.code == ErrorCode.AUTH:
                return VerifyResult(
                    ok=False,
                    venue=VENUE,
                    code="AUTH_FAILED",
                    reason=f"the key cannot read the futures account ({err.venue_code})",
                    details=details,
                )
            raise
        if not self.check_withdrawals:
            details["withdrawals"] = "not checked: the futures testnet has no /sapi"
            return VerifyResult(ok=True, venue=VENUE, reason="futures key works", details=details)
        try:
            perms = await self._call("apiRestrictions", lambda c: c.get_account_api_permissions())
        except ExchangeError as err:
            if err.retryable:
                raise
            return VerifyResult(
                ok=False,
                venue=VENUE,
                code="PERMISSIONS_UNVERIFIED",
                reason="could not read the key's permissions; refusing to trust it",
                details=details,
            )
        if not isinstance(perms, dict) or perms.get("enableWithdrawals") is not False:
            return VerifyResult(
                ok=False,
                venue=VENUE,
                code="WITHDRAWALS_ENABLED",
                reason="the API key can withdraw funds; create a key without withdrawal permission",
                details=details,
            )
        if perms.get("enableFutures") is False:
            return VerifyResult(
                ok=False,
                venue=VENUE,
                code="FUTURES_NOT_ENABLED",
                reason="the API key is not enabled for futures",
                details=details,
            )
        details["withdrawals"] = "disabled"
        return VerifyResult(
            ok=True, venue=VENUE, reason="futures key without withdrawals", details=details
        )

    async def _load_exchange_info(self, force: bool = False) -> dict[str, dict[str, Any]]:
        if self._exchange_info is None or force:
            raw = await self._call("exchangeInfo", lambda c: c.futures_exchange_info())
            symbols = raw.get("symbols") if isinstance(raw, dict) else None
            if not isinstance(symbols, list):
                raise ExchangeError(
                    ErrorCode.BAD_RESPONSE, "exchangeInfo: no symbols", retryable=True, venue=VENUE
                )
            self._exchange_info = {str(s["symbol"]): s for s in symbols if isinstance(s, dict)}
            self._rules = {}
        return self._exchange_info

    async def rules(self, symbol: str) -> InstrumentRules:
        vs = self._venue_symbol(symbol)
        if vs in self._rules:
            return self._rules[vs]
        info = await self._load_exchange_info()
        if vs not in info:
            info = await self._load_exchange_info(force=True)
        entry = info.get(vs)
        if entry is None or entry.get("status", "TRADING") != "TRADING":
            raise ExchangeError(
                ErrorCode.SYMBOL_UNKNOWN, f"{vs} is not trading", retryable=False, venue=VENUE
            )
        rules = binance_rules(self._our_symbol(vs), entry)
        self._rules[vs] = rules
        return rules

    async def _positions(self) -> list[LivePosition]:
        # v2 positionRisk carries leverage (v3, python-binance's default, does not)
        raw = await self._call("positionRisk", lambda c: c.futures_position_information(version=2))
        out: list[LivePosition] = []
        for p in raw if isinstance(raw, list) else []:
            amt = dec0(p.get("positionAmt"))
            if amt == 0:
                continue
            liq = dec(p.get("liquidationPrice"))
            out.append(
                LivePosition(
                    symbol=self._our_symbol(str(p.get("symbol"))),
                    side="long" if amt > 0 else "short",
                    size=abs(amt),
                    entry_price=dec0(p.get("entryPrice")),
                    mark_price=dec0(p.get("markPrice")),
                    leverage=dec(p.get("leverage"), Decimal(1)) or Decimal(1),
                    unrealized_pnl=dec0(p.get("unRealizedProfit")),
                    liquidation_price=liq if liq else None,  # Binance sends "0" for none
                    margin_used=self._margin_used(p, amt),
                )
            )
        return out

    @staticmethod
    def _margin_used(p: dict[str, Any], amt: Decimal) -> Decimal | None:
        initial = dec(p.get("initialMargin"))  # v3 positionRisk
        if initial is not None:
            return initial
        isolated = dec(p.get("isolatedMargin"))
        if isolated:
            return isolated
        lev = dec(p.get("leverage"))
        notional = dec(p.get("notional")) or abs(amt) * dec0(p.get("markPrice"))
        return plain(abs(notional) / lev) if lev else None

    async def account(self) -> AccountView:
        acct = await self._call("account", lambda c: c.futures_account())
        if not isinstance(acct, dict):
            raise ExchangeError(
                ErrorCode.BAD_RESPONSE, "account: bad answer", retryable=True, venue=VENUE
            )
        positions = await self._positions()
        return AccountView(
            cash_usd=dec0(acct.get("totalWalletBalance")),
            equity_usd=dec0(acct.get("totalMarginBalance")),
            available_usd=dec0(acct.get("availableBalance")),
            used_margin_usd=dec0(acct.get("totalInitialMargin")),
            realized_pnl_usd=Decimal(0),  # not part of a venue snapshot: derive from fills
            fees_paid_usd=Decimal(0),
            unrealized_pnl_usd=dec0(acct.get("totalUnrealizedProfit")),
            positions=list(positions),
        )

    async def open_orders(self) -> list[dict[str, Any]]:
        orders = await self._call("openOrders", lambda c: c.futures_get_open_orders())
        algos = await self._call("openAlgoOrders", lambda c: c.futures_get_open_algo_orders())
        out: list[dict[str, Any]] = []
        for o in orders if isinstance(orders, list) else []:
            out.append(
                OpenOrder(
                    venue_client_id=o.get("clientOrderId"),
                    exchange_order_id=str(o.get("orderId")),
                    symbol=self._our_symbol(str(o.get("symbol"))),
                    side=str(o.get("side", "")).lower(),
                    type=str(o.get("type")),
                    size=dec(o.get("origQty")),
                    price=dec(o.get("price")) or None,
                    trigger_price=dec(o.get("stopPrice")) or None,
                    reduce_only=bool(o.get("reduceOnly")),
                    is_trigger=False,
                ).model_dump()
            )
        for a in algos if isinstance(algos, list) else []:
            out.append(
                OpenOrder(
                    venue_client_id=a.get("clientAlgoId"),
                    exchange_order_id=str(a.get("algoId")),
                    symbol=self._our_symbol(str(a.get("symbol"))),
                    side=str(a.get("side", "")).lower(),
                    type=str(a.get("orderType")),
                    size=dec(a.get("quantity")) or None,
                    price=dec(a.get("price")) or None,
                    trigger_price=dec(a.get("triggerPrice")),
                    reduce_only=bool(a.get("reduceOnly") or a.get("closePosition")),
                    is_trigger=True,
                ).model_dump()
            )
        return out

    def _fill(self, t: dict[str, Any]) -> Fill:
        return Fill(
            trade_id=str(t.get("id")),
            exchange_order_id=str(t.get("orderId")),
            venue_client_id=None,
            symbol=self._our_symbol(str(t.get("symbol"))),
            side=str(t.get("side", "")).lower(),
            size=dec0(t.get("qty")),
            price=dec0(t.get("price")),
            fee=dec0(t.get("commission")),
            fee_asset=str(t.get("commissionAsset", "")),
            realized_pnl=dec0(t.get("realizedPnl")),
            time_ms=int(t.get("time", 0)),
        )

    async def _trades(self, venue_symbol: str, **params: Any) -> list[Fill]:
        raw = await self._call(
            "userTrades", lambda c: c.futures_account_trades(symbol=venue_symbol, **params)
        )
        rows = raw if isinstance(raw, list) else []
        return [self._fill(t) for t in rows if isinstance(t, dict) and "id" in t]

    async def fills(self, since_ms: int) -> list[Fill]:
        """Trades since ``since_ms`` on every symbol this client knows or holds.

        Binance's userTrades is per symbol and spans at most 7 days from ``startTime``.
        """
        symbols = set(self._configured) | self._seen
        symbols |= {self._venue_symbol(p.symbol) for p in await self._positions()}
        out: list[Fill] = []
        for vs in sorted(symbols):
            out.extend(await self._trades(vs, startTime=int(since_ms), limit=1000))
        return dedupe_fills(out)

    def _candidate_symbols(self, client_order_id: str, symbol: str | None) -> list[str]:
        if symbol is not None:
            return [self._venue_symbol(symbol)]
        base = client_order_id.rsplit(":", 1)[0] if protective_kind(client_order_id) else ""
        known = self._symbol_of.get(client_order_id) or self._symbol_of.get(base)
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
        algo = protective_kind(client_order_id) is not None
        try:
            if algo:
                cid = binance_client_algo_id(client_order_id)
                raw = await self._call(
                    "algoOrder", lambda c: c.futures_get_order(symbol=vs, clientAlgoId=cid)
                )
            else:
                cid = binance_client_order_id(client_order_id)
                raw = await self._call(
                    "order", lambda c: c.futures_get_order(symbol=vs, origClientOrderId=cid)
                )
        except ExchangeError as err:
            if err.code == ErrorCode.NOT_FOUND:
                return None
            raise
        if not isinstance(raw, dict):
            raise ExchangeError(
                ErrorCode.BAD_RESPONSE, "order: bad answer", retryable=True, venue=VENUE
            )
        return await (
            self._algo_outcome(client_order_id, raw)
            if algo
            else self._order_outcome(client_order_id, raw)
        )

    async def _order_outcome(self, client_order_id: str, o: dict[str, Any]) -> OrderOutcome:
        executed = dec0(o.get("executedQty"))
        status = _map_order_status(str(o.get("status")), executed)
        outcome = OrderOutcome(
            client_order_id=client_order_id,
            status=status,
            symbol=self._our_symbol(str(o.get("symbol"))),
            side=str(o.get("side", "")).lower(),
            exchange_order_id=str(o.get("orderId")),
            filled_size=executed or None,
            avg_price=dec(o.get("avgPrice")) or None,
            reject_reason=str(o.get("status"))
            if status in (OrderStatus.REJECTED, OrderStatus.CANCELLED)
            else None,
        )
        if executed > 0:
            outcome = await self._with_fee(outcome, str(o.get("symbol")))
        return outcome

    async def _algo_outcome(self, client_order_id: str, a: dict[str, Any]) -> OrderOutcome:
        algo_status = str(a.get("algoStatus"))
        executed = dec0(a.get("executedQty"))
        if algo_status == "FINISHED":
            status = (
                OrderStatus.FILLED
                if executed > 0 or a.get("actualOrderId")
                else OrderStatus.CANCELLED
            )
        else:
            status = _ALGO_STATUS.get(algo_status, OrderStatus.SUBMITTED)
        return OrderOutcome(
            client_order_id=client_order_id,
            status=status,
            symbol=self._our_symbol(str(a.get("symbol"))),
            side=str(a.get("side", "")).lower(),
            exchange_order_id=str(a.get("algoId")),
            filled_size=executed or None,
            avg_price=dec(a.get("avgPrice")) or None,
            reject_reason=algo_status
            if status in (OrderStatus.REJECTED, OrderStatus.CANCELLED)
            else None,
        )

    async def _with_fee(self, outcome: OrderOutcome, venue_symbol: str) -> OrderOutcome:
        if outcome.exchange_order_id is None or outcome.fee is not None:
            return outcome
        try:
            oid = int(outcome.exchange_order_id)
            trades = await self._trades(venue_symbol, orderId=oid)
        except (ExchangeError, ValueError) as err:
            log.warning("binance: fee lookup for %s failed: %s", outcome.client_order_id, err)
            return outcome
        mine = [t for t in trades if t.exchange_order_id == outcome.exchange_order_id]
        if not mine:
            return outcome
        return outcome.model_copy(update={"fee": sum((t.fee for t in mine), Decimal(0))})

    async def mids(self) -> dict[str, Decimal]:
        """Mark prices from premiumIndex (Binance has no single all-mids call)."""
        raw = await self._call("premiumIndex", lambda c: c.futures_mark_price())
        out: dict[str, Decimal] = {}
        for row in raw if isinstance(raw, list) else []:
            vs = str(row.get("symbol", ""))
            px = dec(row.get("markPrice"))
            if vs.endswith(self.quote_asset) and px:
                out[self._our_symbol(vs)] = px
        return out

    async def candles(self, symbol: str, interval: str, limit: int, end_ms: int) -> list[Candle]:
        iv = parse_interval(interval)
        vs = self._venue_symbol(symbol)
        raw = await self._call(
            "klines",
            lambda c: c.futures_klines(
                symbol=vs, interval=iv.value, endTime=int(end_ms), limit=min(int(limit) + 1, 1500)
            ),
        )
        by_open: dict[int, Candle] = {}
        for k in raw if isinstance(raw, list) else []:
            t = int(k[0])
            if t + iv.ms > end_ms:  # still open at end_ms
                continue
            by_open[t] = Candle(
                open_time_ms=t,
                open=dec0(k[1]),
                high=dec0(k[2]),
                low=dec0(k[3]),
                close=dec0(k[4]),
                volume=dec0(k[5]),
            )
        return [by_open[t] for t in sorted(by_open)][-int(limit) :] if limit > 0 else []

    async def funding(self, symbol: str) -> Decimal | None:
        vs = self._venue_symbol(symbol)
        raw = await self._call("premiumIndex", lambda c: c.futures_mark_price(symbol=vs))
        return dec(raw.get("lastFundingRate")) if isinstance(raw, dict) else None

    async def open_interest(self, symbol: str) -> Decimal | None:
        vs = self._venue_symbol(symbol)
        raw = await self._call("openInterest", lambda c: c.futures_open_interest(symbol=vs))
        return dec(raw.get("openInterest")) if isinstance(raw, dict) else None

    # ------------------------------------------------------------ orders

    @staticmethod
    def _rejected(intent: OrderIntent, reason: str) -> OrderOutcome:
        return OrderOutcome(
            client_order_id=intent.client_order_id,
            status=OrderStatus.REJECTED,
            symbol=intent.symbol,
            side=intent.side,
            reject_reason=reason,
        )

    async def place(
        self, intent: OrderIntent, mark: Decimal, known: OrderOutcome | None = None
    ) -> OrderOutcome:
        vs = self._venue_symbol(intent.symbol)
        self._seen.add(vs)
        self._symbol_of[intent.client_order_id] = vs
        existing = known or await self.lookup(intent.client_order_id, intent.symbol)
        if existing is not None:
            if existing.status is OrderStatus.FILLED and not intent.reduce_only:
                await self._ensure_protection(intent, existing)
            return existing
        rules = await self.rules(intent.symbol)
        is_buy = intent.side == "buy"
        sizing: SizeResult
        if intent.reduce_only:
            pos = next((p for p in await self._positions() if p.symbol == rules.symbol), None)
            if pos is None:
                return self._rejected(intent, "NO_POSITION_TO_CLOSE")
            if (pos.side == "long") == is_buy:
                return self._rejected(intent, "POSITION_SIDE_MISMATCH")
            qty = pos.size if intent.size_usd is None else min(pos.size, intent.size_usd / mark)
            sizing = check_quantity(qty, mark, rules, reduce_only=True)
        elif intent.size_usd is None:
            return self._rejected(intent, SizeDeny.QUANTITY_BELOW_MINIMUM.value)
        else:
            sizing = quantity_for_notional(intent.size_usd, mark, rules)
        if not sizing.ok or sizing.quantity is None:
            return self._rejected(intent, sizing.deny.value if sizing.deny else "QUANTITY_INVALID")
        if not intent.reduce_only:
            lev = int(intent.leverage)  # venue leverage is an integer: round down, never up
            if lev < 1:
                return self._rejected(intent, "LEVERAGE_INVALID")
            refused = await self._set_leverage(vs, lev)
            if refused is not None:
                return self._rejected(intent, f"LEVERAGE_REJECTED: {refused}")
        qty = sizing.quantity
        params: dict[str, Any] = {
            "symbol": vs,
            "side": "BUY" if is_buy else "SELL",
            "type": "MARKET",
            "quantity": str(qty),
            "newClientOrderId": binance_client_order_id(intent.client_order_id),
            "newOrderRespType": "RESULT",
        }
        if intent.reduce_only:
            params["reduceOnly"] = "true"
        try:
            raw = await self._call(
                "order", lambda c: c.futures_create_order(**params), mutating=True
            )
        except OutcomeUnknown as err:
            err.client_order_id = intent.client_order_id
            raise
        except ExchangeError as err:
            if err.code == ErrorCode.DUPLICATE:  # it exists after all: report it, do not resend
                found = await self.lookup(intent.client_order_id, intent.symbol)
                if found is not None:
                    return found
                raise OutcomeUnknown(
                    err.message, venue=VENUE, client_order_id=intent.client_order_id
                ) from None
            if err.code in (ErrorCode.INSUFFICIENT_MARGIN, ErrorCode.INVALID_ORDER):
                return self._rejected(intent, f"{err.code}: {err.message}")
            raise
        if not isinstance(raw, dict):
            raise OutcomeUnknown(
                "order: unparseable answer", venue=VENUE, client_order_id=intent.client_order_id
            )
        outcome = await self._order_outcome(intent.client_order_id, raw)
        if outcome.status is OrderStatus.FILLED:
            if not intent.reduce_only:
                await self._ensure_protection(intent, outcome)
            elif intent.size_usd is None:
                await self._cancel_protective(vs)
        return outcome

    async def _set_leverage(self, vs: str, leverage: int) -> str | None:
        try:
            await self._call(
                "leverage",
                lambda c: c.futures_change_leverage(symbol=vs, leverage=leverage),
                mutating=True,
            )
        except OutcomeUnknown as err:
            # no order was sent yet: the whole placement is safe to retry
            raise ExchangeError(
                ErrorCode.TIMEOUT, f"leverage: {err.message}", retryable=True, venue=VENUE
            ) from None
        except ExchangeError as err:
            if err.retryable or err.code == ErrorCode.AUTH:
                raise
            return err.message
        return None

    async def _ensure_protection(self, intent: OrderIntent, entry: OrderOutcome) -> None:
        legs: list[tuple[ProtectiveKind, Decimal]] = []
        if intent.take_profit_pct is not None:
            legs.append(("tp", intent.take_profit_pct))
        if intent.stop_loss_pct is not None:
            legs.append(("sl", intent.stop_loss_pct))
        if not legs:
            return
        rules = await self.rules(intent.symbol)
        vs = rules.venue_symbol
        close_side = "SELL" if intent.side == "buy" else "BUY"
        for kind, pct in legs:
            leg_id = protective_client_order_id(intent.client_order_id, kind)
            try:
                if await self.lookup(leg_id, intent.symbol) is not None:
                    continue
                if entry.avg_price is None:
                    raise ExchangeError(
                        ErrorCode.BAD_RESPONSE,
                        "entry fill price not known yet",
                        retryable=True,
                        venue=VENUE,
                    )
                trigger = protective_trigger_price(entry.avg_price, intent.side, kind, pct, rules)
                if trigger is None:
                    raise ExchangeError(
                        ErrorCode.INVALID_ORDER,
                        f"{SizeDeny.PRICE_INVALID.value}: no valid {kind} trigger price",
                        retryable=False,
                        venue=VENUE,
                    )
                params: dict[str, Any] = {
                    "symbol": vs,
                    "side": close_side,
                    "type": "TAKE_PROFIT_MARKET" if kind == "tp" else "STOP_MARKET",
                    "stopPrice": str(trigger),  # python-binance renames it triggerPrice
                    "closePosition": "true",
                    "workingType": "MARK_PRICE",
                    "clientAlgoId": binance_client_algo_id(leg_id),
                }
                await self._call(f"algoOrder {kind}", _create_order(params), mutating=True)
            except ExchangeError as err:
                raise ProtectiveOrderError(err, entry=entry, leg_client_order_id=leg_id) from None

    async def _cancel_protective(self, vs: str) -> None:
        """After a full close, cancel the symbol's remaining TP/SL (best effort).

        Binance expires closePosition orders itself when the position is gone; this covers
        the window before it does.
        """
        try:
            algos = await self._call(
                "openAlgoOrders", lambda c: c.futures_get_open_algo_orders(symbol=vs)
            )
            for a in algos if isinstance(algos, list) else []:
                algo_id = a.get("algoId")
                await self._call("cancel algoOrder", _cancel_algo(vs, algo_id), mutating=True)
        except ExchangeError as err:
            log.warning("binance: could not cancel %s TP/SL after close: %s", vs, err)

    async def cancel(self, client_order_id: str, symbol: str | None = None) -> bool:
        current = await self.lookup(client_order_id, symbol)
        if current is None or current.status is not OrderStatus.SUBMITTED:
            return False
        vs = self._symbol_of[client_order_id]
        try:
            if protective_kind(client_order_id) is not None:
                cid = binance_client_algo_id(client_order_id)
                await self._call(
                    "cancel algoOrder",
                    lambda c: c.futures_cancel_algo_order(symbol=vs, clientAlgoId=cid),
                    mutating=True,
                )
            else:
                cid = binance_client_order_id(client_order_id)
                await self._call(
                    "cancel order",
                    lambda c: c.futures_cancel_order(symbol=vs, origClientOrderId=cid),
                    mutating=True,
                )
        except ExchangeError as err:
            if err.code == ErrorCode.NOT_FOUND:
                return False
            raise
        return True
