"""Asking again until there is an answer: the one retry helper of the exchange adapters.

An attempt returns its answer, or None for "not yet" (it catches and notes its own errors: only
the caller knows which errors mean "ask again"). Built on tenacity, so the waiting rules are the
library's, not a hand-written loop.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from tenacity import (
    AsyncRetrying,
    retry_if_result,
    stop_after_attempt,
    stop_before_delay,
    wait_exponential,
    wait_fixed,
)
from tenacity.stop import stop_base
from tenacity.wait import wait_base

from domain import profiles

T = TypeVar("T")

Attempt = Callable[[], Awaitable[T | None]]
Sleep = Callable[[float], Awaitable[None]]


async def _first_answer(
    attempt: Attempt[T], wait: wait_base, stop: stop_base, sleep: Sleep
) -> T | None:
    async def call() -> T | None:
        # tenacity awaits only coroutine functions; ``attempt`` may be any callable returning
        # an awaitable (a lambda around a lookup), whose coroutine would be taken for an answer
        return await attempt()

    retrying = AsyncRetrying(
        retry=retry_if_result(lambda answer: answer is None),
        wait=wait,
        stop=stop,
        sleep=sleep,
        retry_error_callback=lambda _state: None,  # out of attempts: "no answer", not an error
    )
    return await retrying(call)


async def with_backoff(
    attempt: Attempt[T],
    deadline: float,
    *,
    initial_s: float = profiles.RESOLVE_BACKOFF_INITIAL_S,
    max_s: float = profiles.RESOLVE_BACKOFF_MAX_S,
    sleep: Sleep = asyncio.sleep,
) -> T | None:
    """Call ``attempt`` until it answers, waiting ``initial_s``, twice that, ... (at most
    ``max_s``) in between; None once the next wait would end past ``deadline`` (epoch seconds).
    The first attempt is always made."""
    wait = wait_exponential(multiplier=initial_s, exp_base=2, max=max_s)
    return await _first_answer(attempt, wait, stop_before_delay(deadline - time.time()), sleep)


async def spaced(
    attempt: Attempt[T], times: int, spacing_s: float, *, sleep: Sleep = asyncio.sleep
) -> T | None:
    """Call ``attempt`` up to ``times`` times, ``spacing_s`` apart, until it answers."""
    return await _first_answer(attempt, wait_fixed(spacing_s), stop_after_attempt(times), sleep)
