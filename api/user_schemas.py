"""Bodies of /api/users. A password is only ever accepted, never returned."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints, field_validator

from api.schemas import Strict, UtcDateTime

# Deliberately loose (one @, no spaces; admin@localhost is fine): the address is a login name.
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}$")
PASSWORD_MIN, PASSWORD_MAX = 8, 256
Username = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


def _email(value: str) -> str:
    value = value.strip().lower()
    if len(value) > 320 or not _EMAIL.match(value):
        raise ValueError("not a valid email address")
    return value


class RegisterBody(Strict):
    email: str = Field(max_length=320)
    password: str = Field(min_length=PASSWORD_MIN, max_length=PASSWORD_MAX)
    username: Username | None = None

    _check_email = field_validator("email")(_email)


class LoginBody(Strict):
    email: str = Field(max_length=320)
    password: str = Field(min_length=1, max_length=256)

    @field_validator("email")
    @classmethod
    def _lower(cls, v: str) -> str:
        return v.strip().lower()


class ProfileUpdate(Strict):
    username: Username | None = None
    email: str | None = Field(default=None, max_length=320)
    # Changing the password needs the current one and ends every other session.
    current_password: str | None = Field(default=None, min_length=1, max_length=256)
    new_password: str | None = Field(default=None, min_length=PASSWORD_MIN, max_length=PASSWORD_MAX)

    @field_validator("email")
    @classmethod
    def _check_email(cls, v: str | None) -> str | None:
        return None if v is None else _email(v)


class UserOut(BaseModel):
    id: int
    email: str
    username: str
    is_active: bool
    created_at: UtcDateTime


class LoginOut(BaseModel):
    user: UserOut
    session_token: str
    token_type: str = "bearer"
    expires_at: UtcDateTime


class LogoutOut(BaseModel):
    status: str = "logged_out"
