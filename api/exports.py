"""A trader's history as files (README "Exports"): decisions, orders, fills, round trips and
equity points, as CSV (one kind per file) or one JSON document, streamed.

Why pages by key: each page is one short query (`LIMIT` after the last row's sort key, on the
index of the trader and time where there is one) in a session of its own, turned into text and
handed to the response before the next is read. What is held at once is one page, however long
the history; no transaction stays open for the length of a download.

Each record is exactly what the API's own list answers for it (the same functions build both:
api/queries.py, api/equity.py), so an export equals the API's records. Nothing else of the
trader is read: its stored keys, hints and connection never enter an export.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.equity import PointOut
from api.errors import ApiError
from api.money import fmt
from api.queries import decisions_out, order_dict, round_trip_dict, trade_dict
from api.schemas import as_utc
from db.models import (
    Account,
    DecisionRecord,
    EquitySnapshot,
    OrderRecord,
    RoundTripRecord,
    TradeRecord,
)
from db.session import Sessions
from domain.equity import utc

Rows = list[dict[str, Any]]


class ExportKind(StrEnum):
    DECISIONS = "decisions"
    ORDERS = "orders"
    FILLS = "fills"
    ROUND_TRIPS = "round-trips"
    EQUITY = "equity"

    @property
    def section(self) -> str:
        """Its key in the JSON document."""
        return self.value.replace("-", "_")


@dataclass(frozen=True)
class Span:
    """The time range asked for (both ends included); None: unbounded."""

    start: datetime | None
    end: datetime | None


def export_span(start: datetime | None, end: datetime | None) -> Span:
    """`start`/`end` as UTC (a time without a zone is UTC); start must be before end."""
    try:
        first = utc(start) if start is not None else None
        last = utc(end) if end is not None else None
    except OverflowError as err:  # e.g. 0001-01-01 with a zone east of UTC
        raise ApiError(422, "VALIDATION_ERROR", "start, end: out of range") from err
    if first is not None and last is not None and first >= last:
        raise ApiError(422, "VALIDATION_ERROR", "start: must be before end")
    return Span(first, last)


@dataclass(frozen=True)
class Source:
    """One kind of record: its table, the column a time range applies to, its sort key (the
    keyset: unique, oldest first), how many rows a page holds, and its rows as the API gives
    them (`as_dicts`, given the page's session and whether decisions carry their input)."""

    model: Any
    time: Any
    key: tuple[Any, ...]
    page: int
    as_dicts: Callable[[AsyncSession, list[Any], bool], Awaitable[Rows]]


async def _decisions(s: AsyncSession, rows: list[Any], with_input: bool) -> Rows:
    return [d.model_dump(mode="json") for d in await decisions_out(s, rows, with_input)]


def _plain(to_dict: Callable[[Any], dict[str, Any]]) -> Callable[..., Awaitable[Rows]]:
    async def convert(s: AsyncSession, rows: list[Any], with_input: bool) -> Rows:
        return [to_dict(r) for r in rows]

    return convert


async def _equity(s: AsyncSession, rows: list[Any], with_input: bool) -> Rows:
    return [PointOut.model_validate(r, from_attributes=True).model_dump(mode="json") for r in rows]


SOURCES: dict[ExportKind, Source] = {
    # Decisions carry prompts and raw answers (a rendered prompt may reach 200,000 characters,
    # an input snapshot ~70 KB): small pages keep one page's worst case to a few MB.
    ExportKind.DECISIONS: Source(
        DecisionRecord,
        DecisionRecord.created_at,
        (DecisionRecord.created_at, DecisionRecord.id),
        20,
        _decisions,
    ),
    ExportKind.ORDERS: Source(
        OrderRecord,
        OrderRecord.created_at,
        (OrderRecord.created_at, OrderRecord.client_order_id),
        500,
        _plain(order_dict),
    ),
    ExportKind.FILLS: Source(
        TradeRecord, TradeRecord.created_at, (TradeRecord.id,), 500, _plain(trade_dict)
    ),
    ExportKind.ROUND_TRIPS: Source(
        RoundTripRecord,
        RoundTripRecord.closed_at,
        (RoundTripRecord.closed_at, RoundTripRecord.id),
        500,
        _plain(round_trip_dict),
    ),
    ExportKind.EQUITY: Source(
        EquitySnapshot, EquitySnapshot.time, (EquitySnapshot.time, EquitySnapshot.id), 1000, _equity
    ),
}


def _after(key: tuple[Any, ...], last: tuple[Any, ...]) -> Any:
    """Rows whose sort key comes after `last`. Written as `a >= x AND (a > x OR b > y)` so the
    leading column bounds an index range on both databases."""
    if len(key) == 1:
        return key[0] > last[0]
    (a, b), (x, y) = key, last
    return and_(a >= x, or_(a > x, b > y))


async def pages(
    sessions: Sessions, kind: ExportKind, account_id: int, span: Span, with_input: bool = False
) -> AsyncIterator[Rows]:
    """The trader's records of `kind` in `span`, oldest first, one page at a time."""
    src = SOURCES[kind]
    last: tuple[Any, ...] | None = None
    while True:
        stmt = select(src.model).where(src.model.account_id == account_id)
        if span.start is not None:
            stmt = stmt.where(src.time >= span.start)
        if span.end is not None:
            stmt = stmt.where(src.time <= span.end)
        if last is not None:
            stmt = stmt.where(_after(src.key, last))
        stmt = stmt.order_by(*src.key).limit(src.page)
        async with sessions() as s:
            rows = list(await s.scalars(stmt))
            if not rows:
                return
            out = await src.as_dicts(s, rows, with_input)
            last = tuple(getattr(rows[-1], col.key) for col in src.key)
        yield out
        if len(rows) < src.page:
            return


def trader_header(acct: Account) -> dict[str, Any]:
    """Who the export is of: public facts only (no keys, key hints or wallet)."""
    return {
        "account_id": acct.id,
        "name": acct.name,
        "account_type": acct.account_type,
        "exchange": acct.exchange,
        "exchange_environment": acct.exchange_environment,
        "initial_capital": fmt(acct.initial_capital),
        "symbols": list(acct.symbols),
        "created_at": as_utc(acct.created_at).isoformat(),
        "is_deleted": acct.is_deleted,
    }


# Columns of a CSV with no rows (with rows, the first row's own keys: a field the API adds
# later is exported too).
EMPTY_COLUMNS: dict[ExportKind, tuple[str, ...]] = {
    ExportKind.DECISIONS: ("id", "account_id", "seq", "status", "created_at"),
    ExportKind.ORDERS: ("client_order_id", "decision_id", "symbol", "side", "status"),
    ExportKind.FILLS: ("trade_id", "client_order_id", "symbol", "side", "size", "price"),
    ExportKind.ROUND_TRIPS: ("id", "symbol", "side", "opened_at", "closed_at", "net_pnl"),
    ExportKind.EQUITY: tuple(PointOut.model_fields),
}


# A spreadsheet runs a cell that starts with one of these as a formula (OWASP "CSV injection").
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _is_number(text: str) -> bool:
    try:
        return Decimal(text).is_finite()
    except ArithmeticError:
        return False


def csv_cell(value: Any) -> Any:
    """A value as a CSV cell: null is empty, true/false as in JSON, an object or a list its
    JSON text; money (decimal strings) as it is. Text a spreadsheet would run as a formula (a
    model's reasoning "=HYPERLINK(...)", a symbol "@X") gets a leading apostrophe, so it opens
    as the text it is; a negative number ("-12.5") stays a number."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        value = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    if isinstance(value, str) and value.startswith(_FORMULA_START) and not _is_number(value):
        return "'" + value
    return value


async def csv_stream(kind: ExportKind, rows: AsyncIterator[Rows]) -> AsyncIterator[bytes]:
    """One CSV file (RFC 4180, UTF-8, a header row), a chunk per page."""
    columns: list[str] | None = None
    async for page in rows:
        buf = io.StringIO()
        out = csv.writer(buf, lineterminator="\r\n")
        if columns is None:
            columns = list(page[0])
            out.writerow(columns)
        out.writerows([csv_cell(r.get(c)) for c in columns] for r in page)
        yield buf.getvalue().encode()
    if columns is None:
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\r\n").writerow(EMPTY_COLUMNS[kind])
        yield buf.getvalue().encode()


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


async def json_stream(
    head: dict[str, Any], sections: Sequence[tuple[str, Callable[[], AsyncIterator[Rows]]]]
) -> AsyncIterator[bytes]:
    """One JSON object: `head`'s fields, then each section's records as an array (each
    section's pages are read only when it is reached). Cut short (the database failing
    mid-way), it ends without its closing brace: never a shorter, valid-looking document."""
    yield _json(head)[:-1].encode()
    for name, section in sections:
        yield f',"{name}":['.encode()
        first = True
        async for page in section():
            text = ",\n".join(_json(r) for r in page)
            yield (("\n" if first else ",\n") + text).encode()
            first = False
        yield b"]"
    yield b"}\n"
