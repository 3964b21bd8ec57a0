"""The contract every live exchange adapter implements, its value types and error types.

Error policy (reliability.md P3):

* ``ExchangeError`` with ``retryable=False``: the venue *proved* it did not act (bad
  credentials, insufficient margin, invalid size, unknown symbol). Retrying is pointless.
* ``ExchangeError`` with ``retryable=True``: nothing was done or nothing needed doing yet
  (timeouts on reads, 429, 5xx on reads, connection refused before sending).
* ``OutcomeUnknown``: a mutating request may have reached the venue but the answer was lost
  (read timeout after sending, 5xx after sending, connection dropped mid-response). It is
  never "failed": resolve it with ``lookup(client_order_id)``, never by blindly resending.

No message, repr or log line produced here ever contains an API secret or a private key.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, Protocol, TypeVar, runtime_checkable

from pydantic import BaseModel, Field

from adapters.exchanges.base import AccountView
from domain.exchange_rules import InstrumentRules
from domain.market import Candle
from domain.orders import OrderIntent, OrderOutcome
from domain.risk import PositionView

log = logging.getLogger(__name__)

T = TypeVar("T")

MAX_MESSAGE_CHARS = 300


class ErrorCode(StrEnum):
    TIMEOUT = "TIMEOUT"
    NETWORK = "NETWORK"
    SERVER_ERROR = "SERVER_ERROR"
    RATE_LIMITED = "RATE_LIMITED"
    CLOCK_SKEW = "CLOCK_SKEW"
    BAD_RESPONSE = "BAD_RESPONSE"
    AUTH = "AUTH"
    PERMISSION = "PERMISSION"
    INSUFFICIENT_MARGIN = "INSUFFICIENT_MARGIN"
    INVALID_ORDER = "INVALID_ORDER"
    NOT_FOUND = "NOT_FOUND"
    DUPLICATE = "DUPLICATE"
    SYMBOL_UNKNOWN = "SYMBOL_UNKNOWN"
    VENUE_ERROR = "VENUE_ERROR"
    OUTCOME_UNKNOWN = "OUTCOME_UNKNOWN"
    PROTECTIVE_ORDER_FAILED = "PROTECTIVE_ORDER_FAILED"


class ExchangeError(Exception):
    """A classified venue error. ``message`` is safe to log: it never carries secrets."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        retryable: bool,
        venue: str = "",
        status: int | None = None,
        venue_code: str | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        self.code = str(code)
        self.message = message[:MAX_MESSAGE_CHARS]
        self.retryable = retryable
        self.venue = venue
        self.status = status
        self.venue_code = venue_code
        self.retry_after_s = retry_after_s
        super().__init__(self.message)

    def __str__(self) -> str:
        where = f"{self.venue} " if self.venue else ""
        return f"{where}{self.code}: {self.message}"

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(code={self.code!r}, retryable={self.retryable}, "
            f"venue={self.venue!r}, status={self.status!r}, venue_code={self.venue_code!r}, "
            f"message={self.message!r})"
        )


class OutcomeUnknown(ExchangeError):
    """Sent, but the answer was lost. Resolve with ``lookup``; never record as failed."""

    def __init__(
        self,
        message: str,
        *,
        venue: str = "",
        status: int | None = None,
        client_order_id: str | None = None,
    ) -> None:
        super().__init__(
            ErrorCode.OUTCOME_UNKNOWN, message, retryable=True, venue=venue, status=status
        )
        self.client_order_id = client_order_id


class ProtectiveOrderError(ExchangeError):
    """The entry is filled but a TP/SL leg could not be confirmed.

    ``place`` is idempotent, so calling it again with the same intent places only the
    missing legs. ``entry`` is the entry's outcome; ``leg_client_order_id`` our id of the leg.
    """

    def __init__(
        self,
        cause: ExchangeError,
        *,
        entry: OrderOutcome,
        leg_client_order_id: str,
    ) -> None:
        super().__init__(
            ErrorCode.PROTECTIVE_ORDER_FAILED,
            f"{leg_client_order_id}: {cause.code}: {cause.message}",
            retryable=cause.retryable,
            venue=cause.venue,
            status=cause.status,
            venue_code=cause.venue_code,
            retry_after_s=cause.retry_after_s,
        )
        self.cause_code = cause.code
        self.entry = entry
        self.leg_client_order_id = leg_client_order_id


class VerifyResult(BaseModel):
    ok: bool
    venue: str
    code: str | None = None  # machine-readable reason when not ok
    reason: str = ""
    details: dict[str, str] = Field(default_factory=dict)


class Fill(BaseModel):
    trade_id: str  # the venue's trade id: dedupe on it
    exchange_order_id: str
    venue_client_id: str | None = None  # cloid / clientOrderId as the venue knows it
    symbol: str
    side: str  # buy | sell
    size: Decimal
    price: Decimal
    fee: Decimal
    fee_asset: str = ""
    realized_pnl: Decimal = Decimal(0)
    time_ms: int


class LivePosition(PositionView):
    """A venue position: PositionView plus what only a live venue knows."""

    liquidation_price: Decimal | None = None
    margin_used: Decimal | None = None


class OpenOrder(BaseModel):
    """Normalised open order; ``open_orders`` returns these as dicts (``model_dump()``)."""

    venue_client_id: str | None
    exchange_order_id: str
    symbol: str
    side: str  # buy | sell
    type: str  # venue order type, e.g. "Limit", "Stop Market", "TAKE_PROFIT_MARKET"
    size: Decimal | None  # None for Binance closePosition orders
    price: Decimal | None
    trigger_price: Decimal | None
    reduce_only: bool
    is_trigger: bool


@runtime_checkable
class ExchangeClient(Protocol):
    """A live venue account. All money values are Decimal; every call is bounded in time."""

    venue: str

    async def verify(self) -> VerifyResult: ...

    async def rules(self, symbol: str) -> InstrumentRules: ...

    async def account(self) -> AccountView: ...

    async def open_orders(self) -> list[dict[str, Any]]: ...

    async def fills(self, since_ms: int) -> list[Fill]: ...

    async def lookup(self, client_order_id: str, symbol: str | None = None) -> OrderOutcome | None:
        """The order by our client order id; None only when the venue proves it is absent."""
        ...

    async def place(
        self, intent: OrderIntent, mark: Decimal, known: OrderOutcome | None = None
    ) -> OrderOutcome:
        """Idempotent: looks the id up first and submits only when the venue lacks it.

        ``known``: the order as a lookup just found it; then nothing is submitted except the
        missing TP/SL legs of a filled entry."""
        ...

    async def cancel(self, client_order_id: str, symbol: str | None = None) -> bool: ...

    async def mids(self) -> dict[str, Decimal]: ...

    async def candles(
        self, symbol: str, interval: str, limit: int, end_ms: int
    ) -> list[Candle]: ...

    async def funding(self, symbol: str) -> Decimal | None: ...

    async def open_interest(self, symbol: str) -> Decimal | None: ...

    def venue_client_id(self, client_order_id: str) -> str: ...

    async def close(self) -> None: ...


# ---------------------------------------------------------------- helpers for adapters


def dec(value: Any, default: Decimal | None = None) -> Decimal | None:
    """Venue string/number -> Decimal (via str, so floats keep their shortest repr)."""
    if value is None or value == "":
        return default
    try:
        d = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return default
    return d if d.is_finite() else default


def plain(d: Decimal) -> Decimal:
    """Drop exponent notation from computed values (6.5E+4 -> 65000) without losing digits."""
    n = d.normalize()
    return n.quantize(Decimal(1)) if n == n.to_integral_value() else n


def dec0(value: Any) -> Decimal:
    d = dec(value)
    return d if d is not None else Decimal(0)


def safe_text(value: Any, limit: int = 200) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text[:limit]


def dedupe_fills(fills: Iterable[Fill]) -> list[Fill]:
    """One fill per venue trade id (first seen wins), oldest first."""
    seen: dict[str, Fill] = {}
    for f in fills:
        seen.setdefault(f.trade_id, f)
    return sorted(seen.values(), key=lambda f: (f.time_ms, f.trade_id))


def retry_after_seconds(*header_sources: Any) -> float | None:
    for headers in header_sources:
        if isinstance(headers, Mapping) or hasattr(headers, "get"):
            try:
                raw = headers.get("Retry-After") or headers.get("retry-after")
            except Exception:  # noqa: BLE001 - header containers vary
                raw = None
            if raw is not None:
                try:
                    return float(raw)
                except (TypeError, ValueError):
                    return None
    return None


def _never_connected(err: BaseException) -> bool:
    """True when the request certainly did not leave this host (refused, DNS, connect timeout)."""
    import requests
    import urllib3.exceptions

    if isinstance(err, requests.exceptions.ConnectTimeout):
        return True
    reason: Any = err.args[0] if err.args else None
    reason = getattr(reason, "reason", reason)  # urllib3 MaxRetryError wraps the cause
    return isinstance(
        reason, urllib3.exceptions.NewConnectionError | urllib3.exceptions.ConnectTimeoutError
    )


def transport_error(
    err: BaseException, *, venue: str, what: str, mutating: bool
) -> ExchangeError | None:
    """Classify a requests/urllib3 transport failure; None if ``err`` is not one."""
    if "requests" not in sys.modules:
        return None  # no SDK call has run in this process: nothing to classify (and ~10 MB saved)
    import requests

    if isinstance(err, requests.exceptions.ConnectionError) and _never_connected(err):
        return ExchangeError(
            ErrorCode.NETWORK, f"{what}: could not connect", retryable=True, venue=venue
        )
    lost = isinstance(
        err,
        requests.exceptions.Timeout
        | requests.exceptions.ConnectionError
        | requests.exceptions.ChunkedEncodingError
        | requests.exceptions.ContentDecodingError,
    )
    if not lost:
        return None
    kind = "timed out" if isinstance(err, requests.exceptions.Timeout) else "connection lost"
    if mutating:
        return OutcomeUnknown(f"{what}: {kind} after sending", venue=venue)
    code = ErrorCode.TIMEOUT if isinstance(err, requests.exceptions.Timeout) else ErrorCode.NETWORK
    return ExchangeError(code, f"{what}: {kind}", retryable=True, venue=venue)


async def run_blocking(
    fn: Callable[[], T],
    *,
    timeout_s: float,
    venue: str,
    what: str,
    mutating: bool,
    classify: Callable[[BaseException, str, bool], ExchangeError],
) -> T:
    """Run a synchronous SDK call in a thread, bounded by ``timeout_s``; classify failures.

    The SDK's own socket timeout should fire first; this outer bound catches slow trickles.
    A timed-out thread cannot be killed, but its socket timeout ends it shortly after.
    """
    try:
        return await asyncio.wait_for(asyncio.to_thread(fn), timeout=timeout_s)
    except TimeoutError:
        if mutating:
            raise OutcomeUnknown(f"{what}: no answer within {timeout_s}s", venue=venue) from None
        raise ExchangeError(
            ErrorCode.TIMEOUT, f"{what}: no answer within {timeout_s}s", retryable=True, venue=venue
        ) from None
    except ExchangeError:
        raise
    except Exception as err:  # noqa: BLE001 - every SDK failure is classified below
        classified = transport_error(err, venue=venue, what=what, mutating=mutating)
        if classified is None:
            classified = classify(err, what, mutating)
        # `from None`: SDK exceptions can hold request objects with signed payloads/headers
        raise classified from None
