"""The live stream's retention: the worker deletes events older than
`HYPERORU_EVENTS_RETENTION_HOURS` (24 by default), every few minutes.

Off the decision path: a task of its own in the worker process (runtime/worker.py), and each
round deletes in small transactions, since on SQLite a write transaction holds the database's
one write lock and a long delete would make every decision wait behind it. A client of `/ws`
whose last event id is older than the oldest kept event gets a fresh snapshot (the API's side).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from db import events
from db.session import Sessions
from db.transactions import write
from runtime.gc_policy import SYSTEM_CLOCK, Clock

log = logging.getLogger("hyperoru.events")

# How often (at most) the aged events are deleted: they are kept at least the retention.
TRIM_EVERY_S = 300.0
# Events deleted per transaction (a few ms of the write lock each).
TRIM_BATCH = 2000


def trim_interval(retention: timedelta) -> float:
    """Every five minutes, or more often for a retention that short (tests, demos)."""
    return max(0.5, min(TRIM_EVERY_S, retention.total_seconds() / 4))


async def trim_aged(sessions: Sessions, retention: timedelta, clock: Clock = SYSTEM_CLOCK) -> int:
    """Delete every event older than `retention`, a batch per transaction; how many went."""
    cutoff = clock.utc() - retention
    gone = 0
    while True:
        n = await write(sessions, lambda s: events.trim(s, cutoff, TRIM_BATCH))
        gone += n
        if n < TRIM_BATCH:
            return gone


async def trim_events(
    sessions: Sessions, retention: timedelta, clock: Clock = SYSTEM_CLOCK
) -> None:
    """The worker's loop: a round every `trim_interval`; a database that fails a round is
    retried at the next one."""
    every_s = trim_interval(retention)
    while True:
        await clock.sleep(every_s)
        try:
            gone = await trim_aged(sessions, retention, clock)
        except Exception as err:  # noqa: BLE001 - housekeeping must outlive a bad round
            # (the database away, SQLite's write queue timing out: the next round retries)
            log.warning(
                "could not trim the live stream's events: %s: %s",
                type(err).__name__,
                str(err)[:200],
            )
            continue
        if gone:
            log.info("trimmed %d live stream events older than %s", gone, retention)
