"""POST /api/klines/import: candles a user brings (JSON or CSV), checked, stored in one go.

Imported candles are stored under the source `import` unless the request names another (e.g.
`hyperliquid`, to complete what a backfill fetched): the candles table is keyed by source, symbol,
interval and open time, so a file never silently overwrites what a venue reported.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from api.errors import ApiError, request_id
from db.candles import CandleConflict, import_candles
from domain.candle_import import FIELDS, ParsedUpload, TooManyRows, UploadError, parse_upload

IMPORT_PATH = "/api/klines/import"
IMPORT_SOURCE = "import"
MAX_LISTED = 100  # bad or conflicting rows listed in one answer (the count says how many)
SOURCE_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")

router = APIRouter(tags=["klines"])


def _is_csv(content_type: str) -> bool:
    kind = content_type.split(";")[0].strip().lower()
    if kind in ("text/csv", "application/csv", "text/plain"):
        return True
    if kind in ("application/json", ""):
        return False
    raise ApiError(
        415, "UNSUPPORTED_MEDIA_TYPE", "Send application/json or text/csv (the file as the body)"
    )


def _bad_rows(request: Request, parsed: ParsedUpload) -> JSONResponse:
    errors = parsed.errors
    head = "; ".join(f"row {e.row} {e.field}: {e.message}" for e in errors[:5])
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    rid = request_id(request)
    return JSONResponse(
        status_code=422,
        content={
            "error": f"{len(errors)} problems in the upload, nothing stored: {head}{more}",
            "code": "INVALID_CANDLES",
            "request_id": rid,
            "bad_rows": len({e.row for e in errors}),
            "rows": [
                {"row": e.row, "field": e.field, "rule": e.rule, "message": e.message}
                for e in errors[:MAX_LISTED]
            ],
        },
        headers={"X-Request-ID": rid},
    )


def _conflict(request: Request, parsed: ParsedUpload, open_times: list[int]) -> JSONResponse:
    rows = [{"row": parsed.rows[t], "timestamp": t} for t in open_times]
    named = ", ".join(str(r["row"]) for r in rows[:10])
    rid = request_id(request)
    return JSONResponse(
        status_code=409,
        content={
            "error": (
                f"{len(rows)} candles differ from the stored ones (rows {named}"
                f"{', ...' if len(rows) > 10 else ''}); nothing stored. "
                "Send replace=true to overwrite them"
            ),
            "code": "CANDLE_CONFLICT",
            "request_id": rid,
            "conflicts": len(rows),
            "rows": rows[:MAX_LISTED],
        },
        headers={"X-Request-ID": rid},
    )


_CANDLE = {
    "type": "object",
    "required": list(FIELDS),
    "properties": {
        "timestamp": {"type": "integer", "description": "open time, ms since the epoch"},
        **{k: {"type": "string"} for k in FIELDS[1:]},  # open, high, low, close, volume
    },
}
# The body is read as bytes (JSON or CSV); documented here so /docs shows both.
_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["candles"],
                    "properties": {
                        "symbol": {"type": "string"},
                        "interval": {"type": "string"},
                        "candles": {"type": "array", "items": _CANDLE},
                    },
                }
            },
            "text/csv": {"schema": {"type": "string"}},
        },
    }
}


@router.post(IMPORT_PATH, status_code=200, response_model=None, openapi_extra=_BODY)
async def import_klines(
    request: Request,
    symbol: str | None = None,
    interval: str | None = None,
    source: str = IMPORT_SOURCE,
    replace: bool = False,
) -> dict[str, Any] | JSONResponse:
    """Store candles from a JSON or CSV body (README "Market data history"): every row checked,
    nothing stored when one is bad (422 naming each) or differs from a stored candle (409 naming
    each, unless replace=true); re-importing the same file changes nothing."""
    if not SOURCE_RE.match(source):
        raise ApiError(422, "VALIDATION_ERROR", "source: lowercase letters, digits, - and _")
    is_csv = _is_csv(request.headers.get("content-type", ""))
    settings = request.app.state.settings
    body = await request.body()
    try:
        parsed = parse_upload(body, is_csv, symbol, interval, settings.klines_import_max_rows)
    except TooManyRows as err:
        raise ApiError(413, "TOO_MANY_ROWS", str(err)) from err
    except UploadError as err:
        raise ApiError(422, "INVALID_UPLOAD", str(err)) from err
    if parsed.errors:
        return _bad_rows(request, parsed)
    try:
        result = await import_candles(
            request.app.state.sessions,
            source,
            parsed.symbol,
            parsed.interval,
            parsed.candles,
            replace,
        )
    except CandleConflict as err:
        return _conflict(request, parsed, err.open_times)
    return {
        "source": source,
        "symbol": parsed.symbol,
        "interval": parsed.interval.value,
        "format": parsed.fmt,
        "received": parsed.received,
        "candles": len(parsed.candles),
        "inserted": result.inserted,
        "replaced": result.replaced,
        "unchanged": result.unchanged,
    }
