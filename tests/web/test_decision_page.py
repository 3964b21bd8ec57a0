"""The decision page: a program's decision that opened a paper position shows its trigger,
timeline, program output, reasoning (escaped), verdict rule by rule and its orders with their
fills, the same as GET /api/account/{id}/decisions/{decision_id}; signed out it sends you to
the login page, and another user's decision is the 404 page."""

from __future__ import annotations

from html import unescape

from temporalio.client import Client

from tests.support.stack import full_stack, make_settings
from tests.web.support import browser, parse, sign_in

LLM_KEY = "sk-planted-llm-key-0123456789abcdef"
SCRIPT = "<script>alert(1)</script>"
BREAKOUT = '"><img src=x onerror=alert(1)>'
LONG = f"""
class Strategy:
    def should_trade(self, data):
        return Decision(operation="long", symbol="BTC", size_usd=100, leverage=2,
                        reasoning={SCRIPT + " " + BREAKOUT!r})
"""
RAISES = f"""
class Strategy:
    def should_trade(self, data):
        print("printed before")
        raise ValueError({SCRIPT!r})
"""
TOO_BIG = """
class Strategy:
    def should_trade(self, data):
        return Decision(operation="long", symbol="BTC", size_usd=100, leverage=50, reasoning="big")
"""


async def test_an_executed_decision_shows_everything_recorded(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    settings = make_settings(temporal_address, sqlite_url)
    async with full_stack(temporal_client, settings) as st:
        tid = (await st.create_trader(name="Decider", trading_enabled=True))["account_id"]
        await st.bind(tid, (await st.create_program(LONG))["id"])
        r = await st.post(f"/api/account/{tid}/trigger")
        assert r.json()["status"] == "executed", r.text
        did = r.json()["decision_id"]
        rest = (await st.api.get(f"/api/account/{tid}/decisions/{did}")).json()
        trades = (await st.api.get(f"/api/account/{tid}/trades")).json()["items"]
        async with browser(st) as http:
            assert (await http.get(f"/decisions/{did}")).status_code == 303  # signed out
            await sign_in(http)
            page = await http.get(f"/decisions/{did}")
        assert page.status_code == 200, page.text
        html = page.text
        for testid in ("decision-reasoning", "decision-prompt", "decision-program-output",
                       "decision-verdict", "decision-orders", "decision-timeline"):  # fmt: skip
            assert f'data-testid="{testid}"' in html, testid
        assert SCRIPT not in html and BREAKOUT not in html and "<img" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        parsed = parse(html)
        assert all(s["src"] for s in parsed.scripts) and not parsed.handlers and not parsed.styles
        assert rest["orders"] and all(o["client_order_id"] in html for o in rest["orders"])
        assert trades and all(t["trade_id"] in html for t in trades)  # the entry's fill
        assert html.count('data-testid="verdict-rule"') == 9  # every rule of an open, passed
        assert "approved" in html and "denied" not in html.split('data-testid="decision-orders"')[0]


async def test_a_denied_decision_names_its_rule_and_links_its_neighbours(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    settings = make_settings(temporal_address, sqlite_url)
    async with full_stack(temporal_client, settings) as st:
        tid = (await st.create_trader(name="Greedy", trading_enabled=True))["account_id"]
        await st.bind(tid, (await st.create_program(TOO_BIG))["id"])
        first = (await st.post(f"/api/account/{tid}/trigger")).json()
        second = (await st.post(f"/api/account/{tid}/trigger")).json()
        assert first["status"] == second["status"] == "denied", first
        async with browser(st) as http:
            await sign_in(http)
            html = (await http.get(f"/decisions/{first['decision_id']}")).text
        assert 'data-code="LEVERAGE_EXCEEDS_MAX"' in html
        assert "denied: leverage 50 exceeds max 5" in html
        assert html.count(">not checked<") == 4  # the rules after the denying one
        assert f'href="/decisions/{second["decision_id"]}"' in html  # next
        assert 'data-testid="decision-prev"' not in html  # the first has none before it


async def test_another_users_decision_is_a_404_page(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    settings = make_settings(temporal_address, sqlite_url)
    async with full_stack(temporal_client, settings) as st:
        tid = (await st.create_trader(name="Not yours", trading_enabled=True))["account_id"]
        await st.bind(tid, (await st.create_program(TOO_BIG))["id"])
        did = (await st.post(f"/api/account/{tid}/trigger")).json()["decision_id"]
        async with st.user_client("other@example.com", "other-password-1"):
            pass
        async with browser(st) as http:
            await sign_in(http, "other@example.com", "other-password-1")
            for url in (
                f"/decisions/{did}",
                "/decisions/no-such-decision",
                "/decisions/" + "x" * 90,
            ):
                r = await http.get(url)
                assert r.status_code == 404 and "Not found" in r.text, (url, r.text)
                assert "Not yours" not in r.text


async def test_a_prompt_decision_shows_the_exact_prompt_and_raw_answer_and_no_key(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    """On the offline stand-in model: the system and user text and the raw answer are the ones
    recorded (character for character once unescaped); the trader's key is on no page."""
    settings = make_settings(temporal_address, sqlite_url)
    async with full_stack(temporal_client, settings) as st:
        t = await st.create_trader(name="Asker", account_type="prompt", llm_provider="offline",
                                   llm_model="offline", llm_api_key=LLM_KEY,
                                   trading_enabled=True)  # fmt: skip
        tid = t["account_id"]
        prompt = (
            await st.post("/api/prompts/", {"name": "p", "content": "Prices: {market_prices}"})
        ).json()
        r = await st.post(f"/api/account/{tid}/bindings", {"prompt_id": prompt["id"]})
        assert r.status_code == 201, r.text
        out = (await st.post(f"/api/account/{tid}/trigger")).json()
        llm = out["record"]["llm_exchange"]
        async with browser(st) as http:
            await sign_in(http)
            html = (await http.get(f"/decisions/{out['decision_id']}")).text
        text = unescape(html)
        assert llm["system"] in text and llm["user"] in text and llm["raw"] in text
        assert (
            'data-testid="decision-raw-answer"' in html and 'data-testid="decision-model"' in html
        )
        assert LLM_KEY not in html and LLM_KEY[:-4] not in html


async def test_a_failed_decision_shows_its_error_code_and_logs_as_text(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    settings = make_settings(temporal_address, sqlite_url)
    async with full_stack(temporal_client, settings) as st:
        tid = (await st.create_trader(name="Crasher", trading_enabled=True))["account_id"]
        await st.bind(tid, (await st.create_program(RAISES))["id"])
        out = (await st.post(f"/api/account/{tid}/trigger")).json()
        assert out["status"] == "failed" and out["error_code"], out
        async with browser(st) as http:
            await sign_in(http)
            html = (await http.get(f"/decisions/{out['decision_id']}")).text
        assert 'data-testid="decision-error"' in html and out["error_code"] in html
        assert 'data-testid="decision-logs"' in html and "printed before" in html
        assert SCRIPT not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        assert "No verdict: the decision never reached the risk gate" in html
