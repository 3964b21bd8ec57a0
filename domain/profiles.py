"""Timeouts and retry policies for every activity kind, set on purpose in one place.

Local or normal (`local=True` runs the step as a local activity in decisions, see
workflows/steps.py): steps that are cheap or bounded by our own limits -- recording, context,
the sandboxed program, the risk check -- run locally on the worker that holds the trader, saving
a server round trip each (~30 ms of dispatch on the dev server). The LLM call and order
placement stay normal activities: long or external I/O, scheduled and timed by the server,
visible in flight, and an order's schedule is in history before it is sent.

- RECORD: database writes. Every write is idempotent (keyed by decision id / client order id),
  so retrying forever is safe, and a database outage must delay a record, never lose it.
- CONFIG: reading trader configuration; same reasoning as RECORD.
- CONTEXT: market data for signal pools. A few quick attempts; if data stays unavailable the
  caller fails closed.
- GATHER: the context of one decision. Like CONTEXT, a few quick attempts (`attempts`): if market
  data stays unavailable the decision fails closed (no order) rather than trading on stale data.
  But a database outage does not count against them (activities/outage.py): the retry policy
  itself is unlimited, since the decision cannot be recorded before the database is back anyway,
  and giving up would only turn a delayed decision into a failed one.
- PROGRAM: the sandboxed program run. User-code failures come back as results, not errors, so a
  retry only covers platform faults (fork failure, worker crash): `attempts` of them, while a
  database outage (reading the snapshot, recording the output) is waited out as in GATHER. A
  worker runs at most one sandbox per core at a time, so during a large fan-out a run may queue:
  the start-to-close (5 min) covers the queue plus the sandbox wall clock. As a local activity it
  runs on the trader's worker; if that worker dies, the workflow task times out (10 s) and the run
  is repeated where the trader resumes (its recorded output stands: see db/decisions.py).
- LLM: one chat completion. The SDK's own retries are off, so each attempt is a Temporal retry
  visible in history; 429/5xx/timeouts back off exponentially, a provider's 4xx rejection is not
  retried. The start-to-close exceeds the HTTP timeout (HYPERORU_LLM_TIMEOUT_SECONDS, 60 s) so the
  call's own timeout fires first with a clear reason; the answer, once recorded, is never asked
  for again on replay or worker restart.
- RISK: a local activity: pure and fast, retried a few times, and a failure denies (fails closed).
- ORDER: placing an order. Idempotent by client order id (the exchange is asked first, and on
  any retry asked CONFIRM_ABSENT_LOOKUPS times, CONFIRM_ABSENT_SPACING_S apart, before a send),
  so it retries; bounded so a dead exchange surfaces quickly. It heartbeats (timeout 5 s): a
  worker killed while the order is in flight is noticed in seconds and the retry looks the order
  up. An answer lost after sending is not retried here: the activity returns `unknown`.
- RESOLVE: an `unknown` order is settled by lookups only, never by resending. The activity looks
  the order up with backoff (RESOLVE_BACKOFF_*), for at most ORDER_RESOLVE_SECONDS from its first
  schedule (HYPERORU_ORDER_RESOLVE_SECONDS on the worker; 3 min by default: long enough to ride
  out a venue blip or a restart, short enough that an operator hears about a truly lost answer
  while it still matters). Still unknown then: the decision fails with ORDER_UNKNOWN and the
  trader halts new entries until resumed. Heartbeats (10 s) move it to a live worker quickly;
  schedule-to-close (10 min) is the hard cap should the worker-side bound ever be misconfigured.
- FAN_OUT: one pool fire signalled to every bound trader. Its length grows with the fleet (1,000
  traders: ~1.3 s on the dev server), so it is not bounded like a record: it heartbeats the last
  trader it reached after each batch, and a retry (dead worker, timeout) resumes after that
  trader instead of starting over. Retried forever like a record: traders dedupe by fire id.
- EQUITY_SAMPLE: the periodic equity sample of every trader that needs one (normal activity: a
  pass asks live venues, each under its own timeout). One attempt: the schedule's next tick
  (60 s) is the retry, and a late point is worth less than the next one.
- EQUITY_THIN: thinning old equity points. Idempotent steps that record their progress, so it
  retries a few times; a run that still fails leaves the work to the next run.
- SYNC: reconciliation with the exchange (positions, open orders, fills, unsettled orders). A few
  attempts; if the venue stays unreachable the next interval tries again (nothing is lost: fills
  are listed by the venue and recorded by trade id whenever the sync succeeds).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from temporalio.common import RetryPolicy

# Settling an order whose answer was lost (used by the order activities, worker side).
ORDER_RESOLVE_SECONDS = 180.0
RESOLVE_BACKOFF_INITIAL_S = 0.5
RESOLVE_BACKOFF_MAX_S = 10.0
# "Not found" right after a lost answer may be the venue's lag: on a retry it must hold this many
# times, this far apart, before anything is sent again.
CONFIRM_ABSENT_LOOKUPS = 3
CONFIRM_ABSENT_SPACING_S = 1.0


@dataclass(frozen=True)
class ActivityProfile:
    start_to_close: timedelta
    retry: RetryPolicy
    # Long activities heartbeat so a dead worker is noticed in seconds, not at start-to-close.
    heartbeat: timedelta | None = None
    local: bool = False
    # With an unlimited retry policy: attempts for faults other than a database outage, counted
    # by the activity itself (activities/outage.py). None: the retry policy alone decides.
    attempts: int | None = None


RECORD = ActivityProfile(
    timedelta(seconds=15),
    RetryPolicy(
        initial_interval=timedelta(milliseconds=200), maximum_interval=timedelta(seconds=30)
    ),
    local=True,
)
CONFIG = RECORD
CONTEXT = ActivityProfile(
    timedelta(seconds=20),
    RetryPolicy(
        initial_interval=timedelta(milliseconds=500),
        maximum_interval=timedelta(seconds=5),
        maximum_attempts=4,
    ),
    local=True,
)
GATHER = ActivityProfile(
    timedelta(seconds=20),
    RetryPolicy(
        initial_interval=timedelta(milliseconds=500), maximum_interval=timedelta(seconds=5)
    ),
    local=True,
    attempts=4,
)
PROGRAM = ActivityProfile(
    timedelta(minutes=5),
    # Unlimited while the database is out (at most 10 s after it is back); 6 attempts otherwise.
    RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=10)),
    heartbeat=timedelta(seconds=10),
    local=True,
    attempts=6,
)
LLM = ActivityProfile(
    timedelta(seconds=90),
    RetryPolicy(
        initial_interval=timedelta(seconds=2),
        maximum_interval=timedelta(seconds=60),
        maximum_attempts=5,
    ),
    heartbeat=timedelta(seconds=15),
)
RISK = ActivityProfile(
    timedelta(seconds=5),
    RetryPolicy(initial_interval=timedelta(milliseconds=100), maximum_attempts=3),
)
ORDER = ActivityProfile(
    timedelta(seconds=20),
    RetryPolicy(
        initial_interval=timedelta(seconds=1),
        maximum_interval=timedelta(seconds=10),
        maximum_attempts=8,
        non_retryable_error_types=["OrderRejected"],
    ),
    heartbeat=timedelta(seconds=5),
)
# The same order on the paper exchange: one local database transaction, idempotent by client
# order id (a re-run after a crash finds the row and returns its outcome), so it runs locally.
PAPER_ORDER = ActivityProfile(
    ORDER.start_to_close, ORDER.retry, heartbeat=ORDER.heartbeat, local=True
)
RESOLVE = ActivityProfile(
    timedelta(minutes=10),
    RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=10)),
    heartbeat=timedelta(seconds=10),
)
RESOLVE_SCHEDULE_TO_CLOSE = timedelta(minutes=10)
FAN_OUT = ActivityProfile(timedelta(minutes=10), RECORD.retry, heartbeat=timedelta(seconds=30))
SYNC = ActivityProfile(
    timedelta(seconds=60),
    RetryPolicy(
        initial_interval=timedelta(milliseconds=500),
        maximum_interval=timedelta(seconds=5),
        maximum_attempts=4,
    ),
    heartbeat=timedelta(seconds=10),
)

# The same for a paper trader: its account lives in the database, no venue I/O that could take
# long, so it runs as a local activity (no server round trip per start, resume or reconcile).
PAPER_SYNC = ActivityProfile(SYNC.start_to_close, SYNC.retry, local=True)
EQUITY_SAMPLE = ActivityProfile(
    timedelta(seconds=50),
    RetryPolicy(maximum_attempts=1),
    heartbeat=timedelta(seconds=10),
)
EQUITY_THIN = ActivityProfile(
    timedelta(minutes=10),
    RetryPolicy(
        initial_interval=timedelta(seconds=1),
        maximum_interval=timedelta(seconds=30),
        maximum_attempts=5,
    ),
    heartbeat=timedelta(seconds=30),
)
