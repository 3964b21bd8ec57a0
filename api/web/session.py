"""Who is looking at a page: the session cookie (an existing session token, as POST
/api/users/login issues them, checked the same way), and the CSRF token every state-changing
request from a page must carry.

Why the CSRF token is derived, not stored: it is an HMAC of the session token, so it is
per-session, needs no table, dies with the session, and another site cannot compute it
without the token, which the HttpOnly cookie keeps from every script.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth import MAX_TOKEN_CHARS, Caller
from api.users_store import session_for

CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
# Login has no session yet: a random value in its own cookie and in the form (double submit).
LOGIN_CSRF_COOKIE = "hyperoru_login_csrf"


@dataclass(frozen=True)
class Viewer:
    """A signed-in page's user, with the page's CSRF token."""

    caller: Caller
    email: str
    csrf: str


def csrf_for(token: str) -> str:
    return hmac.new(token.encode(), b"hyperoru-web-csrf", hashlib.sha256).hexdigest()


def new_login_csrf() -> str:
    return secrets.token_urlsafe(24)


def cookie_token(request: Request) -> str | None:
    token = request.cookies.get(request.app.state.settings.session_cookie, "").strip()
    return token if token and len(token) <= MAX_TOKEN_CHARS else None


async def viewer(request: Request, s: AsyncSession) -> Viewer | None:
    """The signed-in user behind the cookie, or None (no cookie, or a dead session)."""
    token = cookie_token(request)
    if token is None:
        return None
    found = await session_for(s, token)
    if found is None:
        return None
    session, user = found
    return Viewer(Caller(id=user.id, session_token_id=session.id), user.email, csrf_for(token))


def same(sent: str | None, expected: str) -> bool:
    return bool(sent) and hmac.compare_digest(str(sent).encode(), expected.encode())


def csrf_sent(request: Request, form: dict[str, str] | None = None) -> str | None:
    return request.headers.get(CSRF_HEADER) or (form or {}).get(CSRF_FIELD)
