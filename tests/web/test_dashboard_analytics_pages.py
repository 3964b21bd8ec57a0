"""The dashboard and the analytics page: they answer signed in and redirect signed out, their
numbers are the REST routes' answers (leaderboard: `/overview` and `/api/analytics/by-account`;
the curves: `/api/account/asset-curve`; analytics: `/api/analytics/summary` and the by-* and
extras routes), a filter naming another user's trader is the 404 page, and a trader's name or a
decision's reasoning made of markup renders as text, with no planted key anywhere.

Why: the peers' most reported fault is a dashboard that disagrees with the ledger."""

from __future__ import annotations

import re

import pytest
from temporalio.client import Client

from adapters.market.snapshot import now_ms
from tests import programs
from tests.support.stack import Stack, full_stack, make_settings
from tests.web.support import browser, parse, sign_in

SCRIPT = "<script>alert(1)</script>"
BREAKOUT = '"><img src=x onerror=alert(1)>'
SAYS_BOTH = f"""
class Strategy:
    def should_trade(self, data):
        return Decision(operation="hold", reasoning={SCRIPT + " " + BREAKOUT!r})
"""
LLM_KEY = "sk-planted-llm-key-0123456789abcdef"
PAGES = [
    "/dashboard",
    "/dashboard/leaderboard",
    "/dashboard/feed?tab=trades",
    "/dashboard/feed?tab=chat",
    "/dashboard/feed?tab=positions",
    "/dashboard/curves.json?timeframe=5m",
    "/analytics",
    "/analytics?days=7&source=paper&period=week",
]


async def _round_trip(st: Stack) -> int:
    """A paper trader that opened and closed a BTC position (one round trip, fees paid)."""
    tid = (await st.create_trader(name="Ledger", initial_capital="10000",
                                  trading_enabled=True))["account_id"]  # fmt: skip
    long = await st.bind(tid, (await st.create_program(programs.ALWAYS_LONG))["id"])
    assert (await st.post(f"/api/account/{tid}/trigger")).json()["status"] == "executed"
    await st.api.delete(f"/api/account/{tid}/bindings/{long['id']}")
    await st.bind(tid, (await st.create_program(programs.CLOSE_BTC))["id"])
    r = await st.post(f"/api/account/{tid}/trigger")
    assert r.json()["status"] == "executed", r.text
    return tid


def _cell(html: str, testid: str, account_id: int) -> str:
    row = re.search(rf'data-testid="leaderboard-row" data-account-id="{account_id}">(.*?)</tr>',
                    html, re.S)  # fmt: skip
    assert row, html
    m = re.search(rf'data-testid="{testid}"(?: data-value="([^"]*)")?[^>]*>([^<]*)<', row.group(1))
    assert m, testid
    return m.group(1) if m.group(1) is not None else m.group(2).strip()


async def test_pages_answer_and_numbers_equal_the_rest_answers(
    temporal_client: Client,
    temporal_address: str,
    sqlite_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = make_settings(temporal_address, sqlite_url)
    async with full_stack(temporal_client, settings) as st:
        tid = await _round_trip(st)
        frozen = now_ms()
        monkeypatch.setattr("api.trader_state.now_ms", lambda: frozen)
        ov = (await st.api.get(f"/api/account/{tid}/overview")).json()
        line = (await st.api.get("/api/analytics/by-account")).json()[0]
        summary = (await st.api.get("/api/analytics/summary")).json()
        async with browser(st) as anon:
            for url in PAGES:
                r = await anon.get(url)
                assert r.status_code == 303 and r.headers["location"] == "/login", url
        async with browser(st) as http:
            await sign_in(http)
            for url in PAGES:
                assert (await http.get(url)).status_code == 200, url
            board = (await http.get("/dashboard/leaderboard")).text
            assert _cell(board, "leaderboard-equity", tid) == ov["equity"]
            assert _cell(board, "leaderboard-pnl", tid) == ov["total_pnl"]
            assert _cell(board, "leaderboard-win-rate", tid) == line["win_rate"]
            assert _cell(board, "leaderboard-trades", tid) == str(line["trades"]) == "1"
            assert _cell(board, "leaderboard-fees", tid) == line["total_fees"] != "0"
            page = (await http.get("/analytics")).text
            for key in ("total_pnl", "total_trades", "win_rate", "total_fees", "max_drawdown_pct"):
                m = re.search(rf'data-testid="analytics-{key}" data-value="([^"]*)"', page)
                want = summary[key]
                assert m and m.group(1) == ("" if want is None else str(want)), key
            assert 'data-testid="analytics-summary"' in page
            assert 'data-testid="analytics-by-symbol"' in page
            trades = (await http.get("/dashboard/feed?tab=trades")).text
            assert trades.count('data-testid="feed-item"') == 2  # the open and the close fill
            curves = (await http.get("/dashboard/curves.json?timeframe=1h")).json()
            rest = (await st.api.get("/api/account/asset-curve?timeframe=1h")).json()
            assert [t["account_id"] for t in curves["traders"]] == [tid]
            stored = [p for p in rest["traders"][0]["points"][:-1]]  # the last: equity now
            assert curves["traders"][0]["points"][:-1] == stored


async def test_another_users_trader_in_a_filter_is_a_404_page(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    settings = make_settings(temporal_address, sqlite_url)
    async with full_stack(temporal_client, settings, worker=False) as st:
        theirs = (await st.create_trader(name="Not yours"))["account_id"]
        async with st.user_client("other@example.com", "other-password-1"):
            pass
        async with browser(st) as http:
            await sign_in(http, "other@example.com", "other-password-1")
            for url in (f"/dashboard/feed?tab=chat&account_id={theirs}",
                        f"/analytics?account_id={theirs}"):  # fmt: skip
                r = await http.get(url)
                assert r.status_code == 404 and "Not found" in r.text, url
            for url in ("/dashboard", "/dashboard/leaderboard", "/dashboard/curves.json"):
                assert "Not yours" not in (await http.get(url)).text, url


async def test_markup_renders_as_text_and_no_key_appears(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    settings = make_settings(temporal_address, sqlite_url)
    async with full_stack(temporal_client, settings) as st:
        tid = (await st.create_trader(name=SCRIPT, trading_enabled=True))["account_id"]
        await st.bind(tid, (await st.create_program(SAYS_BOTH))["id"])
        assert (await st.post(f"/api/account/{tid}/trigger")).json()["status"] == "hold"
        await st.create_trader(name=BREAKOUT, account_type="prompt", llm_provider="openai",
                               llm_model="gpt-test", llm_api_key=LLM_KEY)  # fmt: skip
        async with browser(st) as http:
            await sign_in(http)
            for url in PAGES:
                r = await http.get(url)
                html = r.text
                assert LLM_KEY not in html and LLM_KEY[:-4] not in html, url
                if ".json" in url:  # data for the charts' modules, drawn with textContent
                    assert r.headers["content-type"] == "application/json", url
                    continue
                assert SCRIPT not in html and BREAKOUT not in html, url
                parsed = parse(html)
                assert all(s["src"] for s in parsed.scripts) and parsed.handlers == [], url
                assert parsed.styles == [], url
            chat = (await http.get("/dashboard/feed?tab=chat")).text
            assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in chat
            assert "&lt;script&gt;alert(1)&lt;/script&gt;" in chat
