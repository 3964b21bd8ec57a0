"""Binance's failures, classified: its error codes and HTTP statuses in the platform's terms."""

from __future__ import annotations

from binance.exceptions import BinanceAPIException, BinanceRequestException

from adapters.exchanges.client import ErrorCode, ExchangeError, OutcomeUnknown
from adapters.exchanges.transport import retry_after_seconds, unexpected
from adapters.exchanges.wire import safe_text
from domain.vocabulary import Exchange

VENUE = Exchange.BINANCE.value  # plain text: it goes into messages and reprs

_SERVER_CODES = {-1000, -1001, -1006, -1007}
_RATE_CODES = {-1003, -1015}
_AUTH_CODES = {-1002, -1022, -2014, -2015}
_NOT_FOUND_CODES = {-2011, -2013}
_INVALID_ORDER_CODES = {
    -1013, -1100, -1102, -1111, -1115, -1116, -1117, -1121, -2021, -2022,
    -4003, -4004, -4005, -4013, -4014, -4016, -4023, -4024, -4131, -4164,
}  # fmt: skip
_POST_ONLY_CODE = -5022  # a GTX (post-only) order that would have filled at once
_DUPLICATE_CODES = {-4015, -4116, -2010}


def _api_code(status: int, code: int, msg: str) -> tuple[ErrorCode, bool]:
    """(our code, retryable) for an error answer the venue sent."""
    if status >= 500 or code in _SERVER_CODES:
        return ErrorCode.SERVER_ERROR, True
    if status in (418, 429) or code in _RATE_CODES:
        return ErrorCode.RATE_LIMITED, True
    if code == -1021:
        return ErrorCode.CLOCK_SKEW, True
    if code in _AUTH_CODES or status in (401, 403):
        return ErrorCode.AUTH, False
    # the rest are refusals: the request was read and not acted on
    if code == -2019:
        return ErrorCode.INSUFFICIENT_MARGIN, False
    if code == _POST_ONLY_CODE:
        return ErrorCode.POST_ONLY_WOULD_CROSS, False
    if code in _NOT_FOUND_CODES:
        return ErrorCode.NOT_FOUND, False
    if code in _DUPLICATE_CODES or "duplicate" in msg.lower():
        return ErrorCode.DUPLICATE, False
    if code in _INVALID_ORDER_CODES:
        return ErrorCode.INVALID_ORDER, False
    return ErrorCode.VENUE_ERROR, False


def classify(err: BaseException, what: str, mutating: bool) -> ExchangeError:
    """An SDK exception (after transport failures were ruled out)."""
    if isinstance(err, BinanceAPIException):
        status, code = int(err.status_code), int(err.code or 0)
        msg = f"{what}: HTTP {status} code {code}: {safe_text(err.message)}"
        error_code, retryable = _api_code(status, code, msg)
        if error_code == ErrorCode.SERVER_ERROR and mutating:
            return OutcomeUnknown(msg, venue=VENUE, status=status)
        headers = getattr(err.response, "headers", None)
        return ExchangeError(
            error_code,
            msg,
            retryable=retryable,
            venue=VENUE,
            status=status,
            venue_code=str(code),
            retry_after_s=retry_after_seconds(headers)
            if error_code == ErrorCode.RATE_LIMITED
            else None,
        )
    if isinstance(err, BinanceRequestException):  # the answer was not JSON
        if mutating:
            return OutcomeUnknown(f"{what}: unparseable answer", venue=VENUE)
        return ExchangeError(
            ErrorCode.BAD_RESPONSE, f"{what}: unparseable answer", retryable=True, venue=VENUE
        )
    return unexpected(err, venue=VENUE, what=what, mutating=mutating)
