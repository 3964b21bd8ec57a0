"""The web app: server-rendered pages in the API process, same origin as the API (README
"Web app"). `install` adds its routes, its static files and its error pages to the API."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

import web
from api.web import (
    analytics,
    backtests,
    dashboard,
    decision_page,
    login,
    prompt_backtests,
    system,
    trader_form,
    trader_page,
    traders,
)
from api.web.editor_pages import EDITOR_PAGES
from api.web.render import PAGE_HEADERS, Pages, pages, redirect

# The URL holds the files' hash (api/web/render.py): a year's caching is safe.
STATIC_CACHE = "public, max-age=31536000, immutable"


class CachedStatic(StaticFiles):
    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code == 200:
            response.headers["Cache-Control"] = STATIC_CACHE
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


def _not_found(request: Request) -> HTMLResponse:
    return pages(request).html(request, "not_found.html", status=404)


def install(app: FastAPI) -> None:
    app.state.pages = Pages()
    app.mount(app.state.pages.static, CachedStatic(directory=str(web.STATIC)), name="static")
    # trader_form first: its /traders/new and /traders/{id}/edit are not /traders/{id}/{action}
    # nor /traders/{id} (trader_page).
    for module in (
        login,
        trader_form,
        traders,
        system,
        trader_page,
        decision_page,
        *EDITOR_PAGES,
        dashboard,
        backtests,
        prompt_backtests,
        analytics,
    ):
        app.include_router(module.router)

    @app.exception_handler(login.SignInRequired)
    async def _sign_in(request: Request, exc: login.SignInRequired) -> Response:
        if request.headers.get("hx-request"):  # htmx swaps nothing on a redirect: reload
            return Response(status_code=401, headers={**PAGE_HEADERS, "HX-Redirect": "/login"})
        return redirect("/login")

    @app.exception_handler(login.Forbidden)
    async def _forbidden(request: Request, exc: login.Forbidden) -> Response:
        return pages(request).html(request, "forbidden.html", status=403)

    @app.exception_handler(traders.PageNotFound)
    async def _missing(request: Request, exc: traders.PageNotFound) -> Response:
        return _not_found(request)
