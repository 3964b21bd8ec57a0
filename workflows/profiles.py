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
- CONTEXT: market data and account state for one decision. A few quick attempts; if data stays
  unavailable the decision fails closed (no order) rather than trading on stale data.
- PROGRAM: the sandboxed program run. User-code failures come back as results, not errors, so
  a retry only covers platform faults (fork failure, worker crash). A worker runs at most one
  sandbox per core at a time, so during a large fan-out a run may queue: the start-to-close
  (5 min) covers the queue plus the sandbox wall clock. As a local activity it runs on the
  trader's worker; if that worker dies, the workflow task times out (10 s) and the run is
  repeated where the trader resumes (a program run is pure: repeating it is harmless). Histories
  from before local steps ran it as a normal activity heartbeating every second (timeout 10 s).
- LLM: one chat completion. The SDK's own retries are off, so each attempt is a Temporal retry
  visible in history; 429/5xx/timeouts back off exponentially, a provider's 4xx rejection is not
  retried. The start-to-close exceeds the HTTP timeout (HYPERORU_LLM_TIMEOUT_SECONDS, 60 s) so the
  call's own timeout fires first with a clear reason; the answer, once recorded, is never asked
  for again on replay or worker restart.
- RISK: a local activity: pure and fast, retried a few times, and a failure denies (fails closed).
- ORDER: placing an order. Idempotent by client order id (the exchange is asked first), so it
  retries; bounded so a dead exchange surfaces as a failed decision the operator can see.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from temporalio.common import RetryPolicy


@dataclass(frozen=True)
class ActivityProfile:
    start_to_close: timedelta
    retry: RetryPolicy
    # Long activities heartbeat so a dead worker is noticed in seconds, not at start-to-close.
    heartbeat: timedelta | None = None
    local: bool = False


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
PROGRAM = ActivityProfile(
    timedelta(minutes=5),
    RetryPolicy(initial_interval=timedelta(seconds=1), maximum_attempts=3),
    heartbeat=timedelta(seconds=10),
    local=True,
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
)
