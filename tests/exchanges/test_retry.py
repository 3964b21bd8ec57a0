"""The exchange adapters' one retry helper (adapters/exchanges/retry.py): ask again until there
is an answer, with the waits resolve_order promises (domain/profiles.py, RESOLVE_BACKOFF_*)."""

from __future__ import annotations

import asyncio
import time

import pytest

from adapters.exchanges import retry


class Recorder:
    """An attempt that answers on call ``answer_on`` (never when 0); the waits in between."""

    def __init__(self, answer_on: int = 0) -> None:
        self.answer_on, self.calls, self.waits = answer_on, 0, list[float]()

    async def attempt(self) -> str | None:
        self.calls += 1
        return "found" if self.calls == self.answer_on else None

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        await asyncio.sleep(seconds)


async def test_backoff_doubles_up_to_its_cap_and_answers() -> None:
    r = Recorder(answer_on=5)
    answer = await retry.with_backoff(
        r.attempt, time.time() + 60, initial_s=0.01, max_s=0.04, sleep=r.sleep
    )
    assert answer == "found" and r.calls == 5
    assert r.waits == [0.01, 0.02, 0.04, 0.04]


async def test_backoff_never_waits_past_the_deadline() -> None:
    """No answer: None (the caller records `unknown`), and the last wait ends before the
    deadline, so an activity never outlives the bound it was given."""
    r = Recorder()
    started = time.monotonic()
    answer = await retry.with_backoff(
        r.attempt, time.time() + 0.3, initial_s=0.02, max_s=0.08, sleep=r.sleep
    )
    assert answer is None and r.calls == len(r.waits) + 1 >= 4
    assert time.monotonic() - started < 0.3


async def test_backoff_asks_once_when_the_deadline_has_passed() -> None:
    r = Recorder()
    assert await retry.with_backoff(r.attempt, time.time() - 1, sleep=r.sleep) is None
    assert (r.calls, r.waits) == (1, [])


async def test_spaced_asks_so_many_times_that_far_apart() -> None:
    """CONFIRM_ABSENT_*: absence must hold for every one of the lookups."""
    r = Recorder()
    assert await retry.spaced(r.attempt, 3, 0.01, sleep=r.sleep) is None
    assert (r.calls, r.waits) == (3, [0.01, 0.01])
    found = Recorder(answer_on=2)
    assert await retry.spaced(found.attempt, 3, 0.01, sleep=found.sleep) == "found"
    assert found.calls == 2


async def test_an_attempt_may_be_any_callable_returning_an_awaitable() -> None:
    """A lambda around a lookup returns a coroutine: it is awaited, not taken for the answer."""
    r = Recorder(answer_on=2)
    assert await retry.spaced(lambda: r.attempt(), 3, 0.01) == "found"
    r = Recorder(answer_on=2)
    assert (
        await retry.with_backoff(lambda: r.attempt(), time.time() + 60, initial_s=0.01) == "found"
    )


async def test_an_error_the_attempt_does_not_catch_is_raised_at_once() -> None:
    """Only the caller knows which errors mean "ask again": anything else is not retried."""
    calls = 0

    async def broken() -> None:
        nonlocal calls
        calls += 1
        raise KeyError("bug")

    with pytest.raises(KeyError):
        await retry.with_backoff(broken, time.time() + 60, initial_s=0.01)
    assert calls == 1
