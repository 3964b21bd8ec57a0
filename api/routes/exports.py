"""GET /api/account/{id}/export/{kind}.csv and /api/account/{id}/export.json: a trader's
history as files, streamed (api/exports.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from api.auth import CurrentUser
from api.deps import SessionDep
from api.exact_json import ExactNumbersRoute
from api.exports import (
    ExportKind,
    Span,
    csv_stream,
    export_span,
    json_stream,
    pages,
    trader_header,
)
from api.queries import get_account

router = APIRouter(
    prefix="/api/account/{account_id}", tags=["exports"], route_class=ExactNumbersRoute
)
FORMAT = "hyperoru-export-1"


def _filename(account_id: int, what: str, span: Span, ext: str) -> str:
    """E.g. `trader-7-fills.csv`, `trader-7-export-20260101-20270101.json` (ASCII only)."""
    parts = [f"trader-{account_id}", what]
    if span.start is not None or span.end is not None:
        for at in (span.start, span.end):
            parts.append(at.strftime("%Y%m%dT%H%M%SZ") if at is not None else "")
    return "-".join(parts) + f".{ext}"


def _download(body: Any, media_type: str, filename: str) -> StreamingResponse:
    return StreamingResponse(
        body,
        media_type=media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


@router.get(
    "/export/{kind}.csv",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
async def export_csv(
    account_id: int,
    kind: ExportKind,
    s: SessionDep,
    request: Request,
    user: CurrentUser,
    start: datetime | None = None,
    end: datetime | None = None,
    include_snapshot: bool = False,
) -> StreamingResponse:
    """One kind of a trader's records as CSV, oldest first, streamed: `decisions` (with their
    prompts and raw answers; each input snapshot only with include_snapshot=true), `orders`,
    `fills`, `round-trips` or `equity` (every stored point). `start`/`end` (RFC 3339, UTC when
    no zone is given) bound the records' time. A cell holding an object or a list is its JSON
    text; null is empty."""
    acct = await get_account(s, account_id, user.id)
    span = export_span(start, end)
    # Why close it now: the download may last minutes; each page opens a session of its own.
    await s.close()
    rows = pages(request.app.state.sessions, kind, acct.id, span, include_snapshot)
    name = _filename(acct.id, kind.value, span, "csv")
    return _download(csv_stream(kind, rows), "text/csv; charset=utf-8", name)


@router.get(
    "/export.json",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/json": {"schema": {"type": "object"}}}}},
)
async def export_json(
    account_id: int,
    s: SessionDep,
    request: Request,
    user: CurrentUser,
    start: datetime | None = None,
    end: datetime | None = None,
    include_snapshot: bool = False,
) -> StreamingResponse:
    """All of a trader's records in one JSON document, streamed: `format`, `exported_at`,
    `trader`, `start`, `end`, then `decisions`, `orders`, `fills`, `round_trips` and `equity`,
    each oldest first and each record as the API's own list gives it."""
    acct = await get_account(s, account_id, user.id)
    span = export_span(start, end)
    head = {
        "format": FORMAT,
        "exported_at": datetime.now(UTC).isoformat(),
        "trader": trader_header(acct),
        "start": span.start.isoformat() if span.start else None,
        "end": span.end.isoformat() if span.end else None,
    }
    await s.close()  # see export_csv
    sessions = request.app.state.sessions

    def section(kind: ExportKind) -> tuple[str, Any]:
        return kind.section, lambda: pages(sessions, kind, acct.id, span, include_snapshot)

    body = json_stream(head, [section(kind) for kind in ExportKind])
    name = _filename(acct.id, "export", span, "json")
    return _download(body, "application/json", name)
