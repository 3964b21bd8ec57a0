"""Text from users and strategies is shown as text on the trader page and its partials: a
trader named like a script tag and a decision whose reasoning tries to break out of an
attribute render escaped; and no planted LLM or exchange key appears in any of them."""

from __future__ import annotations

import json

from temporalio.client import Client

from api.routes.exchange import CREDENTIALS_FIELD
from db.models import Account
from tests.support.stack import Stack, full_stack, make_settings
from tests.web.support import browser, parse, sign_in
from tests.web.test_trader_page import urls
from tests.web.test_untrusted_text import (
    BREAKOUT,
    EXCHANGE_KEY,
    EXCHANGE_SECRET,
    LLM_KEY,
    SAYS_BOTH,
    SCRIPT,
)
from vault import hint, seal


async def _bodies(st: Stack, tid: int) -> list[str]:
    async with browser(st) as http:
        await sign_in(http)
        out = []
        for url in urls(tid):
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
        await st.bind(tid, (await st.create_program(SAYS_BOTH))["id"])
        assert (await st.post(f"/api/account/{tid}/trigger")).json()["status"] == "hold"
        bodies = await _bodies(st, tid)
        for body in bodies:
            assert SCRIPT not in body and BREAKOUT not in body
            assert "<img" not in body
        page, decisions = bodies[0], bodies[5]
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # the name, as text
        for html in (page, decisions):
            assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in html  # the reasoning
            parsed = parse(html)
            assert all(s["src"] for s in parsed.scripts) and parsed.handlers == []


async def test_planted_llm_and_exchange_keys_appear_in_no_page(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    settings = make_settings(temporal_address, sqlite_url)
    async with full_stack(temporal_client, settings, worker=False) as st:
        prompt = (await st.create_trader(
            name="Prompted", account_type="prompt", llm_provider="openai", llm_model="gpt-test",
            llm_api_key=LLM_KEY,
        ))["account_id"]  # fmt: skip
        r = await st.post("/api/account/", {"name": "Venue", "account_type": "program",
                                            "exchange": "binance"})  # fmt: skip
        venue = r.json()["account_id"]
        async with st.app.state.sessions() as s:  # as PUT .../exchange stores them
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
        bodies = await _bodies(st, prompt) + await _bodies(st, venue)
        for body in bodies:
            for secret in (LLM_KEY, EXCHANGE_KEY, EXCHANGE_SECRET):
                assert secret not in body and secret[:-4] not in body
        assert "gpt-test" in bodies[0]
        assert "did not answer" in bodies[len(urls(venue))]  # the venue's panels say so
