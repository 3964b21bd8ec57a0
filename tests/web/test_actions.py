"""The row's buttons call what the REST routes call and answer the row as it now is, with what
happened: a refused action says why (the API's message and code) and changes nothing; a
trigger says how the decision ended."""

from __future__ import annotations

from temporalio.client import Client

from tests import programs
from tests.support.stack import full_stack, make_settings
from tests.web.support import browser, sign_in


async def test_buttons_answer_the_new_row_and_why_when_refused(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    settings = make_settings(temporal_address, sqlite_url)
    async with full_stack(temporal_client, settings) as st, browser(st) as http:
        tid = (await st.create_trader(name="Buttons"))["account_id"]
        csrf = await sign_in(http)
        act = {"headers": {"X-CSRF-Token": csrf, "HX-Request": "true"}}
        r = await http.post(f"/traders/{tid}/trigger", **act)
        assert r.status_code == 200 and "(TRADER_PAUSED)" in r.text, r.text
        assert 'data-testid="trader-status">Paused<' in r.text
        r = await http.post(f"/traders/{tid}/start", **act)
        assert 'data-testid="trader-status">Active<' in r.text, r.text
        r = await http.post(f"/traders/{tid}/trigger", **act)
        assert "(NO_STRATEGY_BOUND)" in r.text, r.text
        await st.bind(tid, (await st.create_program(programs.ALWAYS_LONG))["id"])
        r = await http.post(f"/traders/{tid}/trigger", **act)
        assert 'data-testid="trader-message">Decision executed.<' in r.text, r.text
        assert 'data-testid="trader-open-positions">1<' in r.text
        r = await http.post(f"/traders/{tid}/pause", **act)
        assert 'data-testid="trader-status">Paused<' in r.text
        assert (
            'data-testid="trader-resume"' in r.text and 'data-testid="trader-trigger"' not in r.text
        )
        assert (await st.api.get(f"/api/account/{tid}")).json()["status"] == "Paused"
