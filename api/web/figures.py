"""Template filters of the dashboard, backtest and analytics pages (registered on the shared
Jinja2 environment the first time one of these pages renders): ratios as percentages, the
metrics' decimal strings at a readable precision, and a sign's CSS class for text values."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, JSONResponse
from jinja2 import Environment

from api.web.render import PAGE_HEADERS, pages


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        d = Decimal(str(value))
    except InvalidOperation:
        return None
    return d if d.is_finite() else None


def pct(value: Any, places: int = 2) -> str:
    """A 0..1 ratio ("0.5") as a percentage ("50.00%")."""
    d = _decimal(value)
    return "—" if d is None else f"{d * 100:,.{places}f}%"


def number(value: Any, places: int = 4) -> str:
    """A metric: integers as they are, decimals at `places` (trailing zeros dropped)."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    d = _decimal(value)
    if d is None:
        return "—" if value is None else str(value)
    if d == d.to_integral_value() and abs(d) < Decimal("1e15"):
        return f"{d:,.0f}"
    text = f"{d:,.{places}f}".rstrip("0").rstrip(".")
    return text


def sign_class_text(value: Any) -> str:
    d = _decimal(value)
    if d is None or d == 0:
        return ""
    return "up" if d > 0 else "down"


FILTERS = {"pct": pct, "number": number, "sign_class_text": sign_class_text}


def register(env: Environment) -> None:
    for name, fn in FILTERS.items():
        env.filters.setdefault(name, fn)


def html(request: Request, name: str, status: int = 200, **ctx: Any) -> HTMLResponse:
    """A page of ours, with our filters on the environment."""
    found = pages(request)
    register(found.env)
    return found.html(request, name, status=status, **ctx)


def chart_json(data: Any) -> JSONResponse:
    """A chart's data for the page's module: JSON (names in it are data, drawn as text), with
    the pages' headers (no-store, nosniff)."""
    return JSONResponse(data, headers=PAGE_HEADERS)
