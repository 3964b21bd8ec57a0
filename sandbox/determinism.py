"""Backtest mode: a run's randomness and clock come from the backtest, not from the machine.

A backtest must give the same result for the same inputs (docs: spec 8.10), even for a program
that calls `random.random()` or reads the wall clock. Given a `BacktestContext` (the run's seed,
the step, the simulated decision time), the child, just before user code runs:
- seeds `random` and `numpy.random` (and `numpy.random.default_rng()` without a seed) from
  sha256("<seed>:<step>") instead of fresh entropy;
- shims `datetime.datetime.now/utcnow/today`, `datetime.date.today`, `time.time` and
  `time.time_ns` to `now_ms`. `time.monotonic` and `time.perf_counter` stay real (they measure
  durations, not dates), and the sandbox's own code keeps the real clock: it bound its
  `datetime`/`time` names at import, and everything it times happens outside the child.
The worker runs backtest children with PYTHONHASHSEED=0 (sandbox/zygote_client.py), so that the
iteration order of a set of strings is the same in every process too.
Live runs never call this: fresh entropy and the real clock, as before.

Stdlib only at import: the parent imports `BacktestContext` too.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import time as _time
from dataclasses import asdict, dataclass
from datetime import date as _RealDate
from datetime import datetime as _RealDatetime
from typing import Any


@dataclass(frozen=True)
class BacktestContext:
    """Where a backtest run is: its `seed`, the 0-based `step`, the simulated time `now_ms`
    (epoch milliseconds, UTC; the bar close the decision is taken at)."""

    seed: int
    step: int
    now_ms: int

    def as_json(self) -> dict[str, int]:
        return asdict(self)

    @classmethod
    def from_json(cls, raw: Any) -> BacktestContext:
        if not isinstance(raw, dict):
            raise ValueError("backtest context must be an object")
        seed, step, now_ms = raw.get("seed"), raw.get("step"), raw.get("now_ms")
        if not (type(seed) is int and type(step) is int and type(now_ms) is int):
            raise ValueError("backtest context needs integer seed, step and now_ms")
        return cls(seed, step, now_ms)


def seed_digest(seed: int, step: int) -> bytes:
    """sha256 of "<seed>:<step>": every step of a run gets its own, reproducible stream."""
    return hashlib.sha256(f"{seed}:{step}".encode()).digest()


def apply(context: BacktestContext) -> None:
    """In the child, after the jail is in place and just before user code runs."""
    _seed(seed_digest(context.seed, context.step))
    _freeze_clock(context.now_ms)


def _seed(digest: bytes) -> None:
    import random

    import numpy

    random.seed(digest)
    numpy.random.seed(int.from_bytes(digest[:4], "little"))  # the legacy global generator
    real_default_rng = numpy.random.default_rng
    default_seed = int.from_bytes(digest, "big")

    def default_rng(seed: Any = None) -> Any:
        return real_default_rng(default_seed if seed is None else seed)

    numpy.random.default_rng = default_rng


class _RealInstances(type):
    """isinstance() answers for the real class, so `isinstance(x, datetime.datetime)` holds for
    every datetime a program meets (arithmetic and constructors return the real class)."""

    _real: type

    def __instancecheck__(cls, obj: object) -> bool:
        return isinstance(obj, cls._real)

    def __subclasscheck__(cls, sub: type) -> bool:
        return issubclass(sub, cls._real)


class _Clock:
    now_ms = 0  # set once per child, by _freeze_clock

    @classmethod
    def moment(cls, tz: _dt.tzinfo | None) -> _dt.datetime:
        # Exact to the millisecond (no float in between); naive = local time, UTC in the child.
        seconds, millis = divmod(cls.now_ms, 1000)
        return _RealDatetime.fromtimestamp(seconds, tz).replace(microsecond=millis * 1000)


class _SimulatedDatetime(_RealDatetime, metaclass=_RealInstances):
    _real = _RealDatetime

    @classmethod
    def now(cls, tz: _dt.tzinfo | None = None) -> _dt.datetime:  # type: ignore[override]
        return _Clock.moment(tz)

    @classmethod
    def utcnow(cls) -> _dt.datetime:  # type: ignore[override]
        return _Clock.moment(_dt.UTC).replace(tzinfo=None)

    @classmethod
    def today(cls) -> _dt.datetime:  # type: ignore[override]
        return _Clock.moment(None)


class _SimulatedDate(_RealDate, metaclass=_RealInstances):
    _real = _RealDate

    @classmethod
    def today(cls) -> _dt.date:  # type: ignore[override]
        return _Clock.moment(None).date()


_SimulatedDatetime.__name__ = _SimulatedDatetime.__qualname__ = "datetime"
_SimulatedDate.__name__ = _SimulatedDate.__qualname__ = "date"


def _freeze_clock(now_ms: int) -> None:
    _Clock.now_ms = now_ms
    _dt.datetime = _SimulatedDatetime  # type: ignore[misc]
    _dt.date = _SimulatedDate  # type: ignore[misc]
    _time.time = lambda: now_ms / 1000
    _time.time_ns = lambda: now_ms * 1_000_000
