"""Signing in and out of the web app: a form, then an HttpOnly, SameSite=Strict cookie holding
a session token issued exactly as POST /api/users/login issues it (that route does the check)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlalchemy import update

from api.deps import SessionDep
from api.errors import ApiError
from api.routes.users import login as api_login
from api.user_schemas import LoginBody
from api.web.render import pages, redirect
from api.web.session import (
    CSRF_FIELD,
    LOGIN_CSRF_COOKIE,
    Viewer,
    cookie_token,
    csrf_sent,
    new_login_csrf,
    same,
    viewer,
)
from db.base import utcnow
from db.models import SessionToken

router = APIRouter(include_in_schema=False)
MAX_FORM_BYTES = 8192


class SignInRequired(Exception):
    """A page asked for by someone not signed in: answered with a redirect to /login."""


class Forbidden(Exception):
    """A state-changing request without the session's CSRF token: answered 403."""


async def signed_in(request: Request, s: SessionDep) -> Viewer:
    """Dependency of every page but login: the viewer, or a redirect to the login page."""
    found = await viewer(request, s)
    if found is None:
        raise SignInRequired()
    return found


SignedIn = Annotated[Viewer, Depends(signed_in)]


async def read_form(request: Request) -> dict[str, str]:
    """A small urlencoded form (no multipart: the app's forms have no files)."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return {}
    return dict(parse_qsl(body.decode("utf-8", "replace"), max_num_fields=20))


async def checked_form(request: Request, who: Viewer) -> dict[str, str]:
    """The form of a state-changing request, once its CSRF token is the session's."""
    form = await read_form(request)
    if not same(csrf_sent(request, form), who.csrf):
        raise Forbidden()
    return form


def _login_page(request: Request, error: str = "", email: str = "", status: int = 200) -> Response:
    token = new_login_csrf()
    response = pages(request).html(
        request, "login.html", status=status, error=error, email=email, csrf=token,
        csrf_field=CSRF_FIELD,
    )  # fmt: skip
    response.set_cookie(
        LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", path="/login",
        secure=request.url.scheme == "https",
    )  # fmt: skip
    return response


@router.get("/login", response_class=HTMLResponse)
async def login_page(request: Request, s: SessionDep) -> Response:
    if await viewer(request, s) is not None:
        return redirect("/")
    return _login_page(request)


@router.post("/login")
async def login_submit(request: Request, s: SessionDep) -> Response:
    form = await read_form(request)
    if not same(csrf_sent(request, form), request.cookies.get(LOGIN_CSRF_COOKIE, "")):
        return _login_page(request, "The form expired: sign in again.", status=403)
    email = form.get("email", "")
    try:
        body = LoginBody(email=email, password=form.get("password", ""))
        out = await api_login(body, s, request)
    except (ValidationError, ApiError):
        return _login_page(request, "Wrong email or password.", email, status=401)
    settings = request.app.state.settings
    response = redirect("/")
    response.set_cookie(
        settings.session_cookie, out.session_token, max_age=settings.session_days * 86400,
        httponly=True, samesite="strict", path="/", secure=request.url.scheme == "https",
    )  # fmt: skip
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
async def logout(request: Request, s: SessionDep, who: SignedIn) -> Response:
    """Revoke this session's token (as POST /api/users/logout does) and drop the cookie."""
    await checked_form(request, who)
    await s.execute(
        update(SessionToken)
        .where(SessionToken.id == who.caller.session_token_id)
        .values(revoked_at=utcnow())
    )
    await s.commit()
    token = cookie_token(request)
    if token:
        request.app.state.verified_tokens.discard(token)
    response = redirect("/login")
    response.delete_cookie(request.app.state.settings.session_cookie, path="/")
    return response
