"""The trader form creates and edits traders through the REST routes' own functions: what it
saves is what GET /api/account/{id} then answers; a key typed into it is write-only (the edit
page shows "set, ending abcd", never the key, even after a rejected post); validation errors
sit next to their fields; a post without the CSRF token changes nothing; another user's trader
is the 404 page."""

from __future__ import annotations

import json
import re

from temporalio.client import Client

from api.routes.exchange import CREDENTIALS_FIELD
from db.models import Account
from tests.support.stack import full_stack, make_settings
from tests.web.support import browser, parse, sign_in
from vault import hint, seal

LLM_KEY = "sk-typed-into-the-form-0123456789wxyz"
EXCHANGE_KEY = "planted-exchange-api-key-0123456789"
EXCHANGE_SECRET = "planted-exchange-secret-9876543210"
BREAKOUT = '"><img src=x onerror=alert(1)>'
HOLD = """
class Strategy:
    def should_trade(self, data):
        return Decision(operation="hold", reasoning="wait")
"""


def _form(csrf: str, **fields: str) -> dict[str, str]:
    base = {"csrf_token": csrf, "name": "Formed", "account_type": "program", "exchange": "paper",
            "symbols": "BTC, eth", "initial_capital": "2500", "max_leverage": "3",
            "max_position_notional_usd": "500", "max_concurrent_positions": "2"}  # fmt: skip
    return {**base, **fields}


def _new_id(location: str) -> int:
    match = re.fullmatch(r"/traders/(\d+)/edit\?saved=created", location)
    assert match, location
    return int(match.group(1))


async def test_a_prompt_trader_created_by_the_form_keeps_its_key_write_only(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    settings = make_settings(temporal_address, sqlite_url)
    async with full_stack(temporal_client, settings, worker=False) as st, browser(st) as http:
        assert (await http.get("/traders/new")).status_code == 303  # signed out
        csrf = await sign_in(http)
        page = await http.get("/traders/new")
        for testid in ("trader-name", "trader-account-type", "trader-exchange", "trader-symbols",
                       "trader-save"):  # fmt: skip
            assert f'data-testid="{testid}"' in page.text, testid
        assert 'data-testid="new-trader"' in (await http.get("/")).text
        found = parse(page.text)  # CSP-clean: scripts from files only, no inline handler or style
        assert all(s["src"] for s in found.scripts) and not found.handlers and not found.styles
        form = _form(csrf, account_type="prompt", llm_provider="openai", llm_model="gpt-form",
                     llm_api_key=LLM_KEY, daily_loss_limit_pct="5")  # fmt: skip
        r = await http.post("/traders/new", data=form)
        assert r.status_code == 303, r.text
        tid = _new_id(r.headers["location"])
        edit = await http.get(r.headers["location"])
        assert edit.status_code == 200
        assert LLM_KEY not in edit.text and LLM_KEY[:-4] not in edit.text
        assert "set, ending wxyz" in edit.text
        assert re.search(r'name="llm_api_key"[^>]*value=', edit.text) is None
        rest = (await st.api.get(f"/api/account/{tid}")).json()
        assert rest["name"] == "Formed" and rest["symbols"] == ["BTC", "ETH"]
        assert (rest["initial_capital"], rest["max_leverage"]) == ("2500", "3")
        assert rest["llm_model"] == "gpt-form" and rest["llm_api_key_set"] is True
        assert rest["daily_loss_limit_pct"] == "5" and rest["exchange"] == "paper"
        # Clear the key, rename: only what changed is sent.
        r = await http.post(f"/traders/{tid}/edit", data=_form(
            csrf, name="Renamed", account_type="prompt", llm_provider="openai",
            llm_model="gpt-form", llm_api_key_clear="on", daily_loss_limit_pct="5"))  # fmt: skip
        assert r.status_code == 303, r.text
        rest = (await st.api.get(f"/api/account/{tid}")).json()
        assert rest["name"] == "Renamed" and rest["llm_api_key_set"] is False


async def test_errors_sit_next_to_their_fields_and_no_typed_key_comes_back(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    settings = make_settings(temporal_address, sqlite_url)
    async with full_stack(temporal_client, settings, worker=False) as st, browser(st) as http:
        csrf = await sign_in(http)
        bad = _form(csrf, account_type="prompt", max_leverage="500", llm_api_key=LLM_KEY,
                    name='"><img src=x onerror=alert(1)>')  # fmt: skip
        r = await http.post("/traders/new", data=bad)
        assert r.status_code == 422
        assert 'data-testid="error-max_leverage"' in r.text and 'aria-invalid="true"' in r.text
        assert LLM_KEY not in r.text and "<img" not in r.text  # the typed name: escaped
        r = await http.post("/traders/new", data=_form(csrf, symbols="NOPE123"))
        assert r.status_code == 422 and 'data-testid="error-symbols"' in r.text, r.text
        assert "SYMBOL_NOT_SUPPORTED" in r.text
        r = await http.post("/traders/new", data=_form(csrf, name=""))
        assert r.status_code == 422 and 'data-testid="error-name"' in r.text
        assert (await st.api.get("/api/account/list")).json() == []  # nothing half-made


async def test_a_program_is_bound_through_the_form_and_the_trader_is_listed(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    settings = make_settings(temporal_address, sqlite_url)
    async with full_stack(temporal_client, settings, worker=False) as st, browser(st) as http:
        prog = await st.create_program(HOLD, name="holder")
        csrf = await sign_in(http)
        r = await http.post("/traders/new", data=_form(
            csrf, program_id=str(prog["id"]), schedule_interval_seconds="3600"))  # fmt: skip
        assert r.status_code == 303, r.text
        tid = _new_id(r.headers["location"])
        bound = (await st.api.get(f"/api/account/{tid}/bindings")).json()
        assert [(b["program_id"], b["schedule_interval_seconds"]) for b in bound] == [
            (prog["id"], 3600)
        ]
        edit = (await http.get(f"/traders/{tid}/edit")).text
        assert 'data-testid="trader-binding"' in edit and "holder" in edit
        home = (await http.get("/")).text
        assert f'data-account-id="{tid}"' in home and "holder" in home
        bid = bound[0]["id"]
        r = await http.post(f"/traders/{tid}/bindings/{bid}/delete", data={"csrf_token": "x"})
        assert r.status_code == 403  # a forged token removes nothing
        r = await http.post(f"/traders/{tid}/bindings/{bid}/delete", data={"csrf_token": csrf})
        assert r.status_code == 303 and r.headers["location"].endswith("saved=unbound")
        assert (await st.api.get(f"/api/account/{tid}/bindings")).json() == []


async def test_without_the_csrf_token_nothing_is_saved(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    settings = make_settings(temporal_address, sqlite_url)
    async with full_stack(temporal_client, settings, worker=False) as st, browser(st) as http:
        tid = (await st.create_trader(name="Kept"))["account_id"]
        csrf = await sign_in(http)
        for token in ("", "forged"):
            assert (await http.post("/traders/new", data=_form(token))).status_code == 403
            r = await http.post(f"/traders/{tid}/edit", data=_form(token, name="Changed"))
            assert r.status_code == 403
        names = [a["name"] for a in (await st.api.get("/api/account/list")).json()]
        assert names == ["Kept"]
        assert (await http.post(f"/traders/{tid}/edit", data=_form(csrf))).status_code == 303


async def test_another_users_trader_form_is_a_404_page(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    settings = make_settings(temporal_address, sqlite_url)
    async with full_stack(temporal_client, settings, worker=False) as st:
        theirs = (await st.create_trader(name="Not yours"))["account_id"]
        async with st.user_client("other@example.com", "other-password-1"):
            pass
        async with browser(st) as http:
            csrf = await sign_in(http, "other@example.com", "other-password-1")
            for url in (f"/traders/{theirs}/edit", "/traders/999999/edit"):
                r = await http.get(url)
                assert r.status_code == 404 and "Not yours" not in r.text, url
            r = await http.post(f"/traders/{theirs}/edit", data=_form(csrf, name="Taken"))
            assert r.status_code == 404
        assert (await st.api.get(f"/api/account/{theirs}")).json()["name"] == "Not yours"


async def test_planted_exchange_keys_and_a_script_name_stay_out_of_the_edit_form(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    """A Binance trader's stored keys show as "set, ending ..." only; its name, a script and an
    attribute breakout, renders as text inside the name field."""
    settings = make_settings(temporal_address, sqlite_url)
    async with full_stack(temporal_client, settings, worker=False) as st:
        r = await st.post("/api/account/", {"name": BREAKOUT, "account_type": "program",
                                            "exchange": "binance"})  # fmt: skip
        assert r.status_code == 201, r.text
        tid = r.json()["account_id"]
        async with st.app.state.sessions() as s:  # as PUT .../exchange stores them
            acct = await s.get(Account, tid)
            assert acct is not None
            creds = {"api_key": EXCHANGE_KEY, "api_secret": EXCHANGE_SECRET}
            acct.exchange_credentials_sealed = seal(
                st.app.state.vault, json.dumps(creds), tid, CREDENTIALS_FIELD
            ).to_json()
            acct.exchange_key_hint = hint(EXCHANGE_KEY)
            acct.exchange_environment = "testnet"
            await s.commit()
        async with browser(st) as http:
            await sign_in(http)
            html = (await http.get(f"/traders/{tid}/edit")).text
        for secret in (EXCHANGE_KEY, EXCHANGE_SECRET):
            assert secret not in html and secret[:-4] not in html
        assert 'data-testid="exchange-key-hint">set, ending 6789<' in html
        assert BREAKOUT not in html and "<img" not in html
        assert 'value="&#34;&gt;&lt;img src=x onerror=alert(1)&gt;"' in html
