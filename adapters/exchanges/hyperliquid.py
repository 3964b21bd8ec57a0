"""Hyperliquid perpetuals through the official hyperliquid-python-sdk (synchronous, in threads).

* The account is ``wallet_address``; orders are signed by an API/agent wallet whose private
  key we hold (never the master key). ``verify`` proves the agent is approved for the wallet.
* Construction does no I/O: ``Info``/``Exchange`` get ``meta=``/``spot_meta=`` and
  ``skip_ws=True``; the real perp ``meta`` is fetched (under our timeout) on first use.
* The SDK signs as mainnet only when ``base_url`` is exactly the mainnet URL; any other URL
  (testnet, a local emulator, a proxy) signs with the testnet phantom-agent source.
* Market orders are IOC limit orders at mark +/- ``slippage``; TP/SL are reduce-only trigger
  orders (``tpsl``) with their own cloids. Every client order id maps to a 16-byte cloid.
* Signed actions carry ``expiresAfter`` (now + ``action_ttl_s``) so an order lost in flight
  cannot land after that deadline, and nonces are kept strictly increasing per client.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any, TypeVar

import eth_account
from eth_utils import is_address
from hyperliquid.exchange import Exchange
from hyperliquid.info import Info
from hyperliquid.utils.constants import MAINNET_API_URL, TESTNET_API_URL
from hyperliquid.utils.error import ClientError, ServerError
from hyperliquid.utils.types import Cloid

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
    check_quantity,
    hyperliquid_cloid,
    hyperliquid_rules,
    protective_client_order_id,
    protective_trigger_price,
    quantity_for_notional,
    round_quantity,
    slippage_price,
)
from domain.market import Candle, parse_interval
from domain.orders import OrderIntent, OrderOutcome, OrderStatus

log = logging.getLogger(__name__)

VENUE = "hyperliquid"
T = TypeVar("T")

_EMPTY_META: dict[str, Any] = {"universe": []}
_EMPTY_SPOT_META: dict[str, Any] = {"universe": [], "tokens": []}

_OPEN_STATUSES = {"open", "accepted", "triggered"}


def _now_ms() -> int:
    return int(time.time() * 1000)


def _reject_code(message: str) -> str:
    m = message.lower()
    if "insufficient margin" in m:
        return "INSUFFICIENT_MARGIN"
    if "minimum value" in m:
        return SizeDeny.NOTIONAL_BELOW_MINIMUM.value
    if "could not immediately match" in m:
        return "NO_LIQUIDITY"
    if "reduce only" in m:
        return "REDUCE_ONLY_REJECTED"
    if "price" in m or "tick" in m:
        return SizeDeny.PRICE_INVALID.value
    if "size" in m:
        return "QUANTITY_INVALID"
    return "VENUE_REJECTED"


def _map_status(status: str, filled: Decimal) -> OrderStatus:
    if status == "filled":
        return OrderStatus.FILLED
    if status in _OPEN_STATUSES:
        return OrderStatus.SUBMITTED
    if status.endswith("Rejected") or status == "rejected":
        return OrderStatus.FILLED if filled > 0 else OrderStatus.REJECTED
    if status.endswith("Canceled") or status in ("canceled", "scheduledCancel"):
        return OrderStatus.FILLED if filled > 0 else OrderStatus.CANCELLED
    return OrderStatus.SUBMITTED  # unknown status: never claim a failure we cannot prove


def _side(wire_side: Any) -> str:
    return "buy" if wire_side == "B" else "sell"


class HyperliquidClient:
    venue = VENUE

    def __init__(
        self,
        wallet_address: str,
        agent_private_key: str,
        environment: str = "testnet",
        base_url: str | None = None,
        timeout_s: float = 10,
        *,
        slippage: Decimal = Decimal("0.05"),
        action_ttl_s: float = 30.0,
    ) -> None:
        if environment not in ("testnet", "mainnet"):
            raise ValueError("environment must be 'testnet' or 'mainnet'")
        if not is_address(wallet_address):
            raise ValueError("wallet_address is not an address")
        try:
            agent = eth_account.Account.from_key(agent_private_key)
        except Exception:  # noqa: BLE001 - never echo the key back
            raise ValueError("agent_private_key is not a valid private key") from None
        self.environment = environment
        self.base_url = (
            base_url or (MAINNET_API_URL if environment == "mainnet" else TESTNET_API_URL)
        ).rstrip("/")
        self.timeout_s = float(timeout_s)
        self.slippage = slippage
        self.action_ttl_ms = int(action_ttl_s * 1000)
        self.wallet_address = wallet_address
        self.agent_address: str = agent.address
        self.__agent = agent
        # meta/spot_meta given and skip_ws: no network at construction
        self._info = Info(
            self.base_url,
            skip_ws=True,
            meta=_EMPTY_META,
            spot_meta=_EMPTY_SPOT_META,
            timeout=self.timeout_s,
        )
        self._exchange: Exchange | None = None
        self._rules: dict[str, InstrumentRules] = {}
        self._universe: list[str] = []
        self._action_lock = threading.Lock()
        self._last_nonce_ms = 0

    def __repr__(self) -> str:
        return (
            f"HyperliquidClient(wallet_address={self.wallet_address!r}, "
            f"agent_address={self.agent_address!r}, environment={self.environment!r}, "
            f"base_url={self.base_url!r})"
        )

    def venue_client_id(self, client_order_id: str) -> str:
        return hyperliquid_cloid(client_order_id)

    async def close(self) -> None:
        self._info.session.close()
        if self._exchange is not None:
            self._exchange.session.close()
            self._exchange.info.session.close()

    # ------------------------------------------------------------ plumbing

    def _classify(self, err: BaseException, what: str, mutating: bool) -> ExchangeError:
        if isinstance(err, ServerError):
            if mutating:
                return OutcomeUnknown(f"{what}: HTTP {err.status_code}", venue=VENUE)
            return ExchangeError(
                ErrorCode.SERVER_ERROR,
                f"{what}: HTTP {err.status_code}",
                retryable=True,
                venue=VENUE,
                status=err.status_code,
            )
        if isinstance(err, ClientError):
            status = int(err.status_code)
            msg = f"{what}: HTTP {status}: {safe_text(err.error_message)}"
            if status == 429:
                return ExchangeError(
                    ErrorCode.RATE_LIMITED,
                    msg,
                    retryable=True,
                    venue=VENUE,
                    status=status,
                    retry_after_s=retry_after_seconds(err.header, err.error_data),
                )
            code = ErrorCode.AUTH if status in (401, 403) else ErrorCode.VENUE_ERROR
            return ExchangeError(code, msg, retryable=False, venue=VENUE, status=status)
        if mutating:
            return OutcomeUnknown(f"{what}: unexpected {type(err).__name__}", venue=VENUE)
        return ExchangeError(
            ErrorCode.BAD_RESPONSE,
            f"{what}: unexpected {type(err).__name__}",
            retryable=True,
            venue=VENUE,
        )

    async def _read(self, what: str, fn: Callable[[], T]) -> T:
        return await run_blocking(
            fn,
            timeout_s=self.timeout_s + 1,
            venue=VENUE,
            what=what,
            mutating=False,
            classify=self._classify,
        )

    async def _info_post(self, what: str, payload: dict[str, Any]) -> Any:
        result = await self._read(what, lambda: self._info.post("/info", payload))
        if isinstance(result, dict) and set(result) == {"error"}:
            raise ExchangeError(
                ErrorCode.BAD_RESPONSE, f"{what}: unparseable answer", retryable=True, venue=VENUE
            )
        return result

    async def _action(self, what: str, fn: Callable[[Exchange], Any]) -> dict[str, Any]:
        """Run one signed action; returns the parsed ``{"status": "ok", ...}`` answer.

        Raises ``OutcomeUnknown`` if the answer was lost, ``ExchangeError(AUTH)`` if the
        signer is unknown, and returns ``{"status": "err", ...}`` answers to the caller.
        """
        exchange = await self._ready()

        def call() -> Any:
            with self._action_lock:
                while _now_ms() <= self._last_nonce_ms:  # SDK nonce = ms clock: keep it unique
                    time.sleep(0.001)
                exchange.set_expires_after(_now_ms() + self.action_ttl_ms)
                try:
                    return fn(exchange)
                finally:
                    self._last_nonce_ms = _now_ms()

        resp = await run_blocking(
            call,
            timeout_s=self.timeout_s + 1,
            venue=VENUE,
            what=what,
            mutating=True,
            classify=self._classify,
        )
        if not isinstance(resp, dict) or resp.get("status") not in ("ok", "err"):
            raise OutcomeUnknown(f"{what}: unparseable answer", venue=VENUE)
        if resp["status"] == "err":
            message = safe_text(resp.get("response"))
            low = message.lower()
            if "does not exist" in low or "signature" in low or "not authorized" in low:
                raise ExchangeError(
                    ErrorCode.AUTH, f"{what}: {message}", retryable=False, venue=VENUE
                )
            if "nonce" in low:  # refused before acting: a fresh nonce will do
                raise ExchangeError(
                    ErrorCode.VENUE_ERROR, f"{what}: {message}", retryable=True, venue=VENUE
                )
            if "too many" in low or "rate limit" in low:
                raise ExchangeError(
                    ErrorCode.RATE_LIMITED, f"{what}: {message}", retryable=True, venue=VENUE
                )
        return resp

    async def _ready(self) -> Exchange:
        await self._load_meta()
        assert self._exchange is not None
        return self._exchange

    async def _load_meta(self, force: bool = False) -> None:
        """Fetch perp meta once (no lock: a concurrent double fetch is harmless)."""
        if self._exchange is not None and not force:
            return
        meta = await self._read("meta", lambda: self._info.meta())
        universe = meta.get("universe") if isinstance(meta, dict) else None
        if not isinstance(universe, list):
            raise ExchangeError(
                ErrorCode.BAD_RESPONSE, "meta: no universe", retryable=True, venue=VENUE
            )
        rules: dict[str, InstrumentRules] = {}
        names: list[str] = []
        for index, asset in enumerate(universe):
            name = str(asset["name"])
            names.append(name)
            if asset.get("isDelisted"):
                continue
            rules[name] = hyperliquid_rules(
                name,
                int(asset["szDecimals"]),
                max_leverage=int(asset["maxLeverage"]) if "maxLeverage" in asset else None,
                asset_index=index,
            )
        self._rules, self._universe = rules, names
        # meta and spot_meta given: the Exchange (and its inner Info) does no I/O here
        self._exchange = Exchange(
            self.__agent,
            self.base_url,
            meta=meta,
            spot_meta=_EMPTY_SPOT_META,
            account_address=self.wallet_address,
            timeout=self.timeout_s,
        )

    # ------------------------------------------------------------ reads

    async def verify(self) -> VerifyResult:
        agent, wallet = self.agent_address.lower(), self.wallet_address.lower()
        details = {"wallet_address": self.wallet_address, "agent_address": self.agent_address}
        if agent == wallet:
            return VerifyResult(
                ok=False,
                venue=VENUE,
                code="AGENT_IS_WALLET",
                reason="the key is the account's own key; register an API (agent) wallet",
                details=details,
            )
        role: Any = None
        try:
            role = await self._info_post(
                "userRole", {"type": "userRole", "user": self.agent_address}
            )
        except ExchangeError as err:
            if err.retryable:
                raise
        if isinstance(role, dict) and role.get("role") == "agent":
            master = str((role.get("data") or {}).get("user", "")).lower()
            if master == wallet:
                await self.account()  # the account itself must be readable
                return VerifyResult(ok=True, venue=VENUE, reason="approved agent", details=details)
            return VerifyResult(
                ok=False,
                venue=VENUE,
                code="AGENT_OF_OTHER_ACCOUNT",
                reason="the key is an agent of a different account",
                details=details,
            )
        agents = await self._info_post(
            "extraAgents", {"type": "extraAgents", "user": self.wallet_address}
        )
        for entry in agents if isinstance(agents, list) else []:
            if str(entry.get("address", "")).lower() != agent:
                continue
            valid_until = int(entry.get("validUntil") or 0)
            if valid_until and valid_until <= _now_ms():
                return VerifyResult(
                    ok=False,
                    venue=VENUE,
                    code="AGENT_EXPIRED",
                    reason="the agent's approval has expired",
                    details=details,
                )
            await self.account()
            return VerifyResult(ok=True, venue=VENUE, reason="approved agent", details=details)
        return VerifyResult(
            ok=False,
            venue=VENUE,
            code="UNKNOWN_AGENT",
            reason="the key is not an approved agent of this wallet",
            details=details,
        )

    async def rules(self, symbol: str) -> InstrumentRules:
        await self._load_meta()
        if symbol not in self._rules:
            await self._load_meta(force=True)
        if symbol not in self._rules:
            raise ExchangeError(
                ErrorCode.SYMBOL_UNKNOWN, f"{symbol} is not listed", retryable=False, venue=VENUE
            )
        return self._rules[symbol]

    async def account(self) -> AccountView:
        st = await self._info_post(
            "clearinghouseState",
            {"type": "clearinghouseState", "user": self.wallet_address, "dex": ""},
        )
        if not isinstance(st, dict):
            raise ExchangeError(
                ErrorCode.BAD_RESPONSE,
                "clearinghouseState: bad answer",
                retryable=True,
                venue=VENUE,
            )
        positions: list[LivePosition] = []
        for ap in st.get("assetPositions", []):
            p = ap.get("position", {})
            szi = dec0(p.get("szi"))
            if szi == 0:
                continue
            size = abs(szi)
            entry = dec0(p.get("entryPx"))
            value = dec0(p.get("positionValue"))
            positions.append(
                LivePosition(
                    symbol=str(p.get("coin")),
                    side="long" if szi > 0 else "short",
                    size=size,
                    entry_price=entry,
                    mark_price=plain(value / size) if value else entry,
                    leverage=dec((p.get("leverage") or {}).get("value"), Decimal(1)) or Decimal(1),
                    unrealized_pnl=dec0(p.get("unrealizedPnl")),
                    liquidation_price=dec(p.get("liquidationPx")),
                    margin_used=dec(p.get("marginUsed")),
                )
            )
        summary = st.get("marginSummary", {})
        equity = dec0(summary.get("accountValue"))
        upnl = sum((p.unrealized_pnl for p in positions), Decimal(0))
        return AccountView(
            cash_usd=equity - upnl,
            equity_usd=equity,
            available_usd=dec0(st.get("withdrawable")),
            used_margin_usd=dec0(summary.get("totalMarginUsed")),
            realized_pnl_usd=Decimal(0),  # not part of a venue snapshot: derive from fills
            fees_paid_usd=Decimal(0),
            unrealized_pnl_usd=upnl,
            positions=list(positions),
        )

    async def _position(self, symbol: str) -> LivePosition | None:
        view = await self.account()
        for p in view.positions:
            if p.symbol == symbol and isinstance(p, LivePosition):
                return p
        return None

    async def _frontend_open_orders(self) -> list[dict[str, Any]]:
        raw = await self._info_post(
            "frontendOpenOrders",
            {"type": "frontendOpenOrders", "user": self.wallet_address, "dex": ""},
        )
        return [o for o in raw if isinstance(o, dict)] if isinstance(raw, list) else []

    async def open_orders(self) -> list[dict[str, Any]]:
        out = []
        for o in await self._frontend_open_orders():
            is_trigger = bool(o.get("isTrigger"))
            out.append(
                OpenOrder(
                    venue_client_id=o.get("cloid"),
                    exchange_order_id=str(o.get("oid")),
                    symbol=str(o.get("coin")),
                    side=_side(o.get("side")),
                    type=str(o.get("orderType", "Limit")),
                    size=dec(o.get("sz")),
                    price=dec(o.get("limitPx")),
                    trigger_price=dec(o.get("triggerPx")) if is_trigger else None,
                    reduce_only=bool(o.get("reduceOnly")),
                    is_trigger=is_trigger,
                ).model_dump()
            )
        return out

    def _fill(self, f: dict[str, Any]) -> Fill:
        return Fill(
            trade_id=str(f.get("tid")),
            exchange_order_id=str(f.get("oid")),
            venue_client_id=f.get("cloid"),
            symbol=str(f.get("coin")),
            side=_side(f.get("side")),
            size=dec0(f.get("sz")),
            price=dec0(f.get("px")),
            fee=dec0(f.get("fee")),
            fee_asset=str(f.get("feeToken", "USDC")),
            realized_pnl=dec0(f.get("closedPnl")),
            time_ms=int(f.get("time", 0)),
        )

    async def fills(self, since_ms: int) -> list[Fill]:
        raw = await self._info_post(
            "userFillsByTime",
            {
                "type": "userFillsByTime",
                "user": self.wallet_address,
                "startTime": int(since_ms),
                "aggregateByTime": False,
            },
        )
        rows = raw if isinstance(raw, list) else []
        return dedupe_fills(self._fill(f) for f in rows if isinstance(f, dict) and "tid" in f)

    async def _order_fills(self, oid: int, since_ms: int | None) -> list[Fill]:
        start = max(0, (since_ms or 0) - 60_000)
        return [f for f in await self.fills(start) if f.exchange_order_id == str(oid)]

    async def lookup(self, client_order_id: str, symbol: str | None = None) -> OrderOutcome | None:
        cloid = hyperliquid_cloid(client_order_id)
        r = await self._info_post(
            "orderStatus", {"type": "orderStatus", "user": self.wallet_address, "oid": cloid}
        )
        if not isinstance(r, dict):
            raise ExchangeError(
                ErrorCode.BAD_RESPONSE, "orderStatus: bad answer", retryable=True, venue=VENUE
            )
        if r.get("status") == "unknownOid":
            return None
        wrapper = r.get("order") if r.get("status") == "order" else None
        order = wrapper.get("order") if isinstance(wrapper, dict) else None
        if not isinstance(order, dict):
            raise ExchangeError(
                ErrorCode.BAD_RESPONSE, "orderStatus: bad answer", retryable=True, venue=VENUE
            )
        status = str(wrapper.get("status", "")) if isinstance(wrapper, dict) else ""
        oid = int(order["oid"])
        fills = await self._order_fills(oid, order.get("timestamp"))
        filled = sum((f.size for f in fills), Decimal(0))
        if not fills and status == "filled":
            filled = dec0(order.get("origSz")) - dec0(order.get("sz"))
        avg = (
            plain(sum((f.size * f.price for f in fills), Decimal(0)) / filled)
            if fills and filled
            else None
        )
        mapped = _map_status(status, filled)
        return OrderOutcome(
            client_order_id=client_order_id,
            status=mapped,
            symbol=str(order.get("coin", "")),
            side=_side(order.get("side")),
            exchange_order_id=str(oid),
            filled_size=filled if filled else None,
            avg_price=avg,
            fee=sum((f.fee for f in fills), Decimal(0)) if fills else None,
            reject_reason=status
            if mapped in (OrderStatus.REJECTED, OrderStatus.CANCELLED)
            else None,
        )

    async def mids(self) -> dict[str, Decimal]:
        raw = await self._info_post("allMids", {"type": "allMids", "dex": ""})
        out: dict[str, Decimal] = {}
        for coin, px in raw.items() if isinstance(raw, dict) else []:
            if coin.startswith("@") or "/" in coin:
                continue  # spot pairs
            value = dec(px)
            if value is not None:
                out[coin] = value
        return out

    async def candles(self, symbol: str, interval: str, limit: int, end_ms: int) -> list[Candle]:
        iv = parse_interval(interval)
        step = iv.ms
        req = {
            "coin": symbol,
            "interval": iv.value,
            "startTime": int(end_ms) - (int(limit) + 1) * step,
            "endTime": int(end_ms),
        }
        raw = await self._info_post("candleSnapshot", {"type": "candleSnapshot", "req": req})
        by_open: dict[int, Candle] = {}
        for c in raw if isinstance(raw, list) else []:
            t = int(c["t"])
            if t + step > end_ms:  # still open at end_ms
                continue
            by_open[t] = Candle(
                open_time_ms=t,
                open=dec0(c["o"]),
                high=dec0(c["h"]),
                low=dec0(c["l"]),
                close=dec0(c["c"]),
                volume=dec0(c["v"]),
            )
        return [by_open[t] for t in sorted(by_open)][-int(limit) :] if limit > 0 else []

    async def _asset_ctx(self, symbol: str) -> dict[str, Any] | None:
        raw = await self._info_post("metaAndAssetCtxs", {"type": "metaAndAssetCtxs"})
        if not (isinstance(raw, list) and len(raw) == 2):
            raise ExchangeError(
                ErrorCode.BAD_RESPONSE, "metaAndAssetCtxs: bad answer", retryable=True, venue=VENUE
            )
        meta, ctxs = raw
        for asset, ctx in zip(meta.get("universe", []), ctxs, strict=False):
            if asset.get("name") == symbol:
                return ctx if isinstance(ctx, dict) else None
        return None

    async def funding(self, symbol: str) -> Decimal | None:
        ctx = await self._asset_ctx(symbol)
        return dec(ctx.get("funding")) if ctx else None

    async def open_interest(self, symbol: str) -> Decimal | None:
        ctx = await self._asset_ctx(symbol)
        return dec(ctx.get("openInterest")) if ctx else None

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

    def _outcome_from_status(self, intent: OrderIntent, resp: dict[str, Any]) -> OrderOutcome:
        if resp["status"] == "err":
            msg = safe_text(resp.get("response"))
            return self._rejected(intent, f"{_reject_code(msg)}: {msg}")
        try:
            st = resp["response"]["data"]["statuses"][0]
        except (KeyError, IndexError, TypeError):
            raise OutcomeUnknown("order: unparseable answer", venue=VENUE) from None
        if "filled" in st:
            f = st["filled"]
            return OrderOutcome(
                client_order_id=intent.client_order_id,
                symbol=intent.symbol,
                side=intent.side,
                status=OrderStatus.FILLED,
                exchange_order_id=str(f.get("oid")),
                filled_size=dec(f.get("totalSz")),
                avg_price=dec(f.get("avgPx")),
            )
        if "resting" in st:
            return OrderOutcome(
                client_order_id=intent.client_order_id,
                symbol=intent.symbol,
                side=intent.side,
                status=OrderStatus.SUBMITTED,
                exchange_order_id=str(st["resting"].get("oid")),
            )
        msg = safe_text(st.get("error") if isinstance(st, dict) else st)
        return self._rejected(intent, f"{_reject_code(msg)}: {msg}")

    async def place(
        self, intent: OrderIntent, mark: Decimal, known: OrderOutcome | None = None
    ) -> OrderOutcome:
        existing = known or await self.lookup(intent.client_order_id)
        if existing is not None:
            if existing.status is OrderStatus.FILLED and not intent.reduce_only:
                await self._ensure_protection(intent, existing)
            return existing
        rules = await self.rules(intent.symbol)
        is_buy = intent.side == "buy"
        sizing: SizeResult
        if intent.reduce_only:
            pos = await self._position(intent.symbol)
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
        limit_px = slippage_price(mark, is_buy, self.slippage, rules)
        if limit_px is None:
            return self._rejected(intent, SizeDeny.PRICE_INVALID.value)
        if not intent.reduce_only:
            lev = int(intent.leverage)  # venue leverage is an integer: round down, never up
            if lev < 1:
                return self._rejected(intent, "LEVERAGE_INVALID")
            if rules.max_leverage is not None and lev > rules.max_leverage:
                return self._rejected(intent, "LEVERAGE_EXCEEDS_MAX")
            refused = await self._update_leverage(intent.symbol, lev)
            if refused is not None:
                return self._rejected(intent, f"LEVERAGE_REJECTED: {refused}")
        qty, coin = sizing.quantity, intent.symbol
        cloid = Cloid(hyperliquid_cloid(intent.client_order_id))
        resp = await self._action(
            "order",
            lambda ex: ex.order(
                coin,
                is_buy,
                float(qty),  # SDK boundary: the SDK takes floats and re-checks 8-decimal wire form
                float(limit_px),
                {"limit": {"tif": "Ioc"}},
                reduce_only=intent.reduce_only,
                cloid=cloid,
            ),
        )
        outcome = self._outcome_from_status(intent, resp)
        if outcome.status is OrderStatus.FILLED:
            outcome = await self._with_fee(outcome)
            if not intent.reduce_only:
                await self._ensure_protection(intent, outcome)
            elif intent.size_usd is None:
                await self._cancel_protective(coin)
        return outcome

    async def _update_leverage(self, coin: str, leverage: int) -> str | None:
        """Set cross leverage; returns the venue's refusal text, or None when set."""
        try:
            resp = await self._action(
                "updateLeverage", lambda ex: ex.update_leverage(leverage, coin, is_cross=True)
            )
        except OutcomeUnknown as err:
            # no order was sent yet: the whole placement is safe to retry
            raise ExchangeError(
                ErrorCode.TIMEOUT, f"updateLeverage: {err.message}", retryable=True, venue=VENUE
            ) from None
        return safe_text(resp.get("response")) if resp["status"] == "err" else None

    async def _with_fee(self, outcome: OrderOutcome) -> OrderOutcome:
        if outcome.exchange_order_id is None or outcome.fee is not None:
            return outcome
        try:
            fills = await self._order_fills(int(outcome.exchange_order_id), _now_ms() - 60_000)
        except ExchangeError as err:
            log.warning("hyperliquid: fee lookup for %s failed: %s", outcome.client_order_id, err)
            return outcome
        if not fills:
            return outcome
        return outcome.model_copy(update={"fee": sum((f.fee for f in fills), Decimal(0))})

    async def _ensure_protection(self, intent: OrderIntent, entry: OrderOutcome) -> None:
        legs: list[tuple[ProtectiveKind, Decimal]] = []
        if intent.take_profit_pct is not None:
            legs.append(("tp", intent.take_profit_pct))
        if intent.stop_loss_pct is not None:
            legs.append(("sl", intent.stop_loss_pct))
        if not legs:
            return
        rules = await self.rules(intent.symbol)
        is_buy = intent.side == "buy"
        for kind, pct in legs:
            leg_id = protective_client_order_id(intent.client_order_id, kind)
            try:
                if await self.lookup(leg_id) is not None:
                    continue
                if entry.avg_price is None or not entry.filled_size:
                    raise ExchangeError(
                        ErrorCode.BAD_RESPONSE,
                        "entry fill price not known yet",
                        retryable=True,
                        venue=VENUE,
                    )
                trigger = protective_trigger_price(entry.avg_price, intent.side, kind, pct, rules)
                size = round_quantity(entry.filled_size, rules, market=False)
                if trigger is None or size <= 0:
                    raise ExchangeError(
                        ErrorCode.INVALID_ORDER,
                        f"{SizeDeny.PRICE_INVALID.value}: no valid {kind} trigger price",
                        retryable=False,
                        venue=VENUE,
                    )
                await self._place_trigger(intent.symbol, not is_buy, size, trigger, kind, leg_id)
            except ExchangeError as err:
                raise ProtectiveOrderError(err, entry=entry, leg_client_order_id=leg_id) from None

    async def _place_trigger(
        self,
        coin: str,
        is_buy: bool,
        size: Decimal,
        trigger: Decimal,
        kind: ProtectiveKind,
        leg_id: str,
    ) -> None:
        order_type: Any = {"trigger": {"triggerPx": float(trigger), "isMarket": True, "tpsl": kind}}
        cloid = Cloid(hyperliquid_cloid(leg_id))
        resp = await self._action(
            f"order {kind}",
            lambda ex: ex.order(
                coin, is_buy, float(size), float(trigger), order_type, reduce_only=True, cloid=cloid
            ),
        )
        if resp["status"] == "err":
            msg = safe_text(resp.get("response"))
            raise ExchangeError(ErrorCode.INVALID_ORDER, msg, retryable=False, venue=VENUE)
        try:
            st = resp["response"]["data"]["statuses"][0]
        except (KeyError, IndexError, TypeError):
            raise OutcomeUnknown(f"order {kind}: unparseable answer", venue=VENUE) from None
        if isinstance(st, dict) and ("resting" in st or "filled" in st):
            return
        msg = safe_text(st.get("error") if isinstance(st, dict) else st)
        raise ExchangeError(ErrorCode.INVALID_ORDER, msg, retryable=False, venue=VENUE)

    async def _cancel_protective(self, coin: str) -> None:
        """After a full close, cancel the coin's resting reduce-only triggers (best effort)."""
        try:
            stale = [
                int(o["oid"])
                for o in await self._frontend_open_orders()
                if o.get("coin") == coin and o.get("isTrigger") and o.get("reduceOnly")
            ]
            if stale:
                await self._action(
                    "cancel",
                    lambda ex: ex.bulk_cancel([{"coin": coin, "oid": oid} for oid in stale]),
                )
        except ExchangeError as err:
            log.warning("hyperliquid: could not cancel %s TP/SL after close: %s", coin, err)

    async def cancel(self, client_order_id: str, symbol: str | None = None) -> bool:
        current = await self.lookup(client_order_id)
        if current is None or current.status is not OrderStatus.SUBMITTED:
            return False
        coin = current.symbol or symbol or ""
        cloid = Cloid(hyperliquid_cloid(client_order_id))
        resp = await self._action("cancelByCloid", lambda ex: ex.cancel_by_cloid(coin, cloid))
        if resp["status"] != "ok":
            return False
        try:
            return bool(resp["response"]["data"]["statuses"][0] == "success")
        except (KeyError, IndexError, TypeError):
            raise OutcomeUnknown("cancelByCloid: unparseable answer", venue=VENUE) from None
