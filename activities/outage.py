"""Attempt caps that a database outage does not count against.

A step like context gathering should give up after a few attempts when market data or the
exchange stays unavailable (the decision then fails closed), but a database outage is different:
the decision cannot even be recorded until the database is back, so giving up only turns a
delay into a failed decision. Such steps
run with an unlimited retry policy and cap their other faults here, by attempt number.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from temporalio import activity
from temporalio.exceptions import ApplicationError

from db.outage import is_database_outage


@contextmanager
def attempts_unless_database_outage(max_attempts: int | None) -> Iterator[None]:
    """Inside an activity: an error is retried while the database is unreachable; any other
    error is retried until attempt `max_attempts`, then raised as non-retryable."""
    try:
        yield
    except ApplicationError:
        raise  # the activity already decided whether it is retryable
    except Exception as err:
        if max_attempts is None or is_database_outage(err):
            raise
        if activity.info().attempt >= max_attempts:
            raise ApplicationError(
                str(err)[:1000] or type(err).__name__,
                type=type(err).__name__,
                non_retryable=True,
            ) from err
        raise
