"""SDK calls off the event loop, bounded in time, their failures classified (every venue).

Both venue SDKs are synchronous ``requests`` clients: each call runs in a thread under an outer
timeout, and a transport failure is classified by whether the request can have reached the venue
(``OutcomeUnknown`` for a mutating call that may have) before the venue's own ``classify`` sees
what is left.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from adapters.exchanges.client import ErrorCode, ExchangeError, OutcomeUnknown

T = TypeVar("T")

# A venue's classification of an SDK exception: (error, what was asked, was it mutating).
Classify = Callable[[BaseException, str, bool], ExchangeError]


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
    classify: Classify,
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


def unexpected(err: BaseException, *, venue: str, what: str, mutating: bool) -> ExchangeError:
    """An SDK failure no venue rule names: after sending, the outcome is unknown."""
    if mutating:
        return OutcomeUnknown(f"{what}: unexpected {type(err).__name__}", venue=venue)
    return ExchangeError(
        ErrorCode.BAD_RESPONSE,
        f"{what}: unexpected {type(err).__name__}",
        retryable=True,
        venue=venue,
    )
