"""The backtest pages over runs stored directly (no engine, no worker): they answer signed in
and redirect signed out, another user's run is the 404 page, the numbers are the REST routes'
answers, the form's errors appear next to their fields (and DATA_COVERAGE's missing ranges next
to the symbols), untrusted text renders escaped, and POSTs without the CSRF token are refused.

Why: a backtest's results are what a user judges a strategy by before risking money on it."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio
from sqlalchemy import select
from temporalio.client import Client

from db.backtests import set_status, store_results
from db.users import User
from domain.backtest import BacktestStatus
from tests.backtest.support import store_hourly
from tests.backtest_service.support import decision, new_backtest, results
from tests.programs import HOLD
from tests.support.stack import DEFAULT_EMAIL, Stack, full_stack, make_settings
from tests.web.support import browser, parse, sign_in

SCRIPT = "<script>alert(1)</script>"
BREAKOUT = '"><img src=x onerror=alert(1)>'


@pytest_asyncio.fixture
async def st(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> AsyncIterator[Stack]:
    async with full_stack(None, make_settings(temporal_address, sqlite_url), worker=False) as st:
        yield st


async def _stored(st: Stack, status: str = "completed", name: str = "p") -> int:
    program = await st.create_program(HOLD, name=name)
    async with st.deps.sessions() as s:
        owner = await s.scalar(select(User.id).where(User.email == DEFAULT_EMAIL))
    assert owner is not None
    row = await new_backtest(st.deps.sessions, owner, program["id"])
    res = results()
    res.decisions.append({**decision(3, "denied", "MAX_POSITIONS"), "reasoning": SCRIPT + BREAKOUT})
    if status == "running":
        await set_status(st.deps.sessions, row.id, BacktestStatus.RUNNING)
    else:
        await store_results(st.deps.sessions, row.id, BacktestStatus(status), res, 24, 24)
    return row.id


def _urls(bt: int, other: int) -> list[str]:
    return [
        "/backtests",
        f"/backtests/{bt}",
        f"/backtests/{bt}/progress",
        f"/backtests/{bt}/chart.json",
        f"/backtests/compare?id={bt}&id={other}",
    ]


async def test_pages_answer_signed_in_and_redirect_signed_out(st: Stack) -> None:
    bt, other = await _stored(st), await _stored(st)
    async with browser(st) as anon:
        for url in _urls(bt, other):
            r = await anon.get(url)
            assert r.status_code == 303 and r.headers["location"] == "/login", url
    async with browser(st) as http:
        await sign_in(http)
        for url in _urls(bt, other):
            r = await http.get(url)
            assert r.status_code == 200, (url, r.text)
        page = (await http.get(f"/backtests/{bt}")).text
        for testid in ("backtest-progress", "backtest-equity-chart", "backtest-trades-chart"):
            assert f'data-testid="{testid}"' in page
        listed = (await http.get("/backtests")).text
        assert 'data-testid="backtest-form"' in listed and f'data-backtest-id="{bt}"' in listed


async def test_another_users_backtest_is_a_404_page(st: Stack) -> None:
    theirs = await _stored(st)
    async with st.user_client("other@example.com", "other-password-1"):
        pass  # the other user exists now
    async with browser(st) as http:
        csrf = await sign_in(http, "other@example.com", "other-password-1")
        for url in _urls(theirs, theirs)[1:4] + ["/backtests/999999"]:
            r = await http.get(url)
            assert r.status_code == 404 and "Not found" in r.text, (url, r.text)
        r = await http.get(f"/backtests/compare?id={theirs}&id={theirs}")
        assert r.status_code == 404
        r = await http.post(f"/backtests/{theirs}/cancel", headers={"X-CSRF-Token": csrf})
        assert r.status_code == 404
        assert f'data-backtest-id="{theirs}"' not in (await http.get("/backtests")).text


def _metric(html: str, key: str) -> str:
    m = re.search(rf'data-testid="backtest-metric-{key}" data-value="([^"]*)"', html)
    assert m, key
    return m.group(1)


async def test_numbers_are_the_rest_answers(st: Stack) -> None:
    bt = await _stored(st)
    rest = (await st.api.get(f"/api/programs/backtest/{bt}")).json()
    curve = (await st.api.get(f"/api/programs/backtest/{bt}/equity")).json()
    async with browser(st) as http:
        await sign_in(http)
        page = (await http.get(f"/backtests/{bt}")).text
        for key, value in rest["metrics"].items():
            if isinstance(value, str):
                assert _metric(page, key) == value, key
        chart: dict[str, Any] = (await http.get(f"/backtests/{bt}/chart.json")).json()
    assert [p["value"] for p in chart["equity"]] == [p["equity"] for p in curve["points"]]
    assert [p["time"] * 1000 for p in chart["equity"]] == [p["at_ms"] for p in curve["points"]]
    assert len(chart["markers"]) == len(rest["trades"])  # one marker per trade
    assert "+25.00" in page  # total PnL at 2 decimals


async def test_untrusted_text_renders_escaped(st: Stack) -> None:
    bt = await _stored(st, name=SCRIPT + BREAKOUT)
    async with browser(st) as http:
        await sign_in(http)
        for url in ("/backtests", f"/backtests/{bt}"):
            html = (await http.get(url)).text
            assert SCRIPT not in html and BREAKOUT not in html, url
            assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, url
            parsed = parse(html)
            assert all(s["src"] for s in parsed.scripts) and parsed.handlers == [], url
            assert parsed.styles == [], url


async def test_posts_without_the_csrf_token_are_refused(st: Stack) -> None:
    bt = await _stored(st, status="running")
    program = await st.create_program(HOLD)
    async with browser(st) as http:
        await sign_in(http)
        form = {"program_id": str(program["id"]), "symbols": "BTC",
                "start_date": "2025-01-01T00:00", "end_date": "2025-01-02T00:00"}  # fmt: skip
        assert (await http.post("/backtests", data=form)).status_code == 403
        r = await http.post(f"/backtests/{bt}/cancel", headers={"X-CSRF-Token": "forged"})
        assert r.status_code == 403
    assert (await st.api.get("/api/programs/backtests")).json()[0]["status"] == "running"


async def test_form_errors_appear_next_to_their_fields(st: Stack) -> None:
    program = await st.create_program(HOLD)
    await store_hourly(st.deps.sessions, ["100"] * 24)  # BTC: 2024-12-28 to 2025-01-01
    async with browser(st) as http:
        csrf = await sign_in(http)
        base = {"csrf_token": csrf, "program_id": str(program["id"]), "symbols": "BTC",
                "interval": "1h", "initial_balance": "10000", "seed": "0"}  # fmt: skip
        r = await http.post("/backtests", data={**base, "start_date": "2025-01-02T00:00",
                                                "end_date": "2025-01-01T00:00"})  # fmt: skip
        assert r.status_code == 422
        err = re.search(r'data-testid="backtest-error-end-date">([^<]*)<', r.text)
        assert err and "end_date must be after start_date" in err.group(1), r.text
        day = {"start_date": "2025-01-01T00:00", "end_date": "2025-01-01T10:00"}
        r = await http.post("/backtests", data={**base, **day, "symbols": "ETH"})
        assert r.status_code == 422
        assert 'data-testid="backtest-error-symbols"' in r.text and "no stored candles" in r.text
        r = await http.post("/backtests", data={**base, "start_date": "2025-03-01T00:00",
                                                "end_date": "2025-03-02T00:00"})  # fmt: skip
        assert r.status_code == 422
        err = re.search(r'data-testid="backtest-error-symbols">([^<]*)<', r.text)
        assert err and "No stored candles for: BTC 1h 2025-" in err.group(1), r.text
        assert 'value="2025-03-01T00:00"' in r.text  # what was typed is kept
    assert (await st.api.get("/api/programs/backtests")).json() == []


async def test_progress_polls_while_running_and_cancel_stops_the_run(st: Stack) -> None:
    """The progress box asks again every second while the run is active and reloads the page
    once it ended; Cancel (with the token) stops it as POST .../cancel does."""
    running, done = await _stored(st, status="running"), await _stored(st)
    async with browser(st) as http:
        csrf = await sign_in(http)
        r = await http.get(f"/backtests/{running}/progress")
        assert 'hx-trigger="every 1s"' in r.text and "HX-Refresh" not in r.headers
        assert 'data-testid="backtest-cancel"' in r.text
        r = await http.get(f"/backtests/{done}/progress")
        assert "hx-trigger" not in r.text and r.headers["HX-Refresh"] == "true"
        r = await http.post(f"/backtests/{running}/cancel", headers={"X-CSRF-Token": csrf})
        assert r.status_code == 204 and r.headers["HX-Refresh"] == "true"
        page = (await http.get(f"/backtests/{running}")).text
        assert 'data-testid="backtest-status">cancelled<' in page
    rest = (await st.api.get(f"/api/programs/backtest/{running}")).json()
    assert rest["backtest"]["status"] == "cancelled"
