"""Settings (`/settings`): UTC or local time, how many decimals money shows, and light, dark or
the system's theme. They are kept in this browser's localStorage (web/static/app/prefs.js):
display choices only, never a token; the server keeps nothing."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from api.web.login import SignedIn
from api.web.render import pages

router = APIRouter(include_in_schema=False)


@router.get("/settings", response_class=HTMLResponse)
async def settings_page(request: Request, who: SignedIn) -> Response:
    return pages(request).html(request, "settings.html", who=who)
