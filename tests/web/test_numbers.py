"""The traders screen shows the numbers `/api/account/{id}/overview` answers (the peers' most
reported fault is a UI that disagrees with the ledger): equity, total PnL and open positions
as the same decimal strings, and on screen at 2 decimals. Marks are frozen for both reads, so
the comparison is exact."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from temporalio.client import Client

from adapters.market.snapshot import now_ms
from tests import programs
from tests.support.stack import full_stack, make_settings
from tests.web.support import browser, sign_in


def _cell(html: str, testid: str) -> tuple[str, str]:
    m = re.search(rf'data-testid="{testid}"(?: data-value="([^"]*)")?[^>]*>([^<]*)<', html)
    assert m, (testid, html)
    return m.group(1) or "", m.group(2).strip()


async def test_row_numbers_equal_the_overview(
    temporal_client: Client,
    temporal_address: str,
    sqlite_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = make_settings(temporal_address, sqlite_url)
    async with full_stack(temporal_client, settings) as st:
        tid = (await st.create_trader(name="Ledger", initial_capital="10000",
                                      trading_enabled=True))["account_id"]  # fmt: skip
        await st.bind(tid, (await st.create_program(programs.ALWAYS_LONG))["id"])
        assert (await st.post(f"/api/account/{tid}/trigger")).json()["status"] == "executed"
        frozen = now_ms()
        monkeypatch.setattr("api.trader_state.now_ms", lambda: frozen)
        ov = (await st.api.get(f"/api/account/{tid}/overview")).json()
        assert ov["open_positions"] == 1 and ov["unrealized_pnl"] != "0"
        async with browser(st) as http:
            await sign_in(http)
            for url in ("/", f"/traders/{tid}/row"):
                html = (await http.get(url)).text
                value, shown = _cell(html, "trader-equity")
                assert value == ov["equity"] and shown == f"{Decimal(ov['equity']):,.2f}"
                value, shown = _cell(html, "trader-pnl-total")
                assert value == ov["total_pnl"]
                assert shown == f"{Decimal(ov['total_pnl']):+,.2f}"
                value, shown = _cell(html, "trader-pnl-today")  # created today: since the start
                assert Decimal(value) == Decimal(ov["equity"]) - Decimal("10000")
                assert _cell(html, "trader-open-positions")[1] == str(ov["open_positions"])
