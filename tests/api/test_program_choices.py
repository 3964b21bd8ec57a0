"""GET /api/programs/signal-pools/ and /api/programs/accounts/: the caller's own pools (with
their number of signals) and traders (not deleted) that a binding can name."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from temporalio.client import Client

from tests.support.stack import Stack, full_stack, make_settings

SIGNAL = {"name": "up", "indicator": "price", "operator": ">", "threshold": 0, "timeframe": "1m"}


@pytest.fixture
async def st(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> AsyncIterator[Stack]:
    async with full_stack(None, make_settings(temporal_address, sqlite_url), worker=False) as s:
        yield s


async def test_signal_pools_with_their_signal_counts(st: Stack) -> None:
    ids = [(await st.post("/api/signals/definitions", {**SIGNAL, "name": n})).json()["id"]
           for n in ("a", "b")]  # fmt: skip
    pool = (await st.post("/api/signals/pools", {"name": "both", "symbols": ["BTC", "ETH"],
                                                 "signal_ids": ids})).json()  # fmt: skip
    for url in ("/api/programs/signal-pools/", "/api/programs/signal-pools"):
        (got,) = (await st.api.get(url)).json()
        assert (got["id"], got["name"], got["signals_count"]) == (pool["id"], "both", 2), url
        assert got["symbols"] == ["BTC", "ETH"] and got["enabled"] is True


async def test_traders_not_deleted(st: Stack) -> None:
    kept = await st.create_trader(name="kept", show_on_dashboard=False)
    prompt = await st.create_trader(name="prompt", account_type="prompt")
    gone = await st.create_trader(name="gone")
    assert (await st.api.delete(f"/api/account/{gone['id']}")).status_code == 200
    for url in ("/api/programs/accounts/", "/api/programs/accounts"):
        got = (await st.api.get(url)).json()
        assert [(a["id"], a["name"], a["account_type"]) for a in got] == [
            (kept["id"], "kept", "program"),
            (prompt["id"], "prompt", "prompt"),
        ], url


async def test_only_the_callers_own(st: Stack) -> None:
    signal = (await st.post("/api/signals/definitions", SIGNAL)).json()
    await st.post("/api/signals/pools", {"name": "A's", "symbols": ["BTC"],
                                         "signal_ids": [signal["id"]]})  # fmt: skip
    await st.create_trader(name="A's trader")
    async with st.user_client("b@example.com") as b:
        assert (await b.get("/api/programs/signal-pools/")).json() == []
        assert (await b.get("/api/programs/accounts/")).json() == []
