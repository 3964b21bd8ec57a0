"""A scripted clock for the worker's housekeeping loops (runtime/gc_policy.Clock)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from runtime.gc_policy import Clock

# What the scripted wall clock's 0 is as a date (for loops that compare ages of records).
EPOCH = datetime(2026, 12, 7, tzinfo=UTC)


class ScriptEnded(Exception):
    """The loop under test asked for an interval past the end of its script."""


class ScriptedIntervals:
    """Each sleep of the loop is one interval, which used the next scripted CPU seconds; the
    loop ends (ScriptEnded) when the script does. `interval` numbers them from 1; wall time
    moves on by the interval asked for."""

    def __init__(self, cpu_per_interval: list[float], wall: float = 1000.0) -> None:
        self.script = list(cpu_per_interval)
        self.cpu = 0.0
        self.now = wall
        self.interval = 0

    async def _sleep(self, seconds: float) -> None:
        if not self.script:
            raise ScriptEnded
        self.interval += 1
        self.cpu += self.script.pop(0)
        self.now += seconds

    @property
    def clock(self) -> Clock:
        return Clock(
            cpu=lambda: self.cpu,
            wall=lambda: self.now,
            sleep=self._sleep,
            utc=lambda: EPOCH + timedelta(seconds=self.now),
        )
