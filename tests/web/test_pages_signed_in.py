"""Every page of the web app answers a signed-in user and sends anyone else to the login page."""

from __future__ import annotations

from temporalio.client import Client

from tests import programs
from tests.support.stack import full_stack, make_settings
from tests.web.support import browser, sign_in


async def test_every_page_answers_when_signed_in_and_redirects_when_not(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    async with full_stack(
        temporal_client, make_settings(temporal_address, sqlite_url), worker=False
    ) as st:
        tid = (await st.create_trader(name="Alpha", initial_capital="1000"))["account_id"]
        prog = await st.create_program(programs.ALWAYS_LONG)
        await st.bind(tid, prog["id"])
        pages = ["/", "/system", "/traders/rows", f"/traders/{tid}/row"]
        async with browser(st) as anon:
            for url in pages:
                r = await anon.get(url)
                assert r.status_code == 303 and r.headers["location"] == "/login", (url, r.text)
        async with browser(st) as http:
            await sign_in(http)
            for url in pages:
                r = await http.get(url)
                assert r.status_code == 200, (url, r.text)
                assert r.headers["content-type"].startswith("text/html"), url
            home = (await http.get("/")).text
            assert 'data-testid="trader-row"' in home and f'data-account-id="{tid}"' in home
            assert "Alpha" in home
            assert (await http.get("/login")).headers.get("location") == "/"  # already in
