"""Hyperliquid's SDK (``Info`` reads, ``Exchange`` signed actions), each call in a thread under
our timeout, failures classified.

* Construction does no I/O: ``Info`` gets ``meta=``/``spot_meta=`` and ``skip_ws=True``; the
  ``Exchange`` is built from the real perp meta once the adapter has read it (``connect``).
* The SDK signs as mainnet only when ``base_url`` is exactly the mainnet URL; any other URL
  (testnet, a local emulator, a proxy) signs with the testnet phantom-agent source.
* Signed actions carry ``expiresAfter`` (now + the action TTL) so an action lost in flight cannot
  land after that deadline, and run one at a time so nonces (the ms clock) stay strictly
  increasing per client.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from eth_account.signers.local import LocalAccount
from hyperliquid.exchange import Exchange
from hyperliquid.info import Info

from adapters.exchanges.client import ErrorCode, ExchangeError
from adapters.exchanges.hyperliquid.errors import VENUE, action_refusal, classify
from adapters.exchanges.hyperliquid.schemas import ActionReply
from adapters.exchanges.transport import run_blocking
from adapters.exchanges.wire import parse, safe_text

T = TypeVar("T")

EMPTY_META: dict[str, Any] = {"universe": []}
_EMPTY_SPOT_META: dict[str, Any] = {"universe": [], "tokens": []}


def now_ms() -> int:
    return int(time.time() * 1000)


class HyperliquidTransport:
    def __init__(
        self,
        agent: LocalAccount,
        wallet_address: str,
        base_url: str,
        timeout_s: float,
        action_ttl_ms: int,
    ) -> None:
        self.__agent = agent  # signs actions; never printed (this class has no custom repr)
        self.wallet_address = wallet_address
        self.base_url = base_url
        self.timeout_s = timeout_s
        self.action_ttl_ms = action_ttl_ms
        # meta/spot_meta given and skip_ws: no network at construction
        self._info = Info(
            base_url, skip_ws=True, meta=EMPTY_META, spot_meta=_EMPTY_SPOT_META, timeout=timeout_s
        )
        self.exchange: Exchange | None = None
        self._action_lock = threading.Lock()
        self._last_nonce_ms = 0

    async def close(self) -> None:
        self._info.session.close()
        if self.exchange is not None:
            self.exchange.session.close()
            self.exchange.info.session.close()

    def connect(self, meta: dict[str, Any]) -> Exchange:
        """The signing ``Exchange`` for ``meta`` (given meta and spot_meta, it does no I/O)."""
        self.exchange = Exchange(
            self.__agent,
            self.base_url,
            meta=meta,
            spot_meta=_EMPTY_SPOT_META,
            account_address=self.wallet_address,
            timeout=self.timeout_s,
        )
        return self.exchange

    async def _run(self, what: str, fn: Callable[[], T], *, mutating: bool) -> T:
        return await run_blocking(
            fn,
            timeout_s=self.timeout_s + 1,
            venue=VENUE,
            what=what,
            mutating=mutating,
            classify=classify,
        )

    async def meta(self) -> Any:
        return await self._run("meta", lambda: self._info.meta(), mutating=False)

    async def info(self, what: str, payload: dict[str, Any]) -> Any:
        """One ``/info`` request; the raw JSON answer for a ``schemas`` model to parse."""
        result = await self._run(what, lambda: self._info.post("/info", payload), mutating=False)
        if isinstance(result, dict) and set(result) == {"error"}:
            raise ExchangeError(
                ErrorCode.BAD_RESPONSE, f"{what}: unparseable answer", retryable=True, venue=VENUE
            )
        return result

    async def action(self, what: str, fn: Callable[[Exchange], Any]) -> ActionReply:
        """Run one signed action. Raises ``OutcomeUnknown`` if the answer was lost or cannot be
        read, a classified ``ExchangeError`` if the action itself was refused (signer, nonce,
        rate); other ``err`` answers are returned to the caller."""
        exchange = self.exchange
        if exchange is None:
            raise RuntimeError("connect() first: the SDK signs by asset id, from the perp meta")

        def call() -> Any:
            with self._action_lock:
                while now_ms() <= self._last_nonce_ms:  # SDK nonce = ms clock: keep it unique
                    time.sleep(0.001)
                exchange.set_expires_after(now_ms() + self.action_ttl_ms)
                try:
                    return fn(exchange)
                finally:
                    self._last_nonce_ms = now_ms()

        raw = await self._run(what, call, mutating=True)
        reply = parse(ActionReply, raw, venue=VENUE, what=what, mutating=True)
        if reply.status == "err":
            refused = action_refusal(what, safe_text(reply.response))
            if refused is not None:
                raise refused
        return reply
