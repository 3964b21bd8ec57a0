"""Hyperliquid's failures, classified: SDK exceptions, ``err`` answers to signed actions, the
texts of refused orders, and order statuses in the platform's terms."""

from __future__ import annotations

from decimal import Decimal

from hyperliquid.utils.error import ClientError, ServerError

from adapters.exchanges.client import ErrorCode, ExchangeError, OutcomeUnknown
from adapters.exchanges.transport import retry_after_seconds, unexpected
from adapters.exchanges.wire import safe_text
from domain.exchange_rules import SizeDeny
from domain.orders import OrderStatus
from domain.vocabulary import Exchange

VENUE = Exchange.HYPERLIQUID.value  # plain text: it goes into messages and reprs

_OPEN_STATUSES = {"open", "accepted", "triggered"}


def classify(err: BaseException, what: str, mutating: bool) -> ExchangeError:
    """An SDK exception (after transport failures were ruled out)."""
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
    return unexpected(err, venue=VENUE, what=what, mutating=mutating)


def action_refusal(what: str, text: str) -> ExchangeError | None:
    """An ``err`` answer that refuses the action itself (unknown signer, stale nonce, rate
    limit); None for one that is the venue's answer to the request (left to the caller)."""
    low = text.lower()
    if "does not exist" in low or "signature" in low or "not authorized" in low:
        return ExchangeError(ErrorCode.AUTH, f"{what}: {text}", retryable=False, venue=VENUE)
    if "nonce" in low:  # refused before acting: a fresh nonce will do
        return ExchangeError(ErrorCode.VENUE_ERROR, f"{what}: {text}", retryable=True, venue=VENUE)
    if "too many" in low or "rate limit" in low:
        return ExchangeError(ErrorCode.RATE_LIMITED, f"{what}: {text}", retryable=True, venue=VENUE)
    return None


def reject_code(message: str) -> str:
    """Our reason code for the text of a refused order."""
    m = message.lower()
    if "post only" in m:  # "Post only order would have immediately matched, bbo was ..."
        return ErrorCode.POST_ONLY_WOULD_CROSS.value
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


def map_status(status: str, filled: Decimal) -> OrderStatus:
    if status == "filled":
        return OrderStatus.FILLED
    if status in _OPEN_STATUSES:
        return OrderStatus.SUBMITTED
    if status.endswith("Rejected") or status == "rejected":
        return OrderStatus.FILLED if filled > 0 else OrderStatus.REJECTED
    if status.endswith("Canceled") or status in ("canceled", "scheduledCancel"):
        return OrderStatus.FILLED if filled > 0 else OrderStatus.CANCELLED
    return OrderStatus.SUBMITTED  # unknown status: never claim a failure we cannot prove
