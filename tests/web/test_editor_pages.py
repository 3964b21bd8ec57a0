"""The prompt, program and signal editors and the settings page: they answer signed in and
send you to the login page signed out; another user's prompt, program, signal or pool is the
404 page; an editor's change without the session's CSRF token is a 403 and changes nothing; a
planted LLM or exchange key appears nowhere."""

from __future__ import annotations

import json

from temporalio.client import Client

from api.routes.exchange import CREDENTIALS_FIELD
from db.models import Account
from tests import programs
from tests.support.stack import full_stack, make_settings
from tests.web.support import browser, parse, sign_in
from vault import hint, seal

LLM_KEY = "sk-planted-llm-key-0123456789abcdef"
EXCHANGE_KEY = "planted-exchange-api-key-0123456789"
EXCHANGE_SECRET = "planted-exchange-secret-9876543210"
PAGES = ("/prompts", "/programs", "/signals", "/settings")
SIGNAL = {"name": "RSI low", "indicator": "rsi", "period": 14, "operator": "<", "threshold": 30,
          "timeframe": "5m"}  # fmt: skip


async def test_editor_pages_answer_signed_in_and_redirect_signed_out(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    settings = make_settings(temporal_address, sqlite_url)
    async with full_stack(temporal_client, settings, worker=False) as st, browser(st) as http:
        for url in PAGES:
            r = await http.get(url)
            assert r.status_code == 303 and r.headers["location"] == "/login", url
        await sign_in(http)
        for url in PAGES:
            r = await http.get(url)
            assert r.status_code == 200, (url, r.text)
            assert "Content-Security-Policy" in r.headers
            found = parse(r.text)
            assert found.handlers == [] and found.styles == [], url  # strict CSP holds
            assert all(s["src"] and not s["body"] for s in found.scripts), url
        settings_page = (await http.get("/settings")).text
        for tid in ("settings-theme", "settings-time", "settings-money-places", "settings-about"):
            assert f'data-testid="{tid}"' in settings_page


async def test_another_users_prompt_program_signal_and_pool_are_404_pages(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    settings = make_settings(temporal_address, sqlite_url)
    async with full_stack(temporal_client, settings, worker=False) as st:
        prompt = (await st.api.post("/api/prompts/", json={"name": "Mine", "content": "x"})).json()
        body = {"name": "Mine", "code": programs.HOLD}
        program = (await st.api.post("/api/programs/", json=body)).json()
        signal = (await st.api.post("/api/signals/definitions", json=SIGNAL)).json()
        body = {"name": "Pool", "symbols": ["BTC"], "signal_ids": [signal["id"]], "enabled": False}
        pool = (await st.api.post("/api/signals/pools", json=body)).json()
        async with st.user_client("other@example.com"), browser(st) as http:
            csrf = await sign_in(http, "other@example.com", "other-password-1")
            head = {"X-CSRF-Token": csrf}
            for url in (
                f"/prompts/{prompt['id']}",
                f"/programs/{program['id']}",
                f"/signals/definitions/{signal['id']}",
                f"/signals/pools/{pool['id']}",
                "/prompts/999999",
            ):
                r = await http.get(url)
                assert r.status_code == 404 and "Not found" in r.text, url
            for url in (
                f"/prompts/{prompt['id']}/delete",
                f"/prompts/{prompt['id']}",
                f"/programs/{program['id']}/delete",
                f"/signals/definitions/{signal['id']}/delete",
                f"/signals/pools/{pool['id']}/delete",
                f"/signals/pools/{pool['id']}/evaluate",
            ):
                r = await http.post(url, headers=head, data={"name": "Taken", "content": "y"})
                assert r.status_code == 404 and "Not found" in r.text, url
            for page in ("/prompts", "/programs", "/signals"):
                assert "Mine" not in (await http.get(page)).text
        assert (await st.api.get(f"/api/prompts/{prompt['id']}")).json()["content"] == "x"
        assert (await st.api.get(f"/api/programs/{program['id']}")).status_code == 200
        assert (await st.api.get(f"/api/signals/pools/{pool['id']}")).status_code == 200


async def test_editor_changes_without_the_csrf_token_are_refused(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    settings = make_settings(temporal_address, sqlite_url)
    async with full_stack(temporal_client, settings, worker=False) as st, browser(st) as http:
        prompt = (await st.api.post("/api/prompts/", json={"name": "Kept", "content": "x"})).json()
        csrf = await sign_in(http)
        other = await sign_in(st.anonymous())
        pid = prompt["id"]
        for token in ({}, {"csrf_token": "forged"}, {"csrf_token": other}):
            for url, form in (
                ("/prompts", {"name": "New", "content": "y"}),
                (f"/prompts/{pid}", {"name": "Changed", "content": "y"}),
                (f"/prompts/{pid}/delete", {}),
                (f"/prompts/{pid}/copy", {}),
                ("/programs", {"name": "P", "code": programs.HOLD}),
                ("/programs/validate", {"code": programs.HOLD}),
                ("/signals/definitions", {"name": "S", "spec": "{}"}),
                ("/signals/pools", {"name": "P", "symbols": "BTC"}),
            ):
                r = await http.post(url, data={**form, **token})
                assert r.status_code == 403, (url, token, r.text)
        assert [p["name"] for p in (await st.api.get("/api/prompts/")).json()] == ["Kept"]
        assert (await st.api.get("/api/programs/")).json() == []
        assert (await st.api.get("/api/signals/")).json() == {"definitions": [], "pools": []}
        flood = [("csrf_token", csrf), *((f"f{i}", "x") for i in range(300))]
        r = await http.post("/prompts", data=dict(flood))  # more fields than a form has
        assert r.status_code == 403
        r = await http.post("/prompts", data={"name": "New", "content": "y", "csrf_token": csrf})
        assert r.status_code == 303


async def test_planted_llm_and_exchange_keys_appear_in_no_editor_page_or_result(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    """...neither on the pages nor in a preview or test run for those traders (whose errors,
    from a venue that cannot be reached, are shown)."""
    settings = make_settings(temporal_address, sqlite_url)
    async with full_stack(temporal_client, settings, worker=False) as st, browser(st) as http:
        prompt = await st.create_trader(
            name="Prompted", account_type="prompt", llm_provider="openai", llm_model="gpt-test",
            llm_api_key=LLM_KEY,
        )  # fmt: skip
        r = await st.post("/api/account/", {"name": "Venue", "account_type": "program",
                                            "exchange": "binance"})  # fmt: skip
        venue = r.json()["account_id"]
        async with st.app.state.sessions() as s:  # planted as PUT .../exchange stores them
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
        csrf = await sign_in(http)
        shown = [(await http.get(url)).text for url in PAGES]
        for tid in (prompt["account_id"], venue):
            form = {"account_id": str(tid), "content": "{account_balance}", "code": programs.HOLD}
            for url in ("/prompts/preview", "/programs/test-run"):
                r = await http.post(url, data=form, headers={"X-CSRF-Token": csrf})
                assert r.status_code == 200, (url, r.text)
                shown.append(r.text)
        assert any("Venue" in page for page in shown)  # the traders are offered
        assert any("(EXCHANGE_NETWORK)" in page for page in shown)  # the venue's error, shown
        for page in shown:
            for secret in (LLM_KEY, EXCHANGE_KEY, EXCHANGE_SECRET):
                assert secret not in page and secret[:-4] not in page
