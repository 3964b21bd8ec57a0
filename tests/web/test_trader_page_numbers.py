"""The trader page shows what the REST routes answer (the peers' most reported fault is a UI
that disagrees with the ledger): KPI cards equal `/overview`, the positions table `/positions`,
the trades table `/trades`, the decision feed `/decisions`; the candle chart has one marker per
fill, each naming its decision. Marks are frozen for both reads, so the comparison is exact.
Closing a position needs the page's CSRF token (403 without, nothing sent) and goes through the
trader's workflow like POST .../positions/{symbol}/close."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from temporalio.client import Client

from adapters.market.snapshot import now_ms
from tests import programs
from tests.support.stack import full_stack, make_settings
from tests.web.support import browser, sign_in


def values(html: str, testid: str) -> list[str]:
    return re.findall(rf'data-testid="{testid}" data-value="([^"]*)"', html)


async def test_kpis_tables_feed_and_markers_equal_the_rest_answers(
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
        for _ in range(2):
            assert (await st.post(f"/api/account/{tid}/trigger")).json()["status"] == "executed"
        frozen = now_ms()
        monkeypatch.setattr("api.trader_state.now_ms", lambda: frozen)
        monkeypatch.setattr("api.equity.now_ms", lambda: frozen)
        ov = (await st.api.get(f"/api/account/{tid}/overview")).json()
        pos = (await st.api.get(f"/api/account/{tid}/positions")).json()
        trades = (await st.api.get(f"/api/account/{tid}/trades")).json()
        decisions = (await st.api.get(f"/api/account/{tid}/decisions")).json()
        rest_curve = (await st.api.get(f"/api/account/{tid}/asset-curve?timeframe=1h")).json()
        async with browser(st) as http:
            await sign_in(http)
            page = (await http.get(f"/traders/{tid}")).text
            kpis = (await http.get(f"/traders/{tid}/panel/kpis")).text
            for html in (page, kpis):
                for key in ("equity", "available", "used_margin", "realized_pnl",
                            "unrealized_pnl", "fees_paid"):  # fmt: skip
                    assert values(html, f"kpi-{key.replace('_', '-')}") == [ov[key]], key
                shown = re.search(r'data-testid="kpi-equity"[^>]*>([^<]*)<', html)
                assert shown and shown.group(1) == f"{Decimal(ov['equity']):,.2f}"
            assert values(page, "position-upnl") == [p["unrealized_pnl"] for p in pos["positions"]]
            assert values(page, "trade-price") == [t["price"] for t in trades["items"]]
            feed = re.findall(r'data-testid="decision-item" data-decision-id="([^"]+)"', page)
            assert feed == [d["id"] for d in decisions["items"]]
            for status, expected in (("executed", 2), ("hold", 0), ("bogus", 2)):
                html = (await http.get(f"/traders/{tid}/panel/decisions?status={status}")).text
                assert html.count('data-testid="decision-item"') == expected, status
            chart = (await http.get(f"/traders/{tid}/chart.json?symbol=BTC")).json()
            assert len(chart["markers"]) == trades["total"] == 2
            ordered = {o["decision_id"] for d in decisions["items"] for o in d["orders"]}
            assert {m["decision_id"] for m in chart["markers"]} <= ordered
            assert [m["price"] for m in chart["markers"]] == [
                t["price"] for t in reversed(trades["items"])
            ]
            line = chart["lines"][0]
            assert (line["kind"], line["side"]) == ("entry", "long")
            assert Decimal(line["price"]) == Decimal(pos["positions"][0]["entry_price"])
            curve = (await http.get(f"/traders/{tid}/equity.json")).json()
            assert [p["equity"] for p in curve["points"]] == [
                p["equity"] for p in rest_curve["points"]
            ]
            assert curve["points"][-1]["equity"] == ov["equity"]


async def test_closing_a_position_needs_the_csrf_token_and_goes_through_the_workflow(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    settings = make_settings(temporal_address, sqlite_url)
    async with full_stack(temporal_client, settings) as st:
        tid = (await st.create_trader(name="Closer", trading_enabled=True))["account_id"]
        await st.bind(tid, (await st.create_program(programs.ALWAYS_LONG))["id"])
        assert (await st.post(f"/api/account/{tid}/trigger")).json()["status"] == "executed"
        async with browser(st) as http:
            csrf = await sign_in(http)
            actions = (f"/traders/{tid}/positions/BTC/close", f"/traders/{tid}/positions/close-all",
                       f"/traders/{tid}/orders/{tid}-x:tp/cancel")  # fmt: skip
            for url in actions:
                for headers in ({}, {"X-CSRF-Token": "forged"}):
                    r = await http.post(url, headers=headers)
                    assert r.status_code == 403, (url, headers, r.text)
            pos = (await st.api.get(f"/api/account/{tid}/positions")).json()
            assert pos["total_count"] == 1  # nothing was closed
            act = {"headers": {"X-CSRF-Token": csrf, "HX-Request": "true"}}
            r = await http.post(f"/traders/{tid}/positions/ETH/close", **act)
            assert "(POSITION_NOT_FOUND)" in r.text, r.text
            r = await http.post(f"/traders/{tid}/positions/BTC/close", **act)
            assert r.status_code == 200, r.text
            assert "Close recorded: executed." in r.text and 'data-testid="no-positions"' in r.text
            assert (await st.api.get(f"/api/account/{tid}/positions")).json()["total_count"] == 0
            log = (await st.api.get(f"/api/account/{tid}/decisions")).json()["items"]
            assert log[0]["trigger_type"] == "manual" and log[0]["status"] == "executed"
            r = await http.post(f"/traders/{tid}/orders/{tid}-x:tp/cancel?symbol=BTC", **act)
            assert r.status_code == 200 and 'data-testid="open-orders-table"' in r.text, r.text


async def test_cancel_a_resting_order_and_close_all_from_the_page(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    settings = make_settings(temporal_address, sqlite_url)
    async with full_stack(temporal_client, settings) as st:
        tid = (await st.create_trader(name="Orders", trading_enabled=True,
                                      max_leverage="5"))["account_id"]  # fmt: skip
        await st.bind(tid, (await st.create_program(programs.HOLD))["id"])
        order = {"account_id": tid, "side": "buy", "size_usd": "100"}
        for sym in ("BTC", "ETH"):
            r = await st.post(
                "/api/orders/create", {**order, "symbol": sym, "order_type": "market"}
            )
            assert r.status_code < 300, r.text
        limit = {**order, "symbol": "SOL", "order_type": "limit", "price": "1"}  # far below
        r = await st.post("/api/orders/create", limit)
        assert r.status_code < 300 and r.json()["status"] == "pending", r.text
        resting = r.json()["id"]
        async with browser(st) as http:
            csrf = await sign_in(http)
            page = (await http.get(f"/traders/{tid}")).text
            assert page.count('data-testid="open-order-row"') == 1 and resting in page
            assert 'data-testid="positions-close-all"' in page  # two positions
            cancel = f"/traders/{tid}/orders/{resting}/cancel?symbol=SOL"
            assert (await http.post(cancel)).status_code == 403
            act = {"headers": {"X-CSRF-Token": csrf, "HX-Request": "true"}}
            r = await http.post(cancel, **act)
            assert f"Cancel of {resting} sent." in r.text, r.text
            assert 'data-testid="open-order-row"' not in r.text
            rest = (await st.api.get(f"/api/account/{tid}/open-orders")).json()
            assert rest["orders"] == []
            r = await http.post(f"/traders/{tid}/positions/close-all", **act)
            assert "Close recorded: executed, executed." in r.text, r.text
            assert (await st.api.get(f"/api/account/{tid}/positions")).json()["total_count"] == 0
