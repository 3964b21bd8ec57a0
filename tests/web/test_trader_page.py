"""The trader page (`/traders/{id}`) and its partials, chart data and CSV export: they answer a
signed-in owner, send anyone else to the login page, and are the 404 page for another user's
trader (its actions change nothing)."""

from __future__ import annotations

from temporalio.client import Client

from tests import programs
from tests.support.stack import full_stack, make_settings
from tests.web.support import browser, parse, sign_in

PANELS = ("kpis", "positions", "orders", "trades", "decisions", "reconciliation")


def urls(tid: int) -> list[str]:
    return [
        f"/traders/{tid}",
        *(f"/traders/{tid}/panel/{p}" for p in PANELS),
        f"/traders/{tid}/panel/decisions?status=hold&page=2",
        f"/traders/{tid}/chart.json?symbol=BTC",
        f"/traders/{tid}/equity.json",
        f"/traders/{tid}/export/fills.csv",
    ]


async def test_the_page_answers_its_owner_only(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    settings = make_settings(temporal_address, sqlite_url)
    async with full_stack(temporal_client, settings, worker=False) as st:
        tid = (await st.create_trader(name="Paged", symbols=["BTC", "ETH"]))["account_id"]
        await st.bind(tid, (await st.create_program(programs.HOLD))["id"])
        async with browser(st) as anon:
            for url in urls(tid):
                r = await anon.get(url)
                assert r.status_code == 303 and r.headers["location"] == "/login", (url, r.text)
        async with browser(st) as http:
            await sign_in(http)
            for url in urls(tid):
                r = await http.get(url)
                assert r.status_code == 200, (url, r.text)
            page = (await http.get(f"/traders/{tid}")).text
            for testid in ("trader-start", "decision-feed", "equity-chart", "positions-table"):
                assert f'data-testid="{testid}"' in page, testid
            assert page.count('data-testid="candle-chart"') == 2  # one per symbol
            assert all(s["src"] for s in parse(page).scripts) and parse(page).styles == []
            home = (await http.get("/")).text
            assert f'href="/traders/{tid}"' in home  # the row links to its page
            assert (await http.get("/traders/999999")).status_code == 404
            r = await http.get(f"/traders/{tid}/chart.json?symbol=DOGE")
            assert r.status_code == 404  # not a symbol of this trader
        async with st.user_client("other@example.com") as other:
            assert (await other.get(f"/api/account/{tid}")).status_code == 404
        async with browser(st) as http:
            csrf = await sign_in(http, "other@example.com", "other-password-1")
            for url in urls(tid):
                r = await http.get(url)
                assert r.status_code == 404, (url, r.status_code)
                if not url.endswith(".json"):
                    assert "Not found" in r.text and "Paged" not in r.text, url
            head = {"X-CSRF-Token": csrf}
            actions = ("positions/BTC/close", "positions/close-all", f"orders/{tid}-abc/cancel")
            for url in (f"/traders/{tid}/{a}" for a in actions):
                r = await http.post(url, headers=head)
                assert r.status_code == 404 and "Not found" in r.text, (url, r.text)
