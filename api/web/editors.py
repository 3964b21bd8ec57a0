"""What the prompt, program and signal editors share: their forms (bigger than the login
form: a program may be 200,000 characters), the CSRF check, the traders a preview or a test run
can use, and the text of a refused request.

Why the editors call the REST route functions: a page then saves, validates, previews and
test-runs exactly as `/api/prompts`, `/api/programs` and `/api/signals` do, with their checks
and their errors, and there is no second business logic to drift."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from fastapi import Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from adapters.exchanges.client import ExchangeError
from api.errors import ApiError
from api.queries import MAX_ID, listed_accounts
from api.web.login import Forbidden
from api.web.render import PAGE_HEADERS, redirect
from api.web.session import Viewer, csrf_sent, same
from api.web.traders import PageNotFound

# A program's code (200,000 characters) url-encoded, with room for the other fields.
MAX_EDITOR_FORM_BYTES = 1_000_000
MAX_EDITOR_FIELDS = 200


class EditorPageNotFound(PageNotFound):
    """A missing prompt, program, signal or pool, and another user's: the same 404 page."""


async def editor_form(request: Request, who: Viewer) -> dict[str, Any]:
    """The form of a state-changing editor request, once its CSRF token is the session's.
    Fields given more than once (checkboxes) come back as lists. A form too large to read is
    refused like a forged one (as the login form's reader does)."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > MAX_EDITOR_FORM_BYTES:
        raise Forbidden()
    body = await request.body()
    if len(body) > MAX_EDITOR_FORM_BYTES:
        raise Forbidden()
    form: dict[str, Any] = {}
    try:
        pairs = parse_qsl(
            body.decode("utf-8", "replace"),
            keep_blank_values=True,
            max_num_fields=MAX_EDITOR_FIELDS,
        )
    except ValueError as err:  # more fields than any editor's form has
        raise Forbidden() from err
    for key, value in pairs:
        if key in form:
            form[key] = [*form[key], value] if isinstance(form[key], list) else [form[key], value]
        else:
            form[key] = value
    if not same(csrf_sent(request, {k: str(v) for k, v in form.items()}), who.csrf):
        raise Forbidden()
    return form


def text(form: dict[str, Any], key: str) -> str:
    """A field as typed: browsers send a textarea's line ends as CRLF (HTML's form encoding);
    code and templates are kept with the LF the API stores from everyone else."""
    value = form.get(key, "")
    return (value[-1] if isinstance(value, list) else str(value)).replace("\r\n", "\n")


def many(form: dict[str, Any], key: str) -> list[str]:
    value = form.get(key, [])
    return value if isinstance(value, list) else [value]


def checked_id(value: int) -> int:
    if not 0 < value <= MAX_ID:
        raise EditorPageNotFound()
    return value


def form_id(form: dict[str, Any], key: str) -> int | None:
    raw = text(form, key).strip()
    return int(raw) if raw.isdigit() and 0 < int(raw) <= MAX_ID else None


def refusal(err: Exception) -> str:
    """What was wrong with a request, as the API would say it (its message and code)."""
    if isinstance(err, ApiError):
        return f"{err.message} ({err.code})"
    if isinstance(err, ExchangeError):  # a venue's answer carries no secret (api/errors.py)
        return f"{err} (EXCHANGE_{err.code})"
    if isinstance(err, ValidationError):
        first = err.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        return f"{where}: {first['msg']} (VALIDATION_ERROR)" if where else str(first["msg"])
    return str(err)


async def trader_choices(s: AsyncSession, owner: int) -> list[dict[str, Any]]:
    """The user's traders a preview or a test run can read live data for."""
    return [
        {"id": a.id, "name": a.name, "type": a.account_type}
        for a in await listed_accounts(s, owner)
    ]


def go(request: Request, url: str) -> Response:
    """After a change: htmx follows HX-Redirect; a plain form post follows the 303."""
    if request.headers.get("hx-request"):
        return Response(status_code=204, headers={**PAGE_HEADERS, "HX-Redirect": url})
    return redirect(url)


def refused_in_place(request: Request, response: Response) -> Response:
    """A refused htmx request (a delete of something in use) answers its page with the error
    and has htmx swap it in: htmx swaps no 4xx answer, so it goes out as 200 to htmx only."""
    if request.headers.get("hx-request") and response.status_code >= 400:
        response.status_code = 200
        response.headers.update(
            {"HX-Retarget": "main", "HX-Reselect": "main", "HX-Reswap": "outerHTML"}
        )
    return response
