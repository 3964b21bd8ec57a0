"""What a Binance USD-M futures client reads: the key's permissions, instrument rules, the
account, open orders, trades and market data. Every reply is parsed by a model in ``schemas``.

Symbols: ours are base assets ("BTC"); the venue's are ``<base><quote>`` ("BTCUSDT").
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from adapters.exchanges.base import AccountView
from adapters.exchanges.binance import schemas as bn
from adapters.exchanges.binance.errors import VENUE
from adapters.exchanges.binance.transport import BinanceTransport
from adapters.exchanges.client import (
    ErrorCode,
    ExchangeError,
    Fill,
    FundingPayment,
    LivePosition,
    VerifyResult,
)
from adapters.exchanges.wire import bad_reply, dedupe_fills, parse, parse_list
from domain.exchange_rules import (
    InstrumentRules,
    binance_client_algo_id,
    binance_client_order_id,
    binance_rules,
)
from domain.ids import protective_kind
from domain.market import Candle, parse_interval
from domain.vocabulary import ExchangeEnvironment


class BinanceReads:
    venue = VENUE

    def __init__(
        self,
        api_key: str,
        api_secret: str,
        environment: str = ExchangeEnvironment.TESTNET,
        base_url: str | None = None,
        timeout_s: float = 10,
        *,
        quote_asset: str = "USDT",
        symbols: Iterable[str] = (),
        recv_window_ms: int = 5000,
    ) -> None:
        if environment not in tuple(ExchangeEnvironment):
            raise ValueError("environment must be 'testnet' or 'mainnet'")
        self.environment = str(environment)  # plain text: the repr shows it
        self.base_url = base_url.rstrip("/") if base_url else None
        self.timeout_s = float(timeout_s)
        self.quote_asset = quote_asset.upper()
        self._transport = BinanceTransport(
            api_key,
            api_secret,
            testnet=environment == ExchangeEnvironment.TESTNET and base_url is None,
            base_url=self.base_url,
            timeout_s=self.timeout_s,
            recv_window_ms=int(recv_window_ms),
        )
        # The futures testnet has no /sapi: the withdrawal check only applies where it exists.
        self.check_withdrawals = not (
            environment == ExchangeEnvironment.TESTNET and base_url is None
        )
        self._configured = {self._venue_symbol(s) for s in symbols}
        self._seen: set[str] = set()
        self._symbol_of: dict[str, str] = {}  # our client order id -> venue symbol
        self._exchange_info: dict[str, bn.SymbolInfo] | None = None
        self._rules: dict[str, InstrumentRules] = {}

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(environment={self.environment!r}, base_url={self.base_url!r})"
        )

    def venue_client_id(self, client_order_id: str) -> str:
        if protective_kind(client_order_id) is not None:
            return binance_client_algo_id(client_order_id)
        return binance_client_order_id(client_order_id)

    async def close(self) -> None:
        await self._transport.close()

    def _venue_symbol(self, symbol: str) -> str:
        s = symbol.upper()
        return s if s.endswith(self.quote_asset) else f"{s}{self.quote_asset}"

    def _our_symbol(self, venue_symbol: str) -> str:
        if venue_symbol.endswith(self.quote_asset) and venue_symbol != self.quote_asset:
            return venue_symbol[: -len(self.quote_asset)]
        return venue_symbol

    # ------------------------------------------------------------ the key's permissions

    async def verify(self) -> VerifyResult:
        details = {"environment": self.environment}

        def refused(code: str, reason: str) -> VerifyResult:
            return VerifyResult(ok=False, venue=VENUE, code=code, reason=reason, details=details)

        try:
            await self._transport.call("account", lambda c: c.futures_account())
        except ExchangeError as err:
            if err.code == ErrorCode.AUTH:
                return refused(
                    "AUTH_FAILED", f"the key cannot read the futures account ({err.venue_code})"
                )
            raise
        if not self.check_withdrawals:
            details["withdrawals"] = "not checked: the futures testnet has no /sapi"
            return VerifyResult(ok=True, venue=VENUE, reason="futures key works", details=details)
        unverified = "could not read the key's permissions; refusing to trust it"
        try:
            raw = await self._transport.call(
                "apiRestrictions", lambda c: c.get_account_api_permissions()
            )
        except ExchangeError as err:
            if err.retryable:
                raise
            return refused("PERMISSIONS_UNVERIFIED", unverified)
        try:
            perms = parse(bn.ApiPermissions, raw, venue=VENUE, what="apiRestrictions")
        except ExchangeError:  # an answer we cannot read proves nothing
            return refused("PERMISSIONS_UNVERIFIED", unverified)
        if perms.enable_withdrawals is not False:
            return refused(
                "WITHDRAWALS_ENABLED",
                "the API key can withdraw funds; create a key without withdrawal permission",
            )
        if perms.enable_futures is False:
            return refused("FUTURES_NOT_ENABLED", "the API key is not enabled for futures")
        details["withdrawals"] = "disabled"
        return VerifyResult(
            ok=True, venue=VENUE, reason="futures key without withdrawals", details=details
        )

    # ------------------------------------------------------------ rules

    async def _load_exchange_info(self, force: bool = False) -> dict[str, bn.SymbolInfo]:
        if self._exchange_info is None or force:
            raw = await self._transport.call("exchangeInfo", lambda c: c.futures_exchange_info())
            info = parse(bn.ExchangeInfo, raw, venue=VENUE, what="exchangeInfo")
            self._exchange_info = {s.symbol: s for s in info.symbols}
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
        if entry is None or entry.status != "TRADING":
            raise ExchangeError(
                ErrorCode.SYMBOL_UNKNOWN, f"{vs} is not trading", retryable=False, venue=VENUE
            )
        try:
            rules = binance_rules(self._our_symbol(vs), entry.rules_input())
        except ValueError as err:  # a filter the rules need is missing
            raise bad_reply(VENUE, "exchangeInfo", str(err), mutating=False) from None
        self._rules[vs] = rules
        return rules

    async def max_leverage(self, symbol: str) -> int | None:
        """The venue's highest leverage for `symbol` (its leverage brackets; a signed read)."""
        vs = self._venue_symbol(symbol)
        what = "leverageBracket"
        raw = await self._transport.call(what, lambda c: c.futures_leverage_bracket(symbol=vs))
        rows = raw if isinstance(raw, list) else [raw]  # one symbol asked: an object, or a list
        for entry in parse_list(bn.SymbolBrackets, rows, venue=VENUE, what=what):
            if entry.symbol == vs:
                return entry.max_leverage
        raise ExchangeError(
            ErrorCode.SYMBOL_UNKNOWN, f"{vs} has no leverage brackets", retryable=False, venue=VENUE
        )

    # ------------------------------------------------------------ account

    async def _positions(self) -> list[LivePosition]:
        what = "positionRisk"
        # v2 positionRisk carries leverage (v3, python-binance's default, does not)
        raw = await self._transport.call(what, lambda c: c.futures_position_information(version=2))
        rows = parse_list(bn.PositionRisk, raw, venue=VENUE, what=what)
        return [p.live(self._our_symbol(p.symbol)) for p in rows if p.position_amt != 0]

    async def account(self) -> AccountView:
        raw = await self._transport.call("account", lambda c: c.futures_account())
        acct = parse(bn.FuturesAccount, raw, venue=VENUE, what="account")
        return acct.view(await self._positions())

    async def _open_algo_orders(self, venue_symbol: str | None = None) -> list[bn.AlgoOrder]:
        what = "openAlgoOrders"
        params = {} if venue_symbol is None else {"symbol": venue_symbol}
        raw = await self._transport.call(what, lambda c: c.futures_get_open_algo_orders(**params))
        return parse_list(bn.AlgoOrder, raw, venue=VENUE, what=what)

    async def open_orders(self) -> list[dict[str, Any]]:
        raw = await self._transport.call("openOrders", lambda c: c.futures_get_open_orders())
        orders = parse_list(bn.FuturesOrder, raw, venue=VENUE, what="openOrders")
        algos = await self._open_algo_orders()
        return [o.open_order(self._our_symbol(o.symbol)).model_dump() for o in orders] + [
            a.open_order(self._our_symbol(a.symbol)).model_dump() for a in algos
        ]

    async def _trades(self, venue_symbol: str, **params: Any) -> list[Fill]:
        what = "userTrades"
        raw = await self._transport.call(
            what, lambda c: c.futures_account_trades(symbol=venue_symbol, **params)
        )
        rows = parse_list(bn.Trade, raw, venue=VENUE, what=what)
        return [t.fill(self._our_symbol(t.symbol)) for t in rows]

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

    async def funding_payments(self, since_ms: int) -> list[FundingPayment]:
        what = "income"
        raw = await self._transport.call(
            what,
            lambda c: c.futures_income_history(
                incomeType="FUNDING_FEE", startTime=int(since_ms), limit=1000
            ),
        )
        rows = parse_list(bn.Income, raw, venue=VENUE, what=what)
        return [
            r.payment(self._our_symbol(r.symbol))
            for r in rows
            if r.income_type == "FUNDING_FEE" and r.symbol.endswith(self.quote_asset)
        ]

    async def liquidated_order_ids(self, since_ms: int) -> set[str]:
        """userTrades carries no liquidation flag: the account's force orders name them."""
        what = "forceOrders"
        raw = await self._transport.call(
            what, lambda c: c.futures_liquidation_orders(startTime=int(since_ms), limit=100)
        )
        return {str(o.order_id) for o in parse_list(bn.ForceOrder, raw, venue=VENUE, what=what)}

    # ------------------------------------------------------------ market data

    async def mids(self) -> dict[str, Decimal]:
        """Mark prices from premiumIndex (Binance has no single all-mids call)."""
        raw = await self._transport.call("premiumIndex", lambda c: c.futures_mark_price())
        rows = parse_list(bn.MarkPrice, raw, venue=VENUE, what="premiumIndex")
        return {
            self._our_symbol(row.symbol): row.mark_price
            for row in rows
            if row.symbol.endswith(self.quote_asset) and row.mark_price
        }

    async def candles(self, symbol: str, interval: str, limit: int, end_ms: int) -> list[Candle]:
        iv = parse_interval(interval)
        vs = self._venue_symbol(symbol)
        raw = await self._transport.call(
            "klines",
            lambda c: c.futures_klines(
                symbol=vs, interval=iv.value, endTime=int(end_ms), limit=min(int(limit) + 1, 1500)
            ),
        )
        rows = parse_list(bn.Kline, raw, venue=VENUE, what="klines")
        # a candle still open at end_ms is not one yet
        by_open = {k.open_time: k.candle() for k in rows if k.open_time + iv.ms <= end_ms}
        return [by_open[t] for t in sorted(by_open)][-int(limit) :] if limit > 0 else []

    async def funding(self, symbol: str) -> Decimal | None:
        vs = self._venue_symbol(symbol)
        raw = await self._transport.call("premiumIndex", lambda c: c.futures_mark_price(symbol=vs))
        return parse(bn.MarkPrice, raw, venue=VENUE, what="premiumIndex").last_funding_rate

    async def open_interest(self, symbol: str) -> Decimal | None:
        vs = self._venue_symbol(symbol)
        raw = await self._transport.call(
            "openInterest", lambda c: c.futures_open_interest(symbol=vs)
        )
        return parse(bn.OpenInterest, raw, venue=VENUE, what="openInterest").open_interest
