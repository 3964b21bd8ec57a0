"""Users and sessions: register, login, Bearer tokens (expiry, revocation), profile."""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import create_engine, text
from temporalio.client import Client

from config.settings import sync_url
from tests.support.stack import DEFAULT_EMAIL, Stack, full_stack, make_settings

PASSWORD = "correct horse battery"
PUBLIC = {("POST", "/api/users/register"), ("POST", "/api/users/login"), ("GET", "/api/health")}


@pytest.fixture
async def st(
    temporal_client: Client, temporal_address: str, database_url: str
) -> AsyncIterator[Stack]:
    async with full_stack(None, make_settings(temporal_address, database_url), worker=False) as s:
        yield s


def assert_error(r, status: int, code: str) -> None:  # type: ignore[no-untyped-def]
    assert r.status_code == status, r.text
    body = r.json()
    assert body["code"] == code and body["error"], body
    assert set(body) == {"error", "code", "request_id"}


def db_rows(st: Stack, sql: str, **params: object) -> list[tuple]:  # type: ignore[type-arg]
    engine = create_engine(sync_url(st.settings.resolved_database_url))
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql), params)]
    finally:
        engine.dispose()


async def _login(st: Stack, email: str, password: str = PASSWORD) -> dict:  # type: ignore[type-arg]
    async with st.anonymous() as http:
        r = await http.post("/api/users/login", json={"email": email, "password": password})
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_every_api_route_but_three_needs_a_token(st: Stack) -> None:
    routes = [
        (method.upper(), path)
        for path, ops in st.app.openapi()["paths"].items()
        if path.startswith("/api/")
        for method in ops
    ]
    assert len(routes) > 40
    async with st.anonymous() as http:
        for method, path in routes:
            url = re.sub(r"\{[^}]+\}", "1", path)
            r = await http.request(method, url, json={})
            if (method, path) in PUBLIC:
                assert r.status_code != 401, (method, path)
                continue
            assert_error(r, 401, "AUTH_REQUIRED")
            assert r.headers["www-authenticate"] == "Bearer"
            bad = await http.request(method, url, json={}, headers=bearer("hyo_not-a-token"))
            assert_error(bad, 401, "INVALID_TOKEN")
        # The query-string form is not accepted (no WebSocket/SSE route needs it).
        token = st.api.headers["Authorization"].split()[1]
        r = await http.get("/api/account/list", params={"session_token": token})
        assert_error(r, 401, "AUTH_REQUIRED")
        r = await http.get("/api/account/list", headers={"Authorization": f"Basic {token}"})
        assert_error(r, 401, "AUTH_REQUIRED")
        assert (await http.get("/api/health")).status_code == 200


async def test_register_login_profile_and_no_password_anywhere(st: Stack) -> None:
    async with st.anonymous() as http:
        r = await http.post(
            "/api/users/register",
            json={"email": "Alice@Example.com ", "password": PASSWORD, "username": "alice"},
        )
        assert r.status_code == 201, r.text
        user = r.json()
        assert user["email"] == "alice@example.com" and user["username"] == "alice"
        assert set(user) == {"id", "email", "username", "is_active", "created_at"}
        assert PASSWORD not in r.text
        again = {"email": "alice@example.com", "password": PASSWORD}
        assert_error(await http.post("/api/users/register", json=again), 409, "EMAIL_TAKEN")
        short = {"email": "bob@example.com", "password": "short"}
        assert_error(await http.post("/api/users/register", json=short), 422, "VALIDATION_ERROR")
        no_at = {"email": "bob", "password": PASSWORD}
        assert_error(await http.post("/api/users/register", json=no_at), 422, "VALIDATION_ERROR")

    login = await _login(st, "ALICE@example.com")
    assert set(login) == {"user", "session_token", "token_type", "expires_at"}
    assert login["user"] == user and login["token_type"] == "bearer"
    assert login["expires_at"].endswith(("Z", "+00:00"))
    assert PASSWORD not in str(login)
    token = login["session_token"]
    assert len(token) >= 40

    async with st.anonymous() as http:
        http.headers.update(bearer(token))
        profile = (await http.get("/api/users/profile")).json()
        assert profile == user
        r = await http.put("/api/users/profile", json={"username": "Alice A."})
        assert r.json()["username"] == "Alice A." and PASSWORD not in r.text
        taken = {"email": DEFAULT_EMAIL}
        assert_error(await http.put("/api/users/profile", json=taken), 409, "EMAIL_TAKEN")
        assert (await http.get("/api/account/list")).json() == []  # a new user owns nothing

    # Only a hash of the password and of the token is stored.
    rows = db_rows(st, "SELECT password_hash FROM users WHERE email = 'alice@example.com'")
    assert rows[0][0].startswith("$argon2id$") and PASSWORD not in rows[0][0]
    stored = db_rows(
        st,
        "SELECT t.token_hash FROM session_tokens t JOIN users u ON u.id = t.user_id "
        "WHERE u.email = 'alice@example.com'",
    )
    assert stored == [(hashlib.sha256(token.encode()).hexdigest(),)]
    for table in ("users", "session_tokens"):
        for row in db_rows(st, f"SELECT * FROM {table}"):
            assert token not in str(row) and PASSWORD not in str(row)


async def test_wrong_password_gives_no_hint_whether_the_email_exists(st: Stack) -> None:
    async with st.anonymous() as http:
        await http.post("/api/users/register", json={"email": "c@x.io", "password": PASSWORD})
        wrong = await http.post("/api/users/login", json={"email": "c@x.io", "password": "nope!"})
        nobody = await http.post(
            "/api/users/login", json={"email": "nobody@x.io", "password": "nope!"}
        )
    for r in (wrong, nobody):
        assert_error(r, 401, "INVALID_CREDENTIALS")
    assert wrong.json()["error"] == nobody.json()["error"]
    assert wrong.headers.get("www-authenticate") == nobody.headers.get("www-authenticate")


async def test_several_tokens_logout_revokes_only_that_one(st: Stack) -> None:
    async with st.anonymous() as http:
        await http.post("/api/users/register", json={"email": "d@x.io", "password": PASSWORD})
    first, second = [(await _login(st, "d@x.io"))["session_token"] for _ in range(2)]
    assert first != second
    async with st.anonymous() as http:
        for t in (first, second):
            assert (await http.get("/api/users/profile", headers=bearer(t))).status_code == 200
        r = await http.post("/api/users/logout", headers=bearer(first))
        assert r.status_code == 200 and r.json() == {"status": "logged_out"}
        assert_error(
            await http.get("/api/users/profile", headers=bearer(first)), 401, "INVALID_TOKEN"
        )
        assert_error(
            await http.post("/api/users/logout", headers=bearer(first)), 401, "INVALID_TOKEN"
        )
        assert (await http.get("/api/users/profile", headers=bearer(second))).status_code == 200
    revoked = db_rows(st, "SELECT revoked_at IS NOT NULL FROM session_tokens ORDER BY id")
    assert sorted(r[0] for r in revoked).count(True) == 1


async def test_expired_token_is_refused(st: Stack) -> None:
    async with st.anonymous() as http:
        await http.post("/api/users/register", json={"email": "e@x.io", "password": PASSWORD})
    token = (await _login(st, "e@x.io"))["session_token"]
    engine = create_engine(sync_url(st.settings.resolved_database_url))
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE session_tokens SET expires_at = :past WHERE token_hash = :h"),
            {"past": "2020-01-01 00:00:00", "h": hashlib.sha256(token.encode()).hexdigest()},
        )
    engine.dispose()
    async with st.anonymous() as http:
        r = await http.get("/api/account/list", headers=bearer(token))
    assert_error(r, 401, "INVALID_TOKEN")


async def test_new_password_needs_the_old_one_and_ends_other_sessions(st: Stack) -> None:
    async with st.anonymous() as http:
        await http.post("/api/users/register", json={"email": "f@x.io", "password": PASSWORD})
    here, elsewhere = [(await _login(st, "f@x.io"))["session_token"] for _ in range(2)]
    async with st.anonymous() as http:
        http.headers.update(bearer(here))
        bad = {"current_password": "not it", "new_password": "a new password"}
        assert_error(await http.put("/api/users/profile", json=bad), 403, "WRONG_PASSWORD")
        good = {"current_password": PASSWORD, "new_password": "a new password"}
        r = await http.put("/api/users/profile", json=good)
        assert r.status_code == 200 and "a new password" not in r.text
        assert (await http.get("/api/users/profile")).status_code == 200  # this one lives on
        other = await http.get("/api/users/profile", headers=bearer(elsewhere))
        assert_error(other, 401, "INVALID_TOKEN")
        old = {"email": "f@x.io", "password": PASSWORD}
        assert_error(await http.post("/api/users/login", json=old), 401, "INVALID_CREDENTIALS")
    await _login(st, "f@x.io", "a new password")


async def test_registration_can_be_closed(temporal_client: Client, temporal_address: str) -> None:
    from db.migrate import upgrade
    from tests.conftest import _sqlite_url

    url = _sqlite_url()
    upgrade(url)
    settings = make_settings(temporal_address, url)
    async with full_stack(None, settings, worker=False) as st:
        st.app.state.settings = settings.model_copy(update={"allow_registration": False})
        async with st.anonymous() as http:
            body = {"email": "late@x.io", "password": PASSWORD}
            r = await http.post("/api/users/register", json=body)
        assert_error(r, 403, "REGISTRATION_CLOSED")
