"""Who opens a socket: the session token of `Authorization: Bearer`, of `?session_token=` (browsers
cannot set headers on an upgrade) or of the web app's session cookie, checked like every REST
request's (api/users_store.py `session_for`).

Why the Origin rule for the cookie only: a browser sends the cookie with an upgrade any site's
page asks for (cross-site WebSocket hijacking), so a cookie counts only when the page is the
API's own origin. A token in the header or the query string was put there by the client itself:
another site's page cannot know it.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.websockets import WebSocket

from api.auth import MAX_TOKEN_CHARS, Caller
from api.users_store import session_for

# Close codes (README "Live stream"): 4401 like HTTP 401, 4403 like HTTP 403.
UNAUTHORIZED = 4401
FORBIDDEN = 4403
QUERY_PARAM = "session_token"
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class Refusal:
    """Why an upgrade is refused: the close code and reason the client gets."""

    code: int
    reason: str


NO_TOKEN = Refusal(
    UNAUTHORIZED,
    "AUTH_REQUIRED: send Authorization: Bearer <session_token> or ?session_token=<token>",
)
BAD_TOKEN = Refusal(UNAUTHORIZED, "INVALID_TOKEN: session token is invalid, expired or revoked")
FOREIGN_ORIGIN = Refusal(
    FORBIDDEN, "ORIGIN_NOT_ALLOWED: the session cookie is accepted only from the API's own origin"
)


def _origin_key(scheme: str, netloc: str) -> tuple[str, str, int] | None:
    try:
        parts = urlsplit(f"{scheme}://{netloc}")
        port = parts.port or _DEFAULT_PORTS.get(scheme)
    except ValueError:
        return None
    if not parts.hostname or port is None:
        return None
    return scheme, parts.hostname.lower(), port


def same_origin(ws: WebSocket) -> bool:
    """The upgrade's Origin is the API's own: scheme, host and port of the request's Host
    (ws -> http, wss -> https). No Origin (not a browser) is not the API's own."""
    origin = ws.headers.get("origin")
    host = ws.headers.get("host")
    if not origin or not host:
        return False
    scheme = "https" if ws.url.scheme in ("wss", "https") else "http"
    try:
        sent = urlsplit(origin)
    except ValueError:
        return False
    theirs = _origin_key(sent.scheme.lower(), sent.netloc)
    return theirs is not None and theirs == _origin_key(scheme, host)


def credential(ws: WebSocket, cookie_name: str) -> str | Refusal:
    """The token the upgrade carries (header, then query string, then cookie)."""
    header = ws.headers.get("authorization")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return NO_TOKEN
        return token.strip()
    query = ws.query_params.get(QUERY_PARAM)
    if query:
        return query.strip()
    cookie = ws.cookies.get(cookie_name)
    if cookie:
        return cookie.strip() if same_origin(ws) else FOREIGN_ORIGIN
    return NO_TOKEN


async def authenticate(
    ws: WebSocket, sessions: async_sessionmaker[AsyncSession], cookie_name: str
) -> Caller | Refusal:
    """The caller behind a valid, unexpired, unrevoked token, or why not."""
    token = credential(ws, cookie_name)
    if isinstance(token, Refusal):
        return token
    if not token or len(token) > MAX_TOKEN_CHARS:
        return BAD_TOKEN
    async with sessions() as s:
        found = await session_for(s, token)
    if found is None:
        return BAD_TOKEN
    session, user = found
    return Caller(id=user.id, session_token_id=session.id)
