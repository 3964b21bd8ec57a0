"""A state-changing request from a page needs the session's CSRF token: without it (or with
another session's, or a made-up one) it is a 403 and nothing changes. Login has its own
double-submit token, and a page's token is worthless to another session."""

from __future__ import annotations

from temporalio.client import Client

from tests.support.stack import full_stack, make_settings
from tests.web.support import browser, sign_in


async def test_buttons_and_logout_without_the_csrf_token_are_refused(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    settings = make_settings(temporal_address, sqlite_url)
    async with full_stack(temporal_client, settings, worker=False) as st:
        tid = (await st.create_trader(name="Guarded", trading_enabled=True))["account_id"]
        async with browser(st) as first, browser(st) as second:
            csrf = await sign_in(first)
            other_csrf = await sign_in(second)
            assert csrf != other_csrf  # per session
            for headers in ({}, {"X-CSRF-Token": "forged"}, {"X-CSRF-Token": other_csrf}):
                r = await first.post(f"/traders/{tid}/pause", headers=headers)
                assert r.status_code == 403, (headers, r.text)
                assert (await first.post("/logout", headers=headers)).status_code == 403
            assert (await st.api.get(f"/api/account/{tid}")).json()["status"] == "Active"
            assert (await first.get("/")).status_code == 200  # still signed in
            r = await first.post(f"/traders/{tid}/pause", headers={"X-CSRF-Token": csrf})
            assert r.status_code == 200 and 'data-testid="trader-status">Paused<' in r.text
            r = await first.post("/logout", data={"csrf_token": csrf})
            assert r.status_code == 303 and r.headers["location"] == "/login"
            assert (await first.get("/")).status_code == 303  # the session is revoked


async def test_a_login_post_without_the_forms_token_is_refused(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    settings = make_settings(temporal_address, sqlite_url)
    async with full_stack(temporal_client, settings, worker=False) as st, browser(st) as http:
        form = {"email": "owner@example.com", "password": "owner-password-1"}
        r = await http.post("/login", data=form)
        assert r.status_code == 403 and settings.session_cookie not in r.headers.get(
            "set-cookie", ""
        )
        r = await http.post("/login", data={**form, "password": "wrong-password"})
        assert r.status_code == 403
        await sign_in(http)  # with the form's token it works
