"""The login form is rate limited per client address like POST /api/users/login (password
guessing through the web app is no cheaper), while pages and static files are not limited."""

from __future__ import annotations

from temporalio.client import Client

from tests.support.stack import full_stack, make_settings
from tests.web.support import browser


async def test_login_form_posts_are_limited_per_address(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    settings = make_settings(
        temporal_address, sqlite_url, rate_limit_per_second=0.01, rate_limit_burst=6
    )
    async with full_stack(temporal_client, settings, worker=False) as st, browser(st) as http:
        # The stack's own register and login spent 2 of the address's 6.
        codes = [
            (await http.post("/login", data={"email": "a@b.c", "password": "guess"})).status_code
            for _ in range(6)
        ]
        assert codes[:4] == [403] * 4 and codes[4:] == [429, 429], codes
        assert (await http.get("/login")).status_code == 429  # the same path, the same bucket
        static = st.app.state.pages.static + "/app.css"
        assert [(await http.get(static)).status_code for _ in range(10)] == [200] * 10
