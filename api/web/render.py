"""Rendering pages: one Jinja2 environment (autoescape always on), the security headers every
page answers with, and the static files' versioned URL.

Why the CSP has no 'unsafe-inline' anywhere: every script is a file under /static (htmx with
eval off, our modules), no page carries an inline script, event attribute or style attribute,
so text from models, programs, exchanges and users can never run even if a template slipped.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

import web
from api.money import fmt

CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
PAGE_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    # Pages show live balances: never from a cache, never kept by a shared one.
    "Cache-Control": "no-store",
}


def static_version() -> str:
    """A hash of every static file: part of their URLs, so they can be cached for a year and a
    new release is still fetched at once."""
    digest = hashlib.sha256()
    for path in sorted(web.STATIC.rglob("*")):
        if path.is_file():
            digest.update(path.relative_to(web.STATIC).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def money(value: Any, places: int = 2) -> str:
    """A money amount at `places` decimals with thousands separators ("12,345.60")."""
    if value is None or value == "":
        return "—"
    try:
        d = Decimal(str(value))
    except InvalidOperation:
        return "—"
    return f"{d:,.{places}f}"


def signed_money(value: Any) -> str:
    text = money(value)
    return text if text == "—" or text.startswith("-") else "+" + text


def plain(value: Decimal | None) -> str:
    """A decimal written as the JSON API writes it (for data-value attributes)."""
    return fmt(value) or ""


def sign_class(value: Decimal | None) -> str:
    if value is None or value == 0:
        return ""
    return "up" if value > 0 else "down"


def utc_text(at: datetime | None) -> str:
    if at is None:
        return "—"
    at = at if at.tzinfo else at.replace(tzinfo=UTC)
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def iso(at: datetime | None) -> str:
    if at is None:
        return ""
    at = at if at.tzinfo else at.replace(tzinfo=UTC)
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def make_env() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(web.TEMPLATES)),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        money=money,
        signed_money=signed_money,
        utc_text=utc_text,
        iso=iso,
        plain=plain,
        sign_class=sign_class,
    )
    return env


class Pages:
    """The app's templates and static URL prefix (one per process, on app.state.pages)."""

    def __init__(self) -> None:
        self.env = make_env()
        self.version = static_version()
        self.static = f"/static/{self.version}"

    def html(self, request: Request, name: str, status: int = 200, **ctx: Any) -> HTMLResponse:
        template = self.env.get_template(name)
        body = template.render(static=self.static, path=request.url.path, **ctx)
        return HTMLResponse(body, status_code=status, headers=PAGE_HEADERS)


def pages(request: Request) -> Pages:
    return request.app.state.pages  # type: ignore[no-any-return]


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303, headers=PAGE_HEADERS)
