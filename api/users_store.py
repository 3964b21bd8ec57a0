"""Creating users, issuing and checking session tokens (shared by the API and the CLI)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from api.errors import ApiError
from api.passwords import hash_password, new_token, token_hash
from db.base import utcnow
from db.models import (
    Account,
    Program,
    PromptTemplate,
    SessionToken,
    SignalDefinitionRecord,
    SignalPoolRecord,
    User,
)

OWNED = (Account, Program, PromptTemplate, SignalDefinitionRecord, SignalPoolRecord)


def normalize_email(email: str) -> str:
    return email.strip().lower()


async def create_user(
    s: AsyncSession, email: str, password: str, username: str | None = None
) -> User:
    """Add a user; the very first one also claims rows from before users existed."""
    email = normalize_email(email)
    if await s.scalar(select(User.id).where(User.email == email)) is not None:
        raise ApiError(409, "EMAIL_TAKEN", "An account with this email already exists")
    first = (await s.scalar(select(func.count()).select_from(User))) == 0
    user = User(
        email=email,
        username=(username or email.split("@", 1)[0])[:100],
        password_hash=await hash_password(password),
    )
    s.add(user)
    try:
        await s.flush()
    except IntegrityError as err:  # registered at the same moment by another request
        await s.rollback()
        raise ApiError(409, "EMAIL_TAKEN", "An account with this email already exists") from err
    if first:
        for model in OWNED:
            await s.execute(update(model).where(model.owner_id.is_(None)).values(owner_id=user.id))
    await s.commit()
    return user


async def issue_token(s: AsyncSession, user: User, days: int) -> tuple[str, datetime]:
    """A fresh token for one client; returned once, only its hash is kept."""
    token = new_token()
    expires = utcnow() + timedelta(days=days)
    s.add(SessionToken(user_id=user.id, token_hash=token_hash(token), expires_at=expires))
    await s.commit()
    return token, expires


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)  # SQLite drops the zone


async def session_for(s: AsyncSession, token: str) -> tuple[SessionToken, User] | None:
    """The live session and its active user, or None (unknown, expired or revoked)."""
    row = (
        await s.execute(
            select(SessionToken, User)
            .join(User, User.id == SessionToken.user_id)
            .where(SessionToken.token_hash == token_hash(token))
        )
    ).first()
    if row is None:
        return None
    session, user = row
    if session.revoked_at is not None or not user.is_active:
        return None
    if _aware(session.expires_at) <= utcnow():
        return None
    return session, user


async def live_session_ids(s: AsyncSession, session_ids: set[int]) -> set[int]:
    """Those of `session_ids` still live by session_for's rules (not revoked, not expired, their
    user active): one query for every open socket's session (api/ws/)."""
    if not session_ids:
        return set()
    rows = await s.execute(
        select(SessionToken.id, SessionToken.expires_at)
        .join(User, User.id == SessionToken.user_id)
        .where(
            SessionToken.id.in_(session_ids),
            SessionToken.revoked_at.is_(None),
            User.is_active.is_(True),
        )
    )
    now = utcnow()
    return {ident for ident, expires in rows.all() if _aware(expires) > now}
