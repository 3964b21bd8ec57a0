"""Text from users and strategies is shown as text: a trader named like a script tag and a
decision whose reasoning tries to break out of an attribute render escaped on every page that
shows them; and no planted LLM or exchange key appears in any page."""

from __future__ import annotations

import json

from temporalio.client import Client

from api.routes.exchange import CREDENTIALS_FIELD
from db.models import Account
from tests.support.stack import Stack, full_stack, make_settings
from tests.web.support import browser, parse, sign_in
from vault import hint, seal

SCRIPT = "<script>alert(1)</script>"
BREAKOUT = '"><img src=x onerror=alert(1)>'
SAYS_BOTH = f"""
class Strategy:
    def should_trade(self, data):
        return Decision(operation="hold", reasoning={SCRIPT + " " + BREAKOUT!r})
"""
LLM_KEY = "sk-planted-llm-key-0123456789abcdef"
EXCHANGE_KEY = "planted-exchange-api-key-0123456789"
EXCHANGE_SECRET = "planted-exchange-secret-9876543210"


async def _pages(st: Stack, ids: list[int]) -> list[str]:
    async with browser(st) as http:
        await sign_in(http)
        urls = ["/", "/system", "/traders/rows", *(f"/traders/{i}/row" for i in ids)]
        out = []
        for url in urls:
            r = await http.get(url)
            assert r.status_code == 200, (url, r.text)
            out.append(r.text)
        return out


async def test_a_script_name_and_reasoning_render_as_text(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    settings = make_settings(temporal_address, sqlite_url)
    async with full_stack(temporal_client, settings) as st:
        tid = (await st.create_trader(name=SCRIPT, trading_enabled=True))["account_id"]
        prog = await st.create_program(SAYS_BOTH)
        await st.bind(tid, prog["id"])
        r = await st.post(f"/api/account/{tid}/trigger")
        assert r.json()["status"] == "hold", r.text
        for html in await _pages(st, [tid]):
            assert SCRIPT not in html and BREAKOUT not in html
            assert "<img" not in html and "onerror=alert" not in html.replace(
                "onerror=alert(1)&gt;", ""
            )
            parsed = parse(html)
            assert all(s["src"] for s in parsed.scripts) and parsed.handlers == []
        home = (await _pages(st, []))[0]
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in home  # the name, as text
        assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in home  # the reasoning, as text


async def test_planted_llm_and_exchange_keys_appear_in_no_page(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    settings = make_settings(temporal_address, sqlite_url)
    async with full_stack(temporal_client, settings, worker=False) as st:
        prompt = await st.create_trader(
            name="Prompted", account_type="prompt", llm_provider="openai", llm_model="gpt-test",
            llm_api_key=LLM_KEY,
        )  # fmt: skip
        r = await st.post("/api/account/", {"name": "Venue", "account_type": "program",
                                            "exchange": "binance"})  # fmt: skip
        assert r.status_code == 201, r.text
        venue = r.json()["account_id"]
        # Planted as PUT .../exchange stores them (that route would first ask the venue).
        async with st.app.state.sessions() as s:
            acct = await s.get(Account, venue)
            assert acct is not None
            creds = {"api_key": EXCHANGE_KEY, "api_secret": EXCHANGE_SECRET}
            acct.exchange_credentials_sealed = seal(
                st.app.state.vault, json.dumps(creds), venue, CREDENTIALS_FIELD
            ).to_json()
            acct.exchange_key_hint = hint(EXCHANGE_KEY)
            acct.exchange_environment = "testnet"
            acct.exchange_base_url = "http://127.0.0.1:9"  # refused at once: no venue here
            await s.commit()
        pages = await _pages(st, [prompt["account_id"], venue])
        for html in pages:
            for secret in (LLM_KEY, EXCHANGE_KEY, EXCHANGE_SECRET):
                assert secret not in html and secret[:-4] not in html
        assert "gpt-test" in pages[0] and "testnet" in pages[0]
