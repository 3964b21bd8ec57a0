"""A Binance USD-M futures emulator: real HTTP, real HMAC-SHA256 signatures, one-way mode.

Signed endpoints check ``X-MBX-APIKEY`` (unknown -> -2015), the HMAC over the raw query
string + raw body up to ``&signature=`` (bad -> -1022) and ``timestamp`` within
``recvWindow`` (-1021). MARKET orders fill at the mark. A LIMIT order (``timeInForce`` GTC, IOC,
FOK or GTX) that crosses the mark fills at the mark as a taker (up to the symbol's ``depth``
when one is set: an IOC's rest expires, a GTC's rests PARTIALLY_FILLED); one that does not
cross rests (GTC, GTX) or expires (IOC, FOK); a GTX that would cross is refused with -5022.
Resting LIMIT orders fill at their own price, as makers (``maker_fee``), when ``set_mark``
crosses them. TP/SL arrive on ``/fapi/v1/algoOrder`` (as python-binance routes them) and rest
until ``set_mark`` crosses them. ``closePosition`` algo orders expire when their position is
closed.

Tests read ``orders`` / ``algo_orders`` / ``requests`` to assert what reached the exchange.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import re
import threading
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from tests.emulators.exchange_common import (
    AFTER_KINDS,
    BEFORE_KINDS,
    DropConnection,
    Fault,
    Faults,
    funding_rate_at,
)

D = Decimal
CLIENT_ID_RE = re.compile(r"^[\.A-Z\:/a-z0-9_-]{1,36}$")
INTERVAL_MS = {
    "1m": 60_000,
    "3m": 180_000,
    "5m": 300_000,
    "15m": 900_000,
    "30m": 1_800_000,
    "1h": 3_600_000,
    "2h": 7_200_000,
    "4h": 14_400_000,
    "1d": 86_400_000,
}
CONDITIONAL = {"STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET", "TRAILING_STOP_MARKET"}
OPEN_STATUSES = ("NEW", "PARTIALLY_FILLED")
TIME_IN_FORCE = ("GTC", "IOC", "FOK", "GTX")
PERCENT_PRICE_UP, PERCENT_PRICE_DOWN = D("1.05"), D("0.95")  # as exchangeInfo lists them


def s(value: Decimal) -> str:
    text = f"{value.normalize():f}"
    return text if text != "-0" else "0"


def now_ms() -> int:
    return int(time.time() * 1000)


class ApiError(Exception):
    def __init__(self, code: int, msg: str, status: int = 400) -> None:
        super().__init__(msg)
        self.code, self.msg, self.status = code, msg, status


@dataclass
class BnSymbol:
    symbol: str
    base: str
    mark: Decimal
    tick: Decimal
    step: Decimal
    min_qty: Decimal
    max_qty: Decimal
    market_max_qty: Decimal
    min_notional: Decimal
    min_price: Decimal
    max_price: Decimal
    funding: Decimal = D("0.0001")
    open_interest: Decimal = D("12345.678")
    depth: Decimal | None = None  # what a taker can fill at once (None: any size)
    max_leverage: int = 125  # the first leverage bracket's (GET /fapi/v1/leverageBracket)


@dataclass
class BnPosition:
    amt: Decimal
    entry: Decimal
    leverage: int


@dataclass
class BnAccount:
    api_key: str
    secret: str
    balance: Decimal
    can_withdraw: bool = False
    enable_futures: bool = True
    positions: dict[str, BnPosition] = field(default_factory=dict)
    leverage: dict[str, int] = field(default_factory=dict)
    trades: list[dict[str, Any]] = field(default_factory=list)
    income: list[dict[str, Any]] = field(default_factory=list)  # /fapi/v1/income rows
    force_orders: list[dict[str, Any]] = field(default_factory=list)  # liquidation orders


def default_symbols() -> list[BnSymbol]:
    return [
        BnSymbol(
            "BTCUSDT", "BTC", D("65000"), D("0.10"), D("0.001"), D("0.001"), D("1000"),
            D("120"), D("100"), D("556.80"), D("4529764"),
        ),
        BnSymbol(
            "ETHUSDT", "ETH", D("3500"), D("0.01"), D("0.001"), D("0.001"), D("10000"),
            D("2000"), D("20"), D("39.86"), D("306177"),
        ),
        BnSymbol(
            "DOGEUSDT", "DOGE", D("0.15"), D("0.00001"), D("1"), D("1"), D("50000000"),
            D("30000000"), D("5"), D("0.002440"), D("30"),
        ),
    ]  # fmt: skip


class BinanceEmulator:
    def __init__(
        self,
        symbols: list[BnSymbol] | None = None,
        *,
        taker_fee: Decimal = D("0.0005"),
        maker_fee: Decimal = D("0.0002"),
    ) -> None:
        self.symbols = {x.symbol: x for x in (symbols or default_symbols())}
        self.taker_fee = taker_fee
        self.maker_fee = maker_fee
        self.faults = Faults()
        self.lock = threading.RLock()
        self.accounts: dict[str, BnAccount] = {}
        self.orders: dict[int, dict[str, Any]] = {}
        self.algo_orders: dict[int, dict[str, Any]] = {}
        self._order_owner: dict[int, str] = {}
        self._algo_owner: dict[int, str] = {}
        self.requests: list[str] = []  # "METHOD /path", in arrival order
        self.refused: list[dict[str, Any]] = []
        self._next_order = 8_000_000
        self._next_algo = 2_000_000
        self._next_trade = 700_000
        # True: a GTX that would cross is accepted and EXPIRED at once (what the venue answered
        # before it refused such orders with -5022), instead of refused.
        self.gtx_expires = False
        self.app = self._build_app()

    # ------------------------------------------------------------ test hooks

    def add_account(
        self,
        api_key: str,
        secret: str,
        balance: Decimal | str = "10000",
        *,
        can_withdraw: bool = False,
        enable_futures: bool = True,
    ) -> BnAccount:
        with self.lock:
            acct = BnAccount(api_key, secret, D(balance), can_withdraw, enable_futures)
            self.accounts[api_key] = acct
            return acct

    def set_withdrawals(self, api_key: str, enabled: bool) -> None:
        with self.lock:
            self.accounts[api_key].can_withdraw = enabled

    def set_mark(self, symbol: str, px: Decimal | str) -> None:
        """Move the mark; fill resting LIMIT orders it crosses (at their price, as makers) and
        fire the TP/SL it crosses (at the new mark)."""
        with self.lock:
            sym = self.symbols[symbol]
            sym.mark = D(px)
            for oid in sorted(self.orders):
                order = self.orders[oid]
                if (
                    order["symbol"] == symbol
                    and order["type"] == "LIMIT"
                    and order["status"] in OPEN_STATUSES
                    and self._limit_crossed(order, sym.mark)
                ):
                    self._fill_resting(order)
            for algo in sorted(self.algo_orders.values(), key=lambda a: a["algoId"]):
                if (
                    algo["symbol"] == symbol
                    and algo["algoStatus"] == "NEW"
                    and self._crossed(algo, sym.mark)
                ):
                    self._trigger(algo, sym.mark)

    def settle_funding(self, symbol: str, rate: Decimal | str, at_ms: int | None = None) -> None:
        """One funding settlement of `symbol` at `rate`: every position in it pays (long,
        positive rate) or receives, at the mark, booked as a FUNDING_FEE income row."""
        with self.lock:
            sym, r = self.symbols[symbol], D(rate)
            for acct in self.accounts.values():
                pos = acct.positions.get(symbol)
                if pos is None:
                    continue
                income = (-pos.amt * sym.mark * r).quantize(D("0.00000001"))
                acct.balance += income
                self._next_trade += 1
                acct.income.append(
                    {
                        "symbol": symbol,
                        "incomeType": "FUNDING_FEE",
                        "income": s(income),
                        "asset": "USDT",
                        "info": "FUNDING_FEE",
                        "time": at_ms if at_ms is not None else now_ms(),
                        "tranId": self._next_trade,
                        "tradeId": "",
                    }
                )

    def liquidate(self, api_key: str, symbol: str) -> None:
        """The venue liquidates the account's position in `symbol` at the mark: an order of
        its own (client id `autoclose-...`) that only forceOrders names as a liquidation."""
        with self.lock:
            acct = self.accounts[api_key]
            pos = acct.positions[symbol]
            side = "SELL" if pos.amt > 0 else "BUY"
            order = self._new_order(acct, symbol, side, "LIMIT", abs(pos.amt), None, True)
            self._execute(acct, order, abs(pos.amt), self.symbols[symbol].mark)
            acct.force_orders.append(dict(order))

    def orders_for(self, api_key: str) -> list[dict[str, Any]]:
        return [o for oid, o in self.orders.items() if self._order_owner[oid] == api_key]

    def algos_for(self, api_key: str) -> list[dict[str, Any]]:
        return [a for aid, a in self.algo_orders.items() if self._algo_owner[aid] == api_key]

    # ------------------------------------------------------------ accounting

    def _upnl(self, symbol: str, p: BnPosition) -> Decimal:
        return p.amt * (self.symbols[symbol].mark - p.entry)

    def _initial_margin(self, acct: BnAccount) -> Decimal:
        return sum(
            (abs(p.amt) * self.symbols[sym].mark / p.leverage for sym, p in acct.positions.items()),
            D(0),
        )

    def _margin_balance(self, acct: BnAccount) -> Decimal:
        return acct.balance + sum((self._upnl(sym, p) for sym, p in acct.positions.items()), D(0))

    def _liq(self, acct: BnAccount, symbol: str, p: BnPosition) -> Decimal:
        mmr = D("0.004")
        other = self._margin_balance(acct) - self._upnl(symbol, p)
        size = abs(p.amt)
        if p.amt > 0:
            px = (size * p.entry - other) / (size * (1 - mmr))
        else:
            px = (other + size * p.entry) / (size * (1 + mmr))
        return px.quantize(self.symbols[symbol].tick) if px > 0 else D(0)

    def _lev(self, acct: BnAccount, symbol: str) -> int:
        return acct.leverage.get(symbol, 20)

    def _execute(
        self,
        acct: BnAccount,
        order: dict[str, Any],
        qty: Decimal,
        px: Decimal,
        *,
        maker: bool = False,
    ) -> None:
        symbol = order["symbol"]
        is_buy = order["side"] == "BUY"
        pos = acct.positions.get(symbol)
        amt = pos.amt if pos else D(0)
        signed = qty if is_buy else -qty
        realized = D(0)
        if pos is not None and amt != 0 and (amt > 0) != (signed > 0):
            realized = min(abs(amt), qty) * (px - pos.entry) * (1 if amt > 0 else -1)
        new_amt = amt + signed
        if new_amt == 0:
            acct.positions.pop(symbol, None)
        elif pos is None or (amt > 0) != (new_amt > 0):
            acct.positions[symbol] = BnPosition(new_amt, px, self._lev(acct, symbol))
        elif abs(new_amt) > abs(amt):
            pos.entry = (abs(amt) * pos.entry + qty * px) / abs(new_amt)
            pos.amt = new_amt
        else:
            pos.amt = new_amt
        fee = (qty * px * (self.maker_fee if maker else self.taker_fee)).quantize(D("0.00000001"))
        acct.balance += realized - fee
        self._next_trade += 1
        acct.trades.append(
            {
                "buyer": is_buy,
                "commission": s(fee),
                "commissionAsset": "USDT",
                "id": self._next_trade,
                "maker": maker,
                "orderId": order["orderId"],
                "price": s(px),
                "qty": s(qty),
                "quoteQty": s(qty * px),
                "realizedPnl": s(realized),
                "side": order["side"],
                "positionSide": "BOTH",
                "symbol": symbol,
                "time": now_ms(),
            }
        )
        executed = D(order["executedQty"]) + qty
        prev = D(order["avgPrice"]) * D(order["executedQty"])
        order["executedQty"] = s(executed)
        order["avgPrice"] = s((prev + px * qty) / executed)
        order["cumQuote"] = s(D(order["cumQuote"]) + px * qty)
        order["status"] = "FILLED" if executed >= D(order["origQty"]) else "PARTIALLY_FILLED"
        order["updateTime"] = now_ms()
        if symbol not in acct.positions:  # flat: closePosition conditionals expire (GTE_GTC)
            for aid, algo in self.algo_orders.items():
                if (
                    self._algo_owner[aid] == acct.api_key
                    and algo["symbol"] == symbol
                    and algo["algoStatus"] == "NEW"
                    and algo["closePosition"]
                ):
                    algo["algoStatus"] = "EXPIRED"
                    algo["updateTime"] = now_ms()

    @staticmethod
    def _limit_crossed(order: dict[str, Any], mark: Decimal) -> bool:
        price = D(order["price"])
        return mark <= price if order["side"] == "BUY" else mark >= price

    def _fill_resting(self, order: dict[str, Any]) -> None:
        """A resting LIMIT order the mark crossed: its rest fills at its price (maker), up to
        the symbol's ``depth`` (the rest of it keeps resting, PARTIALLY_FILLED)."""
        acct = self.accounts[self._order_owner[order["orderId"]]]
        qty = D(order["origQty"]) - D(order["executedQty"])
        clipped = False
        if order["reduceOnly"]:
            pos = acct.positions.get(order["symbol"])
            if pos is None or (pos.amt > 0) == (order["side"] == "BUY"):
                order["status"], order["updateTime"] = "EXPIRED", now_ms()
                return
            clipped, qty = abs(pos.amt) < qty, min(qty, abs(pos.amt))
        depth = self.symbols[order["symbol"]].depth
        if depth is not None and depth < qty:
            clipped, qty = False, depth
        self._execute(acct, order, qty, D(order["price"]), maker=True)
        if clipped:
            order["status"] = "FILLED"  # a reduce-only rest clipped to the position is done

    def _crossed(self, algo: dict[str, Any], mark: Decimal) -> bool:
        trig = D(algo["triggerPrice"])
        sell = algo["side"] == "SELL"
        if algo["orderType"].startswith("TAKE_PROFIT"):
            return mark >= trig if sell else mark <= trig
        return mark <= trig if sell else mark >= trig

    def _trigger(self, algo: dict[str, Any], mark: Decimal) -> None:
        acct = self.accounts[self._algo_owner[algo["algoId"]]]
        pos = acct.positions.get(algo["symbol"])
        algo["triggerTime"] = now_ms()
        closing = pos is not None and (pos.amt > 0) == (algo["side"] == "SELL")
        if algo["closePosition"] or algo["reduceOnly"]:
            if not closing or pos is None:
                algo["algoStatus"] = "EXPIRED"
                return
            qty = abs(pos.amt) if algo["closePosition"] else min(D(algo["quantity"]), abs(pos.amt))
        else:
            qty = D(algo["quantity"])
        order = self._new_order(acct, algo["symbol"], algo["side"], "MARKET", qty, None, True)
        order["origType"] = algo["orderType"]
        self._execute(acct, order, qty, mark)
        algo["algoStatus"] = "FINISHED"
        algo["actualOrderId"] = str(order["orderId"])
        algo["executedQty"] = order["executedQty"]
        algo["avgPrice"] = order["avgPrice"]
        algo["updateTime"] = now_ms()

    def _new_order(
        self,
        acct: BnAccount,
        symbol: str,
        side: str,
        typ: str,
        qty: Decimal,
        client_id: str | None,
        reduce_only: bool,
    ) -> dict[str, Any]:
        self._next_order += 1
        oid = self._next_order
        order = {
            "orderId": oid,
            "symbol": symbol,
            "status": "NEW",
            "clientOrderId": client_id or f"autoclose-{oid}",
            "price": "0",
            "avgPrice": "0",
            "origQty": s(qty),
            "executedQty": "0",
            "cumQuote": "0",
            "timeInForce": "GTC",
            "type": typ,
            "reduceOnly": reduce_only,
            "closePosition": False,
            "side": side,
            "positionSide": "BOTH",
            "stopPrice": "0",
            "workingType": "CONTRACT_PRICE",
            "priceProtect": False,
            "origType": typ,
            "time": now_ms(),
            "updateTime": now_ms(),
        }
        self.orders[oid] = order
        self._order_owner[oid] = acct.api_key
        return order

    # ------------------------------------------------------------ validation helpers

    def _symbol(self, params: dict[str, str]) -> BnSymbol:
        sym = self.symbols.get(params.get("symbol", ""))
        if sym is None:
            raise ApiError(-1121, "Invalid symbol.")
        return sym

    @staticmethod
    def _qty_ok(qty: Decimal, lo: Decimal, step: Decimal) -> bool:
        return ((qty - lo) % step) == 0

    def _price_ok(self, sym: BnSymbol, px: Decimal) -> bool:
        return sym.min_price <= px <= sym.max_price and ((px - sym.min_price) % sym.tick) == 0

    # ------------------------------------------------------------ endpoints (state held)

    def _create_order(self, acct: BnAccount, p: dict[str, str]) -> dict[str, Any]:
        sym = self._symbol(p)
        typ = p.get("type", "")
        if typ in CONDITIONAL:
            raise ApiError(
                -4120,
                "Order type not supported for this endpoint. Please use the Algo Order API "
                "endpoints instead.",
            )
        if typ not in ("MARKET", "LIMIT"):
            raise ApiError(-1116, "Invalid orderType.")
        side = p.get("side", "")
        if side not in ("BUY", "SELL"):
            raise ApiError(-1117, "Invalid side.")
        client_id = p.get("newClientOrderId")
        if client_id is not None and not CLIENT_ID_RE.fullmatch(client_id):
            raise ApiError(-1100, "Illegal characters found in parameter 'newClientOrderId'.")
        for o in self.orders_for(acct.api_key):
            if o["clientOrderId"] == client_id and o["status"] in OPEN_STATUSES:
                raise ApiError(-4116, "ClientOrderId is duplicated.")
        try:
            qty = D(p.get("quantity", ""))
        except Exception:  # noqa: BLE001
            raise ApiError(-1102, "Mandatory parameter 'quantity' was not sent.") from None
        if qty <= 0:
            raise ApiError(-4003, "Quantity less than or equal to zero.")
        if not self._qty_ok(qty, sym.min_qty, sym.step):
            raise ApiError(-1111, "Precision is over the maximum defined for this asset.")
        limit = self._limit_terms(sym, side, p) if typ == "LIMIT" else None
        max_qty = sym.max_qty if limit else sym.market_max_qty
        if qty < sym.min_qty or qty > max_qty:
            lot = "LOT_SIZE" if limit else "MARKET_LOT_SIZE"
            raise ApiError(-1013, f"Filter failure: {lot}")
        reduce_only = p.get("reduceOnly", "false").lower() == "true"
        pos = acct.positions.get(sym.symbol)
        mark = sym.mark
        price = limit[0] if limit else mark
        crosses = limit is None or (price >= mark if side == "BUY" else price <= mark)
        if limit and limit[1] == "GTX" and crosses and not self.gtx_expires:
            raise ApiError(
                -5022,
                "Due to the order could not be executed as maker, the Post Only order will be "
                "rejected. The order will not be recorded in the order history",
            )
        if reduce_only:
            if pos is None or (pos.amt > 0) == (side == "BUY"):
                raise ApiError(-2022, "ReduceOnly Order is rejected.")
            qty = min(qty, abs(pos.amt))
        else:
            if qty * price < sym.min_notional:
                raise ApiError(
                    -4164,
                    f"Order's notional must be no smaller than {s(sym.min_notional)} "
                    "(unless you choose reduce only).",
                )
            same = pos is None or (pos.amt > 0) == (side == "BUY")
            opening = qty if same else max(D(0), qty - abs(pos.amt if pos else D(0)))
            need = opening * price / self._lev(acct, sym.symbol)
            if need > self._margin_balance(acct) - self._initial_margin(acct):
                raise ApiError(-2019, "Margin is insufficient.")
        order = self._new_order(acct, sym.symbol, side, typ, qty, client_id, reduce_only)
        if limit:
            order.update(price=s(price), timeInForce=limit[1])
        if crosses and not (limit and limit[1] == "GTX"):
            taken = qty if sym.depth is None else min(qty, sym.depth)
            self._execute(acct, order, taken, mark)
        if limit and limit[1] == "GTX" and crosses:
            order["status"] = "EXPIRED"  # gtx_expires: nothing filled, nothing rests
        if order["status"] != "FILLED" and (limit is None or limit[1] in ("IOC", "FOK")):
            order["status"] = "EXPIRED"  # what a market or IOC order did not fill at once
        if p.get("newOrderRespType", "ACK") == "ACK":
            ack = dict(order)
            ack.update(status="NEW", executedQty="0", avgPrice="0", cumQuote="0")
            return ack
        return dict(order)

    def _limit_terms(self, sym: BnSymbol, side: str, p: dict[str, str]) -> tuple[Decimal, str]:
        """A LIMIT order's price and time in force, checked as the venue checks them."""
        tif = p.get("timeInForce")
        if tif is None:
            raise ApiError(-1102, "Mandatory parameter 'timeInForce' was not sent.")
        if tif not in TIME_IN_FORCE:
            raise ApiError(-1115, "Invalid timeInForce.")
        try:
            price = D(p.get("price", ""))
        except Exception:  # noqa: BLE001
            raise ApiError(-1102, "Mandatory parameter 'price' was not sent.") from None
        if price < sym.min_price:
            raise ApiError(-4013, "Price less than min price.")
        if price > sym.max_price:
            raise ApiError(-1013, "Filter failure: PRICE_FILTER")
        if not self._price_ok(sym, price):
            raise ApiError(-4014, "Price not increased by tick size.")
        if side == "BUY" and price > sym.mark * PERCENT_PRICE_UP:
            raise ApiError(
                -4016, f"Limit price can't be higher than {s(sym.mark * PERCENT_PRICE_UP)}."
            )
        if side == "SELL" and price < sym.mark * PERCENT_PRICE_DOWN:
            raise ApiError(
                -4024, f"Limit price can't be lower than {s(sym.mark * PERCENT_PRICE_DOWN)}."
            )
        return price, tif

    def _create_algo(self, acct: BnAccount, p: dict[str, str]) -> dict[str, Any]:
        sym = self._symbol(p)
        typ = p.get("type", "")
        if p.get("algoType") != "CONDITIONAL" or typ not in CONDITIONAL:
            raise ApiError(-1116, "Invalid orderType.")
        side = p.get("side", "")
        if side not in ("BUY", "SELL"):
            raise ApiError(-1117, "Invalid side.")
        client_id = p.get("clientAlgoId") or f"auto-{self._next_algo + 1}"
        if not CLIENT_ID_RE.fullmatch(client_id):
            raise ApiError(-1100, "Illegal characters found in parameter 'clientAlgoId'.")
        for a in self.algos_for(acct.api_key):
            if a["clientAlgoId"] == client_id and a["algoStatus"] == "NEW":
                raise ApiError(-4116, "ClientOrderId is duplicated.")
        try:
            trigger = D(p.get("triggerPrice", ""))
        except Exception:  # noqa: BLE001
            raise ApiError(-1102, "Mandatory parameter 'triggerPrice' was not sent.") from None
        if not self._price_ok(sym, trigger):
            raise ApiError(-4014, "Price not increased by tick size.")
        close_position = p.get("closePosition", "false").lower() == "true"
        reduce_only = p.get("reduceOnly", "false").lower() == "true"
        if close_position and "quantity" in p:
            raise ApiError(-4136, "Target strategy invalid for orderType with closePosition.")
        if not close_position and "quantity" not in p:
            raise ApiError(-1102, "Mandatory parameter 'quantity' was not sent.")
        algo: dict[str, Any] = {
            "algoId": self._next_algo + 1,
            "clientAlgoId": client_id,
            "algoType": "CONDITIONAL",
            "orderType": typ,
            "symbol": sym.symbol,
            "side": side,
            "positionSide": "BOTH",
            "timeInForce": "GTE_GTC" if close_position else "GTC",
            "quantity": p.get("quantity", "0"),
            "algoStatus": "NEW",
            "triggerPrice": s(trigger),
            "price": p.get("price", "0"),
            "workingType": p.get("workingType", "CONTRACT_PRICE"),
            "priceMatch": "NONE",
            "closePosition": close_position,
            "priceProtect": False,
            "reduceOnly": reduce_only,
            "createTime": now_ms(),
            "updateTime": now_ms(),
            "triggerTime": 0,
            "goodTillDate": 0,
            "actualOrderId": "",
            "executedQty": "0",
            "avgPrice": "0",
        }
        if self._crossed(algo, sym.mark):
            raise ApiError(-2021, "Order would immediately trigger.")
        self._next_algo += 1
        self.algo_orders[algo["algoId"]] = algo
        self._algo_owner[algo["algoId"]] = acct.api_key
        return dict(algo)

    def _find_order(self, acct: BnAccount, p: dict[str, str]) -> dict[str, Any]:
        sym = self._symbol(p)
        for o in self.orders_for(acct.api_key):
            if o["symbol"] != sym.symbol:
                continue
            if "orderId" in p and str(o["orderId"]) == p["orderId"]:
                return o
            if "origClientOrderId" in p and o["clientOrderId"] == p["origClientOrderId"]:
                return o
        raise ApiError(-2013, "Order does not exist.")

    def _find_algo(self, acct: BnAccount, p: dict[str, str]) -> dict[str, Any]:
        for a in self.algos_for(acct.api_key):
            if "algoId" in p and str(a["algoId"]) == p["algoId"]:
                return a
            if "clientAlgoId" in p and a["clientAlgoId"] == p["clientAlgoId"]:
                return a
        raise ApiError(-2013, "Order does not exist.")

    def _position_rows(self, acct: BnAccount, version: int) -> list[dict[str, Any]]:
        rows = []
        for symbol, sym in self.symbols.items():
            p = acct.positions.get(symbol)
            lev = p.leverage if p else self._lev(acct, symbol)
            amt = p.amt if p else D(0)
            entry = p.entry if p else D(0)
            upnl = self._upnl(symbol, p) if p else D(0)
            row: dict[str, Any] = {
                "symbol": symbol,
                "positionAmt": s(amt),
                "entryPrice": s(entry),
                "breakEvenPrice": s(entry),
                "markPrice": s(sym.mark),
                "unRealizedProfit": s(upnl),
                "liquidationPrice": s(self._liq(acct, symbol, p)) if p else "0",
                "marginType": "cross",
                "isolatedMargin": "0",
                "positionSide": "BOTH",
                "notional": s(amt * sym.mark),
                "isolatedWallet": "0",
                "updateTime": now_ms(),
            }
            if version == 2:
                row.update(leverage=str(lev), maxNotionalValue="1000000", isAutoAddMargin="false")
            else:
                row.update(initialMargin=s(abs(amt) * sym.mark / lev), marginAsset="USDT")
            rows.append(row)
        return rows

    def _account(self, acct: BnAccount) -> dict[str, Any]:
        margin_balance = self._margin_balance(acct)
        initial = self._initial_margin(acct)
        upnl = margin_balance - acct.balance
        return {
            "feeTier": 0,
            "canTrade": True,
            "canDeposit": True,
            "canWithdraw": acct.can_withdraw,
            "updateTime": 0,
            "multiAssetsMargin": False,
            "totalInitialMargin": s(initial),
            "totalMaintMargin": s(initial / 10),
            "totalWalletBalance": s(acct.balance),
            "totalUnrealizedProfit": s(upnl),
            "totalMarginBalance": s(margin_balance),
            "totalPositionInitialMargin": s(initial),
            "totalOpenOrderInitialMargin": "0",
            "totalCrossWalletBalance": s(acct.balance),
            "totalCrossUnPnl": s(upnl),
            "availableBalance": s(margin_balance - initial),
            "maxWithdrawAmount": s(margin_balance - initial),
            "assets": [
                {
                    "asset": "USDT",
                    "walletBalance": s(acct.balance),
                    "unrealizedProfit": s(upnl),
                    "marginBalance": s(margin_balance),
                    "availableBalance": s(margin_balance - initial),
                }
            ],
            "positions": [
                {
                    "symbol": sym,
                    "initialMargin": s(abs(p.amt) * self.symbols[sym].mark / p.leverage),
                    "unrealizedProfit": s(self._upnl(sym, p)),
                    "leverage": str(p.leverage),
                    "isolated": False,
                    "entryPrice": s(p.entry),
                    "positionSide": "BOTH",
                    "positionAmt": s(p.amt),
                    "updateTime": now_ms(),
                }
                for sym, p in acct.positions.items()
            ],
        }

    def _exchange_info(self) -> dict[str, Any]:
        out = []
        for sym in self.symbols.values():
            out.append(
                {
                    "symbol": sym.symbol,
                    "pair": sym.symbol,
                    "contractType": "PERPETUAL",
                    "status": "TRADING",
                    "baseAsset": sym.base,
                    "quoteAsset": "USDT",
                    "marginAsset": "USDT",
                    "pricePrecision": max(0, -int(sym.tick.normalize().as_tuple().exponent)),
                    "quantityPrecision": max(0, -int(sym.step.normalize().as_tuple().exponent)),
                    "filters": [
                        {
                            "filterType": "PRICE_FILTER",
                            "minPrice": s(sym.min_price),
                            "maxPrice": s(sym.max_price),
                            "tickSize": s(sym.tick),
                        },
                        {
                            "filterType": "LOT_SIZE",
                            "stepSize": s(sym.step),
                            "minQty": s(sym.min_qty),
                            "maxQty": s(sym.max_qty),
                        },
                        {
                            "filterType": "MARKET_LOT_SIZE",
                            "stepSize": s(sym.step),
                            "minQty": s(sym.min_qty),
                            "maxQty": s(sym.market_max_qty),
                        },
                        {"filterType": "MAX_NUM_ORDERS", "limit": 200},
                        {"filterType": "MIN_NOTIONAL", "notional": s(sym.min_notional)},
                        {
                            "filterType": "PERCENT_PRICE",
                            "multiplierUp": "1.0500",
                            "multiplierDown": "0.9500",
                            "multiplierDecimal": "4",
                        },
                    ],
                    "orderTypes": ["LIMIT", "MARKET", "STOP", "STOP_MARKET", "TAKE_PROFIT",
                                   "TAKE_PROFIT_MARKET", "TRAILING_STOP_MARKET"],
                    "timeInForce": ["GTC", "IOC", "FOK", "GTX"],
                }
            )  # fmt: skip
        return {"timezone": "UTC", "serverTime": now_ms(), "rateLimits": [], "symbols": out}

    @staticmethod
    def _brackets(x: BnSymbol) -> dict[str, Any]:
        # As Binance answers: the highest leverage for the smallest notional, less above it.
        caps = ((x.max_leverage, 0, 50_000), (max(1, x.max_leverage // 2), 50_000, 1_000_000))
        return {
            "symbol": x.symbol,
            "notionalCoef": 1.0,
            "brackets": [
                {"bracket": n + 1, "initialLeverage": lev, "notionalCap": cap,
                 "notionalFloor": floor, "maintMarginRatio": 0.004 * (n + 1), "cum": 0.0}
                for n, (lev, floor, cap) in enumerate(caps)
            ],
        }  # fmt: skip

    def _klines(self, p: dict[str, str]) -> list[list[Any]]:
        sym = self._symbol(p)
        step = INTERVAL_MS[p.get("interval", "1m")]
        limit = min(int(p.get("limit", "500")), 1500)
        end = min(int(p.get("endTime", now_ms())), now_ms())
        last_open = end // step * step
        rows = []
        for i in range(limit - 1, -1, -1):
            t = last_open - i * step
            k = t // step
            o = (sym.mark * (1 + D((k % 7) - 3) / 1000)).quantize(sym.tick)
            c = (sym.mark * (1 + D(((k + 1) % 7) - 3) / 1000)).quantize(sym.tick)
            rows.append(
                [
                    t, s(o), s((max(o, c) * D("1.001")).quantize(sym.tick)),
                    s((min(o, c) * D("0.999")).quantize(sym.tick)), s(c), s(D(10 + k % 5)),
                    t + step - 1, "0", 10, "0", "0", "0",
                ]
            )  # fmt: skip
        return rows

    def _kline_row(self, sym: BnSymbol, t: int, step: int) -> list[Any]:
        k = t // step
        o = (sym.mark * (1 + D((k % 7) - 3) / 1000)).quantize(sym.tick)
        c = (sym.mark * (1 + D(((k + 1) % 7) - 3) / 1000)).quantize(sym.tick)
        return [
            t, s(o), s((max(o, c) * D("1.001")).quantize(sym.tick)),
            s((min(o, c) * D("0.999")).quantize(sym.tick)), s(c), s(D(10 + k % 5)),
            t + step - 1, "0", 10, "0", "0", "0",
        ]  # fmt: skip

    def _klines_from(self, p: dict[str, str]) -> list[list[Any]]:
        """Klines opening at or after startTime, up to endTime, at most `limit` (1500)."""
        sym = self._symbol(p)
        step = INTERVAL_MS[p.get("interval", "1m")]
        limit = min(int(p.get("limit", "500")), 1500)
        end = min(int(p.get("endTime", now_ms())), now_ms())
        t = -(-int(p["startTime"]) // step) * step
        rows = []
        while t <= end and len(rows) < limit:
            rows.append(self._kline_row(sym, t, step))
            t += step
        return rows

    def _funding_rates(self, p: dict[str, str]) -> list[dict[str, Any]]:
        """8-hourly settled rates from startTime, at most `limit` (1000), as the venue pages."""
        sym = self._symbol(p)
        every = 8 * 3_600_000
        limit = min(int(p.get("limit", "100")), 1000)
        end = min(int(p.get("endTime", now_ms())), now_ms())
        t = -(-int(p.get("startTime", "0")) // every) * every
        rows = []
        while t <= end and len(rows) < limit:
            rows.append(
                {
                    "symbol": sym.symbol,
                    "fundingTime": t,
                    "fundingRate": s(funding_rate_at(t)),
                    "markPrice": s(sym.mark),
                }
            )
            t += every
        return rows

    # ------------------------------------------------------------ HTTP

    def _auth(self, request: Request, raw_query: str, raw_body: str) -> BnAccount:
        key = request.headers.get("X-MBX-APIKEY", "")
        acct = self.accounts.get(key)
        if acct is None:
            raise ApiError(-2015, "Invalid API-key, IP, or permissions for action.", 401)
        total = raw_query + raw_body
        payload, sep, signature = total.rpartition("&signature=")
        if not sep:
            raise ApiError(-1102, "Mandatory parameter 'signature' was not sent.")
        expected = hmac.new(acct.secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature):
            raise ApiError(-1022, "Signature for this request is not valid.")
        params = dict(parse_qsl(payload, keep_blank_values=True))
        try:
            ts = int(params.get("timestamp", ""))
            window = min(int(params.get("recvWindow", "5000")), 60_000)
        except ValueError:
            raise ApiError(-1102, "Mandatory parameter 'timestamp' was not sent.") from None
        now = now_ms()
        if ts > now + 1000 or now - ts > window:
            raise ApiError(-1021, "Timestamp for this request is outside of the recvWindow.")
        return acct

    async def _finish(self, fault: Fault | None, payload: Any) -> Response:
        if fault is None:
            return JSONResponse(payload)
        if fault.kind == "error_5xx_after":
            return JSONResponse(
                {"code": -1000, "msg": "An unknown error occurred while processing the request."},
                status_code=fault.status,
            )
        if fault.kind == "drop_after":
            return DropConnection()
        await asyncio.sleep(fault.delay_s)
        return JSONResponse(payload)

    def _dispatch(self, op: str, acct: BnAccount | None, p: dict[str, str]) -> Any:  # noqa: C901 - a routing table
        if op == "GET /fapi/v1/time":
            return {"serverTime": now_ms()}
        if op == "GET /fapi/v1/exchangeInfo":
            return self._exchange_info()
        if op == "GET /fapi/v1/premiumIndex":

            def row(x: BnSymbol) -> dict[str, Any]:
                return {
                    "symbol": x.symbol,
                    "markPrice": s(x.mark),
                    "indexPrice": s(x.mark),
                    "estimatedSettlePrice": s(x.mark),
                    "lastFundingRate": s(x.funding),
                    "interestRate": "0.0001",
                    "nextFundingTime": (now_ms() // 28_800_000 + 1) * 28_800_000,
                    "time": now_ms(),
                }

            return (
                row(self._symbol(p)) if "symbol" in p else [row(x) for x in self.symbols.values()]
            )
        if op == "GET /fapi/v1/openInterest":
            sym = self._symbol(p)
            return {"openInterest": s(sym.open_interest), "symbol": sym.symbol, "time": now_ms()}
        if op == "GET /fapi/v1/klines" and "startTime" in p:
            return self._klines_from(p)
        if op == "GET /fapi/v1/klines":
            return self._klines(p)
        if op == "GET /fapi/v1/fundingRate":
            return self._funding_rates(p)
        assert acct is not None
        if op == "GET /sapi/v1/account/apiRestrictions":
            return {
                "ipRestrict": False,
                "createTime": 1_700_000_000_000,
                "enableReading": True,
                "enableWithdrawals": acct.can_withdraw,
                "enableInternalTransfer": False,
                "permitsUniversalTransfer": False,
                "enableVanillaOptions": False,
                "enableFutures": acct.enable_futures,
                "enableMargin": False,
                "enableSpotAndMarginTrading": False,
            }
        if not acct.enable_futures:
            raise ApiError(-2015, "Invalid API-key, IP, or permissions for action.", 401)
        if op in ("GET /fapi/v2/account", "GET /fapi/v3/account"):
            return self._account(acct)
        if op in ("GET /fapi/v2/positionRisk", "GET /fapi/v3/positionRisk"):
            rows = self._position_rows(acct, 2 if "/v2/" in op else 3)
            if "symbol" in p:
                rows = [r for r in rows if r["symbol"] == p["symbol"]]
            elif "/v3/" in op:
                rows = [r for r in rows if D(r["positionAmt"]) != 0]
            return rows
        if op == "GET /fapi/v1/leverageBracket":  # one symbol asked: its object (as documented)
            if "symbol" in p:
                return self._brackets(self._symbol(p))
            return [self._brackets(x) for x in self.symbols.values()]
        if op == "POST /fapi/v1/leverage":
            sym = self._symbol(p)
            lev = int(p.get("leverage", "0"))
            if not 1 <= lev <= 125:
                raise ApiError(-4028, f"Leverage {lev} is not valid")
            acct.leverage[sym.symbol] = lev
            if sym.symbol in acct.positions:
                acct.positions[sym.symbol].leverage = lev
            return {"leverage": lev, "maxNotionalValue": "1000000", "symbol": sym.symbol}
        if op == "POST /fapi/v1/order":
            return self._create_order(acct, p)
        if op == "GET /fapi/v1/order":
            return dict(self._find_order(acct, p))
        if op == "DELETE /fapi/v1/order":
            o = self._find_order(acct, p)
            if o["status"] not in OPEN_STATUSES:
                raise ApiError(-2011, "Unknown order sent.")
            o["status"] = "CANCELED"
            o["updateTime"] = now_ms()
            return dict(o)
        if op == "POST /fapi/v1/algoOrder":
            return self._create_algo(acct, p)
        if op == "GET /fapi/v1/algoOrder":
            return dict(self._find_algo(acct, p))
        if op == "DELETE /fapi/v1/algoOrder":
            a = self._find_algo(acct, p)
            if a["algoStatus"] != "NEW":
                raise ApiError(-2011, "Unknown order sent.")
            a["algoStatus"] = "CANCELED"
            a["updateTime"] = now_ms()
            return {"algoId": a["algoId"], "clientAlgoId": a["clientAlgoId"], "code": "200",
                    "msg": "success"}  # fmt: skip
        if op == "GET /fapi/v1/openOrders":
            return [
                dict(o)
                for o in self.orders_for(acct.api_key)
                if o["status"] in OPEN_STATUSES and p.get("symbol", o["symbol"]) == o["symbol"]
            ]
        if op == "GET /fapi/v1/openAlgoOrders":
            return [
                dict(a)
                for a in self.algos_for(acct.api_key)
                if a["algoStatus"] == "NEW" and p.get("symbol", a["symbol"]) == a["symbol"]
            ]
        if op == "GET /fapi/v1/userTrades":
            sym = self._symbol(p)
            start = int(p.get("startTime", "0"))
            rows = [
                t
                for t in acct.trades
                if t["symbol"] == sym.symbol
                and t["time"] >= start
                and ("orderId" not in p or str(t["orderId"]) == p["orderId"])
            ]
            return rows[: int(p.get("limit", "500"))]
        if op == "GET /fapi/v1/income":
            start = int(p.get("startTime", "0"))
            kind = p.get("incomeType")
            rows = [
                r
                for r in acct.income
                if r["time"] >= start and (kind is None or r["incomeType"] == kind)
            ]
            return rows[: int(p.get("limit", "100"))]
        if op == "GET /fapi/v1/forceOrders":
            start = int(p.get("startTime", "0"))
            return [o for o in acct.force_orders if o["time"] >= start][: int(p.get("limit", "50"))]
        raise ApiError(-1000, f"emulator: {op} not implemented", 404)

    def _build_app(self) -> FastAPI:
        app = FastAPI()
        public = {
            "GET /fapi/v1/time",
            "GET /fapi/v1/exchangeInfo",
            "GET /fapi/v1/premiumIndex",
            "GET /fapi/v1/openInterest",
            "GET /fapi/v1/klines",
            "GET /fapi/v1/fundingRate",
            "GET /fapi/v1/ping",
        }

        @app.api_route("/{path:path}", methods=["GET", "POST", "DELETE", "PUT"])
        async def handle(request: Request, path: str) -> Response:
            op = f"{request.method} /{path}"
            self.requests.append(op)
            fault = self.faults.take(op, BEFORE_KINDS)
            if fault is not None:
                if fault.kind == "rate_limit":
                    return JSONResponse(
                        {"code": -1003, "msg": "Too many requests; please use the websocket."},
                        status_code=429,
                        headers={"Retry-After": str(fault.retry_after_s)},
                    )
                return JSONResponse(
                    {"code": -1001, "msg": "Internal error; unable to process your request."},
                    status_code=fault.status,
                )
            raw_query = request.url.query
            raw_body = (await request.body()).decode()
            try:
                with self.lock:
                    acct = None if op in public else self._auth(request, raw_query, raw_body)
                    params = dict(parse_qsl(raw_query, keep_blank_values=True))
                    params.update(parse_qsl(raw_body, keep_blank_values=True))
                    params.pop("signature", None)
                    if op in ("GET /fapi/v1/order", "GET /fapi/v1/algoOrder") and (
                        self.faults.take(op, {"not_found"})
                    ):
                        raise ApiError(-2013, "Order does not exist.")
                    result = self._dispatch(op, acct, params)
                    if op in ("GET /fapi/v1/order", "GET /fapi/v1/algoOrder") and (
                        lie := self.faults.take(op, {"report_status"})
                    ):
                        status_field = "status" if op == "GET /fapi/v1/order" else "algoStatus"
                        result = {**result, status_field: lie.report}
                    if op == "GET /fapi/v1/userTrades" and self.faults.take(
                        op, {"duplicate_fills"}
                    ):
                        result = [t for t in result for _ in (0, 1)]
            except ApiError as err:
                if err.code in (-1022, -2015, -1021, -1102):
                    self.refused.append({"op": op, "code": err.code})
                return JSONResponse({"code": err.code, "msg": err.msg}, status_code=err.status)
            return await self._finish(self.faults.take(op, AFTER_KINDS), result)

        return app
