"""Backfills: a range of candles or funding rates fetched from a venue's public endpoints, page by
page, by BackfillWorkflow (`backfill-<task id>`) on its own task queue.

A page is one venue request over [cursor, next cursor); the activity that fetches it stores its
rows and moves the task's cursor and counters in one transaction, so a page run twice (a worker
killed after the commit, before Temporal heard of it) writes nothing the second time.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel

from domain.vocabulary import Exchange, ExchangeEnvironment

# The activities' names (activities/backfill.py registers them under these).
FETCH_PAGE = "backfill_fetch_page"
RECORD_STATUS = "backfill_record_status"


class BackfillKind(StrEnum):
    CANDLES = "candles"
    FUNDING = "funding"


class BackfillStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def final(self) -> bool:
        return self in (BackfillStatus.COMPLETED, BackfillStatus.FAILED, BackfillStatus.CANCELLED)


# Rows one request returns at most, per venue and kind (the venues' own limits).
PAGE_ROWS: dict[tuple[Exchange, BackfillKind], int] = {
    (Exchange.HYPERLIQUID, BackfillKind.CANDLES): 5000,
    (Exchange.BINANCE, BackfillKind.CANDLES): 1500,
    (Exchange.HYPERLIQUID, BackfillKind.FUNDING): 500,
    (Exchange.BINANCE, BackfillKind.FUNDING): 1000,
}


def history_source(exchange: str, environment: str) -> str:
    """The `source` backfilled rows are stored under: the venue's name for mainnet (the same
    series its live public feed stores), `<venue>-testnet` for testnet."""
    if environment == ExchangeEnvironment.MAINNET:
        return str(exchange)
    return f"{exchange}-{environment}"


class BackfillInput(BaseModel):
    task_id: int
    # Where the next page starts; a continued-as-new run carries it over.
    cursor_ms: int
    end_ms: int


class PageInput(BaseModel):
    task_id: int
    cursor_ms: int
    end_ms: int


class PageResult(BaseModel):
    next_cursor_ms: int
    rows_written: int  # new rows this page stored (0 when run again after a commit)
    done: bool
    # The task was cancelled or is gone: stop without another page.
    stopped: bool = False


class RecordStatusInput(BaseModel):
    task_id: int
    status: BackfillStatus
    error: str | None = None


def progress_pct(start_ms: int, end_ms: int, cursor_ms: int) -> float:
    if end_ms <= start_ms:
        return 100.0
    done = min(max(cursor_ms - start_ms, 0), end_ms - start_ms)
    return round(100.0 * done / (end_ms - start_ms), 2)


class FundingRate(BaseModel):
    """A settled funding rate: `rate` a fraction per funding period, at `time_ms`."""

    time_ms: int
    rate: str  # decimal text, exactly as the venue wrote it
    mark_price: str | None = None
