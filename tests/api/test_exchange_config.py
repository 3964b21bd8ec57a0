"""GET/POST /api/users/exchange-config: each user's selected exchange (`paper` until selected),
validated, and the exchange of every trader they create without naming one."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from temporalio.client import Client

from tests.support.stack import Stack, full_stack, make_settings

URL = "/api/users/exchange-config"


@pytest.fixture
async def st(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> AsyncIterator[Stack]:
    async with full_stack(None, make_settings(temporal_address, sqlite_url), worker=False) as s:
        yield s


async def test_paper_until_selected_then_the_selection(st: Stack) -> None:
    assert (await st.api.get(URL)).json() == {"selected_exchange": "paper"}
    for venue in ("binance", "hyperliquid"):
        r = await st.post(URL, {"selected_exchange": venue})
        assert r.status_code == 200 and r.json() == {"selected_exchange": venue}, r.text
        assert (await st.api.get(URL)).json() == {"selected_exchange": venue}


async def test_a_value_that_is_not_an_exchange_is_a_422(st: Stack) -> None:
    for body in ({"selected_exchange": "kraken"}, {}, {"selected_exchange": "paper", "x": 1}):
        r = await st.post(URL, body)
        assert r.status_code == 422 and r.json()["code"] == "VALIDATION_ERROR", r.text
    assert "selected_exchange" in (await st.post(URL, {"selected_exchange": "kraken"})).text
    assert (await st.api.get(URL)).json() == {"selected_exchange": "paper"}


async def test_a_trader_created_without_an_exchange_gets_the_selected_one(st: Stack) -> None:
    await st.post(URL, {"selected_exchange": "hyperliquid"})
    assert (await st.create_trader())["exchange"] == "hyperliquid"
    assert (await st.create_trader(exchange="paper"))["exchange"] == "paper"  # named: kept


async def test_each_user_has_their_own(st: Stack) -> None:
    await st.post(URL, {"selected_exchange": "binance"})
    async with st.user_client("b@example.com") as b:
        assert (await b.get(URL)).json() == {"selected_exchange": "paper"}
        made = await b.post("/api/account/", json={"name": "B's"})
        assert made.json()["exchange"] == "paper", made.text
