"""Users from the command line: the first user of a fresh data dir, and `cli create-user`."""

from __future__ import annotations

import secrets

from sqlalchemy import func, select

from api.users_store import create_user
from db.models import User
from db.session import make_engine, make_sessionmaker

FIRST_EMAIL = "admin@localhost"


def random_password() -> str:
    return secrets.token_urlsafe(18)


async def add_user(database_url: str, email: str, password: str, username: str | None) -> int:
    engine = make_engine(database_url)
    try:
        async with make_sessionmaker(engine)() as s:
            return (await create_user(s, email, password, username)).id
    finally:
        await engine.dispose()


async def ensure_first_user(database_url: str) -> str | None:
    """Create admin@localhost with a random password when there is no user; returns it."""
    engine = make_engine(database_url)
    try:
        async with make_sessionmaker(engine)() as s:
            if await s.scalar(select(func.count()).select_from(User)):
                return None
            password = random_password()
            await create_user(s, FIRST_EMAIL, password, "admin")
            return password
    finally:
        await engine.dispose()
