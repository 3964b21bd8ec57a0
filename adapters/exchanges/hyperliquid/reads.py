"""What a Hyperliquid client reads: the agent's approval, instrument rules, the account, open
orders, fills and market data. Every reply is parsed by a model in ``schemas``.

* The account is ``wallet_address``; orders are signed by an API/agent wallet whose private
  key we hold (never the master key). ``verify`` proves the agent is approved for the wallet.
* Construction does no I/O; the perp meta (rules, and the SDK's coin -> asset map) is read
  under our timeout on first use.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import eth_account
from eth_utils import is_address
from hyperliquid.exchange import Exchange
from hyperliquid.utils.constants import MAINNET_API_URL, TESTNET_API_URL

from adapters.exchanges.base import AccountView
from adapters.exchanges.client import (
    ErrorCode,
    ExchangeError,
    Fill,
    FundingPayment,
    VerifyResult,
)
from adapters.exchanges.hyperliquid import schemas as hl
from adapters.exchanges.hyperliquid.errors import VENUE
from adapters.exchanges.hyperliquid.transport import HyperliquidTransport, now_ms
from adapters.exchanges.wire import M, dedupe_fills, parse, parse_list
from domain.exchange_rules import InstrumentRules, hyperliquid_cloid, hyperliquid_rules
from domain.market import Candle, parse_interval
from domain.vocabulary import ExchangeEnvironment


class HyperliquidReads:
    venue = VENUE

    def __init__(
        self,
        wallet_address: str,
        agent_private_key: str,
        environment: str = ExchangeEnvironment.TESTNET,
        base_url: str | None = None,
        timeout_s: float = 10,
        *,
        slippage: Decimal = Decimal("0.05"),
        action_ttl_s: float = 30.0,
    ) -> None:
        if environment not in tuple(ExchangeEnvironment):
            raise ValueError("environment must be 'testnet' or 'mainnet'")
        if not is_address(wallet_address):
            raise ValueError("wallet_address is not an address")
        try:
            agent = eth_account.Account.from_key(agent_private_key)
        except Exception:  # noqa: BLE001 - never echo the key back
            raise ValueError("agent_private_key is not a valid private key") from None
        self.environment = str(environment)  # plain text: the repr shows it
        self.base_url = (
            base_url
            or (MAINNET_API_URL if environment == ExchangeEnvironment.MAINNET else TESTNET_API_URL)
        ).rstrip("/")
        self.timeout_s = float(timeout_s)
        self.slippage = slippage
        self.wallet_address = wallet_address
        self.agent_address: str = agent.address
        self._transport = HyperliquidTransport(
            agent, wallet_address, self.base_url, self.timeout_s, int(action_ttl_s * 1000)
        )
        self._rules: dict[str, InstrumentRules] = {}

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(wallet_address={self.wallet_address!r}, "
            f"agent_address={self.agent_address!r}, environment={self.environment!r}, "
            f"base_url={self.base_url!r})"
        )

    def venue_client_id(self, client_order_id: str) -> str:
        return hyperliquid_cloid(client_order_id)

    async def close(self) -> None:
        await self._transport.close()

    async def _info(self, model: type[M], payload: dict[str, Any]) -> M:
        what = str(payload["type"])
        raw = await self._transport.info(what, payload)
        return parse(model, raw, venue=VENUE, what=what)

    async def _info_list(self, model: type[M], payload: dict[str, Any]) -> list[M]:
        what = str(payload["type"])
        raw = await self._transport.info(what, payload)
        return parse_list(model, raw, venue=VENUE, what=what)

    # ------------------------------------------------------------ meta and rules

    async def _act(self, what: str, fn: Callable[[Exchange], Any]) -> hl.ActionReply:
        """One signed action; the perp meta is read first (the SDK signs by asset id)."""
        await self._load_meta()
        return await self._transport.action(what, fn)

    async def _ready(self) -> Exchange:
        """The signing SDK ``Exchange``, built once the perp meta is known."""
        await self._load_meta()
        assert self._transport.exchange is not None
        return self._transport.exchange

    async def _load_meta(self, force: bool = False) -> None:
        """Fetch perp meta once (no lock: a concurrent double fetch is harmless)."""
        if self._transport.exchange is not None and not force:
            return
        raw = await self._transport.meta()
        meta = parse(hl.Meta, raw, venue=VENUE, what="meta")
        self._rules = {
            asset.name: hyperliquid_rules(
                asset.name, asset.sz_decimals, max_leverage=asset.max_leverage, asset_index=index
            )
            for index, asset in enumerate(meta.universe)
            if not asset.is_delisted
        }
        self._transport.connect(raw)  # the SDK maps coin names to asset ids from this meta

    async def rules(self, symbol: str) -> InstrumentRules:
        await self._load_meta()
        if symbol not in self._rules:
            await self._load_meta(force=True)
        if symbol not in self._rules:
            raise ExchangeError(
                ErrorCode.SYMBOL_UNKNOWN, f"{symbol} is not listed", retryable=False, venue=VENUE
            )
        return self._rules[symbol]

    async def max_leverage(self, symbol: str) -> int | None:
        """The venue's highest leverage for `symbol` (the perp meta's ``maxLeverage``)."""
        return (await self.rules(symbol)).max_leverage

    # ------------------------------------------------------------ the agent's approval

    async def verify(self) -> VerifyResult:
        agent, wallet = self.agent_address.lower(), self.wallet_address.lower()
        details = {"wallet_address": self.wallet_address, "agent_address": self.agent_address}

        def refused(code: str, reason: str) -> VerifyResult:
            return VerifyResult(ok=False, venue=VENUE, code=code, reason=reason, details=details)

        if agent == wallet:
            return refused(
                "AGENT_IS_WALLET",
                "the key is the account's own key; register an API (agent) wallet",
            )
        role: hl.UserRole | None = None
        try:
            role = await self._info(hl.UserRole, {"type": "userRole", "user": self.agent_address})
        except ExchangeError as err:
            if err.retryable:
                raise
        if role is not None and role.role == "agent":
            if role.data is None or role.data.user.lower() != wallet:
                return refused(
                    "AGENT_OF_OTHER_ACCOUNT", "the key is an agent of a different account"
                )
            await self.account()  # the account itself must be readable
            return VerifyResult(ok=True, venue=VENUE, reason="approved agent", details=details)
        agents = await self._info_list(
            hl.ExtraAgent, {"type": "extraAgents", "user": self.wallet_address}
        )
        for entry in agents:
            if entry.address.lower() != agent:
                continue
            if entry.valid_until and entry.valid_until <= now_ms():
                return refused("AGENT_EXPIRED", "the agent's approval has expired")
            await self.account()
            return VerifyResult(ok=True, venue=VENUE, reason="approved agent", details=details)
        return refused("UNKNOWN_AGENT", "the key is not an approved agent of this wallet")

    # ------------------------------------------------------------ account

    async def _clearinghouse(self) -> hl.ClearinghouseState:
        payload = {"type": "clearinghouseState", "user": self.wallet_address, "dex": ""}
        return await self._info(hl.ClearinghouseState, payload)

    async def account(self) -> AccountView:
        return (await self._clearinghouse()).view()

    async def _frontend_open_orders(self) -> list[hl.FrontendOrder]:
        payload = {"type": "frontendOpenOrders", "user": self.wallet_address, "dex": ""}
        return await self._info_list(hl.FrontendOrder, payload)

    async def open_orders(self) -> list[dict[str, Any]]:
        return [o.open_order().model_dump() for o in await self._frontend_open_orders()]

    async def fills(self, since_ms: int) -> list[Fill]:
        payload = {
            "type": "userFillsByTime",
            "user": self.wallet_address,
            "startTime": int(since_ms),
            "aggregateByTime": False,
        }
        return dedupe_fills(f.fill() for f in await self._info_list(hl.HlFill, payload))

    async def funding_payments(self, since_ms: int) -> list[FundingPayment]:
        payload = {"type": "userFunding", "user": self.wallet_address, "startTime": int(since_ms)}
        rows = await self._info_list(hl.HlFunding, payload)
        return [p for p in (r.payment() for r in rows) if p is not None]

    async def liquidated_order_ids(self, since_ms: int) -> set[str]:
        """Hyperliquid marks a liquidation's fills themselves (`Fill.liquidation`)."""
        return {f.exchange_order_id for f in await self.fills(since_ms) if f.liquidation}

    async def _order_fills(self, exchange_order_id: str, since_ms: int | None) -> list[Fill]:
        start = max(0, (since_ms or 0) - 60_000)
        return [f for f in await self.fills(start) if f.exchange_order_id == exchange_order_id]

    # ------------------------------------------------------------ market data

    async def mids(self) -> dict[str, Decimal]:
        mids = await self._info(hl.Mids, {"type": "allMids", "dex": ""})
        # "@107" and "PURR/USDC" are spot pairs
        return {
            coin: px
            for coin, px in mids.root.items()
            if not coin.startswith("@") and "/" not in coin
        }

    async def candles(self, symbol: str, interval: str, limit: int, end_ms: int) -> list[Candle]:
        iv = parse_interval(interval)
        req = {
            "coin": symbol,
            "interval": iv.value,
            "startTime": int(end_ms) - (int(limit) + 1) * iv.ms,
            "endTime": int(end_ms),
        }
        rows = await self._info_list(hl.HlCandle, {"type": "candleSnapshot", "req": req})
        # a candle still open at end_ms is not one yet
        by_open = {c.t: c.candle() for c in rows if c.t + iv.ms <= end_ms}
        return [by_open[t] for t in sorted(by_open)][-int(limit) :] if limit > 0 else []

    async def _asset_context(self, symbol: str) -> hl.AssetContext | None:
        ctxs = await self._info(hl.MetaAndContexts, {"type": "metaAndAssetCtxs"})
        return ctxs.context(symbol)

    async def funding(self, symbol: str) -> Decimal | None:
        ctx = await self._asset_context(symbol)
        return ctx.funding if ctx else None

    async def open_interest(self, symbol: str) -> Decimal | None:
        ctx = await self._asset_context(symbol)
        return ctx.open_interest if ctx else None
