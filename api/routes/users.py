"""/api/users: register, log in and out, the caller's profile."""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy import select, update

from api.auth import CurrentUser
from api.deps import SessionDep
from api.errors import ApiError
from api.exact_json import ExactNumbersRoute
from api.passwords import hash_password, verify_password
from api.user_schemas import LoginBody, LoginOut, LogoutOut, ProfileUpdate, RegisterBody, UserOut
from api.users_store import create_user, issue_token
from db.base import utcnow
from db.models import SessionToken, User

# Register and login are the only /api/ routes besides health that take no token.
public = APIRouter(prefix="/api/users", tags=["users"], route_class=ExactNumbersRoute)
router = APIRouter(prefix="/api/users", tags=["users"], route_class=ExactNumbersRoute)


def user_out(u: User) -> UserOut:
    return UserOut(
        id=u.id, email=u.email, username=u.username, is_active=u.is_active, created_at=u.created_at
    )


@public.post("/register", status_code=201, response_model=UserOut)
async def register(body: RegisterBody, s: SessionDep, request: Request) -> UserOut:
    """Create a user; log in next to get a session token."""
    if not request.app.state.settings.allow_registration:
        raise ApiError(403, "REGISTRATION_CLOSED", "Registration is closed on this server")
    return user_out(await create_user(s, body.email, body.password, body.username))


@public.post("/login", response_model=LoginOut)
async def login(body: LoginBody, s: SessionDep, request: Request) -> LoginOut:
    """Email and password for a new session token (several may be live at once)."""
    user = await s.scalar(select(User).where(User.email == body.email))
    ok = await verify_password(user.password_hash if user else None, body.password)
    if user is None or not ok or not user.is_active:
        # The same answer whether or not the email exists.
        raise ApiError(401, "INVALID_CREDENTIALS", "Wrong email or password")
    token, expires = await issue_token(s, user, request.app.state.settings.session_days)
    request.app.state.verified_tokens.add(token)
    return LoginOut(user=user_out(user), session_token=token, expires_at=expires)


@router.post("/logout", response_model=LogoutOut)
async def logout(caller: CurrentUser, s: SessionDep, request: Request) -> LogoutOut:
    """Revoke the token this request carries; the user's other sessions stay valid."""
    await s.execute(
        update(SessionToken)
        .where(SessionToken.id == caller.session_token_id)
        .values(revoked_at=utcnow())
    )
    await s.commit()
    request.app.state.verified_tokens.discard(request.state.session_token)
    return LogoutOut()


async def _me(s: SessionDep, caller: CurrentUser) -> User:
    user = await s.get(User, caller.id)
    assert user is not None  # the token was just checked against this row
    return user


@router.get("/profile", response_model=UserOut)
async def profile(caller: CurrentUser, s: SessionDep) -> UserOut:
    """The logged-in user."""
    return user_out(await _me(s, caller))


@router.put("/profile", response_model=UserOut)
async def update_profile(body: ProfileUpdate, caller: CurrentUser, s: SessionDep) -> UserOut:
    """Change username or email; a new password (with the current one) ends other sessions."""
    user = await _me(s, caller)
    if body.email is not None and body.email != user.email:
        if await s.scalar(select(User.id).where(User.email == body.email)) is not None:
            raise ApiError(409, "EMAIL_TAKEN", "An account with this email already exists")
        user.email = body.email
    if body.username is not None:
        user.username = body.username
    if body.new_password is not None:
        if body.current_password is None or not await verify_password(
            user.password_hash, body.current_password
        ):
            raise ApiError(403, "WRONG_PASSWORD", "current_password is missing or wrong")
        user.password_hash = await hash_password(body.new_password)
        await s.execute(
            update(SessionToken)
            .where(
                SessionToken.user_id == user.id,
                SessionToken.id != caller.session_token_id,
                SessionToken.revoked_at.is_(None),
            )
            .values(revoked_at=utcnow())
        )
    await s.commit()
    return user_out(user)
