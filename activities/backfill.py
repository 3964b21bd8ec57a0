"""Backfill activities: fetch one page of history from a venue and store it (with the task's
progress, in one transaction), and record a task's final status. Run on the backfill queue."""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.heartbeat import with_heartbeats
from adapters.market.history import HistoryClient, RateLimited, VenueRefused
from db.market_history import (
    load_task,
    set_status,
    store_candle_page,
    store_funding_page,
)
from db.session import Sessions
from domain.backfill import (
    FETCH_PAGE,
    RECORD_STATUS,
    BackfillKind,
    BackfillStatus,
    PageInput,
    PageResult,
    RecordStatusInput,
    history_source,
)
from domain.market import parse_interval
from domain.vocabulary import Exchange


class BackfillActivities:
    def __init__(self, sessions: Sessions, venues: HistoryClient) -> None:
        self.sessions = sessions
        self.venues = venues

    @activity.defn(name=FETCH_PAGE)
    async def fetch_page(self, req: PageInput) -> PageResult:
        return await with_heartbeats(self._page(req))

    async def _page(self, req: PageInput) -> PageResult:
        stopped = PageResult(next_cursor_ms=req.cursor_ms, rows_written=0, done=True, stopped=True)
        task = await load_task(self.sessions, req.task_id)
        if task is None or BackfillStatus(task.status).final:
            return stopped
        exchange = Exchange(task.exchange)
        source = history_source(task.exchange, task.environment)
        try:
            if task.kind == BackfillKind.FUNDING:
                rates, next_cursor = await self.venues.funding(
                    exchange, task.environment, task.symbol, req.cursor_ms, req.end_ms
                )
                written = await store_funding_page(
                    self.sessions, req.task_id, source, rates, next_cursor
                )
            else:
                candles, next_cursor = await self.venues.candles(
                    exchange,
                    task.environment,
                    task.symbol,
                    parse_interval(task.interval or ""),
                    req.cursor_ms,
                    req.end_ms,
                )
                written = await store_candle_page(
                    self.sessions, req.task_id, source, candles, next_cursor
                )
        except RateLimited as err:
            # Why next_retry_delay: the venue said how long to wait; Temporal waits that long
            # (durably, on any worker) instead of its own backoff.
            raise ApplicationError(
                str(err),
                type="RATE_LIMITED",
                next_retry_delay=timedelta(seconds=err.retry_after_s),
            ) from err
        except VenueRefused as err:
            raise ApplicationError(str(err), type="VENUE_REFUSED", non_retryable=True) from err
        if written is None:
            return stopped
        return PageResult(
            next_cursor_ms=next_cursor, rows_written=written, done=next_cursor >= req.end_ms
        )

    @activity.defn(name=RECORD_STATUS)
    async def record_status(self, req: RecordStatusInput) -> None:
        await set_status(self.sessions, req.task_id, req.status, req.error)
