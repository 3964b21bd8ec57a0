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

from decimal import Decimal
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, Field

from adapters.exchanges.base import AccountView
from domain.exchange_rules import InstrumentRules
from domain.market import Candle
from domain.orders import OrderIntent, OrderOutcome
from domain.risk import PositionView
from domain.vocabulary import Side

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
    # a post-only (maker-only) limit order that would have filled at once: refused, not sent
    POST_ONLY_WOULD_CROSS = "POST_ONLY_WOULD_CROSS"
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
    side: Side
    size: Decimal
    price: Decimal
    fee: Decimal
    fee_asset: str = ""
    realized_pnl: Decimal = Decimal(0)
    time_ms: int
    liquidation: bool = False  # the venue closed the position by liquidating it


class FundingPayment(BaseModel):
    """One funding settlement of a position, as the venue reports it."""

    payment_id: str  # unique per trader at the venue: dedupe on it
    symbol: str
    amount: Decimal  # as the venue books it: negative when the trader paid, positive received
    rate: Decimal | None = None
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
    side: Side
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

    async def max_leverage(self, symbol: str) -> int | None:
        """The venue's highest leverage for the symbol (None: the venue sets none)."""
        ...

    async def account(self) -> AccountView: ...

    async def open_orders(self) -> list[dict[str, Any]]: ...

    async def fills(self, since_ms: int) -> list[Fill]: ...

    async def funding_payments(self, since_ms: int) -> list[FundingPayment]: ...

    async def liquidated_order_ids(self, since_ms: int) -> set[str]:
        """The venue's ids of the orders that liquidated this account since ``since_ms``."""
        ...

    async def lookup(self, client_order_id: str, symbol: str | None = None) -> OrderOutcome | None:
        """The order by our client order id; None only when the venue proves it is absent."""
        ...

    async def place(
        self, intent: OrderIntent, mark: Decimal, known: OrderOutcome | None = None
    ) -> OrderOutcome:
        """Idempotent: looks the id up first and submits only when the venue lacks it (the
        algorithm, the same for every venue: ``adapters/exchanges/placement.py``).

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
