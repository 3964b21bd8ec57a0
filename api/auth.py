"""Who is calling: `Authorization: Bearer <session token>` on every /api/ route but a few."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.deps import SessionDep
from api.errors import ApiError
from api.users_store import session_for

_bearer = HTTPBearer(
    auto_error=False,
    description="Session token issued by POST /api/users/login, sent as "
    "`Authorization: Bearer <token>`.",
)
_CHALLENGE = {"WWW-Authenticate": "Bearer"}
# Bounds what is hashed and looked up; real tokens are ~47 characters.
MAX_TOKEN_CHARS = 200


@dataclass(frozen=True)
class Caller:
    """The authenticated user (plain values: safe after the route's session rolls back)."""

    id: int
    session_token_id: int


def unauthorized(code: str, message: str) -> ApiError:
    return ApiError(401, code, message, headers=_CHALLENGE)


async def current_user(
    request: Request,
    s: SessionDep,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller:
    """The user behind a valid, unexpired, unrevoked token; 401 otherwise."""
    if creds is None or not creds.credentials:
        raise unauthorized(
            "AUTH_REQUIRED", "Log in first and send Authorization: Bearer <session_token>"
        )
    token = creds.credentials.strip()
    found = await session_for(s, token) if len(token) <= MAX_TOKEN_CHARS else None
    if found is None:
        raise unauthorized("INVALID_TOKEN", "Session token is invalid, expired or revoked")
    session, user = found
    request.state.user_id = user.id
    request.state.session_token = token
    request.app.state.verified_tokens.add(token)  # its own rate-limit bucket from now on
    return Caller(id=user.id, session_token_id=session.id)


CurrentUser = Annotated[Caller, Depends(current_user)]
