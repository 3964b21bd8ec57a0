"""One error envelope for every failure: {"error", "code", "request_id"}."""

from __future__ import annotations

import logging
import uuid

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from adapters.exchanges.client import ExchangeError

log = logging.getLogger("hyperoru.api")


class ApiError(Exception):
    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers = headers or {}


HTTP_CODES = {
    400: "BAD_REQUEST",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
}


def not_found(what: str, ident: object) -> ApiError:
    return ApiError(404, f"{what.upper()}_NOT_FOUND", f"{what.capitalize()} {ident} not found")


def request_id(request: Request) -> str:
    rid = getattr(request.state, "request_id", None)
    return rid or f"req_{uuid.uuid4().hex[:20]}"


def envelope(
    request: Request, status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    rid = request_id(request)
    return JSONResponse(
        status_code=status,
        content={"error": message, "code": code, "request_id": rid},
        headers={**(headers or {}), "X-Request-ID": rid},
    )


def _validation_message(exc: RequestValidationError) -> tuple[int, str, str]:
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return 400, "INVALID_JSON", "Request body is not valid JSON"
    parts = []
    for e in errors[:5]:
        loc = ".".join(str(p) for p in e.get("loc", ()) if p != "body")
        parts.append(f"{loc}: {e.get('msg')}" if loc else str(e.get("msg")))
    return 422, "VALIDATION_ERROR", "; ".join(parts) or "Invalid request"


def install(app: FastAPI) -> None:
    @app.middleware("http")
    async def _request_id(request: Request, call_next):  # type: ignore[no-untyped-def]
        request.state.request_id = f"req_{uuid.uuid4().hex[:20]}"
        response = await call_next(request)
        response.headers["X-Request-ID"] = request.state.request_id
        return response

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return envelope(request, exc.status, exc.code, exc.message, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        return envelope(request, *_validation_message(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = HTTP_CODES.get(exc.status_code, "HTTP_ERROR")
        return envelope(request, exc.status_code, code, str(exc.detail), dict(exc.headers or {}))

    @app.exception_handler(ExchangeError)
    async def _exchange(request: Request, exc: ExchangeError) -> JSONResponse:
        # A venue's answer (its message never carries secrets): not our server's fault.
        status = 409 if exc.code == "NOT_CONNECTED" else 503 if exc.retryable else 502
        return envelope(request, status, f"EXCHANGE_{exc.code}", str(exc))

    @app.exception_handler(DataError)
    async def _unstorable(request: Request, exc: DataError) -> JSONResponse:
        # Safety net: a value the database refuses (range, encoding) is the caller's input.
        log.warning("database refused a value on %s %s", request.method, request.url.path)
        return envelope(request, 422, "INVALID_VALUE", "A value is out of range or not storable")

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return envelope(request, 500, "INTERNAL_ERROR", "Internal server error")
