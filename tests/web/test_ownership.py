"""Another user's trader is a 404 page on every web route that names a trader (the same page
as a trader that does not exist), and its buttons change nothing."""

from __future__ import annotations

from temporalio.client import Client

from tests.support.stack import full_stack, make_settings
from tests.web.support import browser, sign_in


async def test_another_users_trader_is_a_404_page(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    settings = make_settings(temporal_address, sqlite_url)
    async with full_stack(temporal_client, settings, worker=False) as st:
        theirs = (await st.create_trader(name="Not yours"))["account_id"]
        async with st.user_client("other@example.com", "other-password-1") as other:
            mine = (
                await other.post("/api/account/", json={"name": "Mine", "account_type": "program"})
            ).json()["account_id"]
        async with browser(st) as http:
            csrf = await sign_in(http, "other@example.com", "other-password-1")
            assert (await http.get(f"/traders/{mine}/row")).status_code == 200
            for url in (f"/traders/{theirs}/row", "/traders/999999/row"):
                r = await http.get(url)
                assert r.status_code == 404 and "Not found" in r.text, (url, r.text)
                assert r.headers["content-type"].startswith("text/html")
            for action in ("start", "pause", "resume", "trigger"):
                r = await http.post(f"/traders/{theirs}/{action}", headers={"X-CSRF-Token": csrf})
                assert r.status_code == 404 and "Not found" in r.text, (action, r.text)
            home = (await http.get("/")).text
            assert "Not yours" not in home and f'data-account-id="{theirs}"' not in home
        assert (await st.api.get(f"/api/account/{theirs}")).json()["status"] == "Paused"
