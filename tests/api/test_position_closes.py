"""Close one, close all: the owner closes a trader's positions through its workflow, even while
it is paused; each close is a decision in its log (trigger `manual`, the owner's reason). A
symbol without a position is a 404 and nothing is sent; another user's trader is a 404; a
retry with the same Idempotency-Key gets the first closes back and never closes a position
opened again since."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from temporalio.client import Client

from tests.support.stack import Stack, full_stack, make_settings

LONG_BTC = """
class Strategy:
    def should_trade(self, data):
        return Decision(operation="long", symbol="BTC", size_usd=200, leverage=2, reasoning="in")
"""
LONG_ETH = """
class Strategy:
    def should_trade(self, data):
        return Decision(operation="long", symbol="ETH", size_usd=100, leverage=2, reasoning="in")
"""


@pytest.fixture
async def st(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> AsyncIterator[Stack]:
    async with full_stack(None, make_settings(temporal_address, sqlite_url)) as stack:
        yield stack


async def _holding(st: Stack) -> tuple[int, dict[str, int]]:
    """A paper trader holding a BTC and an ETH long; its bindings by symbol."""
    tid = (await st.create_trader(trading_enabled=True))["account_id"]
    bindings = {}
    for symbol, code in (("BTC", LONG_BTC), ("ETH", LONG_ETH)):
        bindings[symbol] = (await st.bind(tid, (await st.create_program(code, symbol))["id"]))["id"]
        r = await st.post(f"/api/account/{tid}/trigger", json={"binding_id": bindings[symbol]})
        assert r.json()["status"] == "executed", r.text
    return tid, bindings


async def _positions(st: Stack, tid: int) -> list[str]:
    got = (await st.api.get(f"/api/account/{tid}/positions")).json()["positions"]
    return sorted(p["symbol"] for p in got)


async def _decisions(st: Stack, tid: int) -> list[dict[str, Any]]:
    return (await st.api.get(f"/api/account/{tid}/decisions")).json()["items"]  # type: ignore[no-any-return]


async def test_close_one_while_paused(st: Stack) -> None:
    tid, _ = await _holding(st)
    await st.post(f"/api/account/{tid}/pause")
    r = await st.post(f"/api/account/{tid}/positions/BTC/close", json={"reason": "too hot"})
    assert r.status_code == 200, r.text
    (close,) = r.json()["decisions"]
    assert (close["status"], close["trigger_type"]) == ("executed", "manual"), close
    decision = close["output"]["decision"]
    assert (decision["operation"], decision["symbol"], decision["reasoning"]) == (
        "close",
        "BTC",
        "too hot",
    )
    assert [o["leg"] for o in close["orders"]] == ["close"]
    assert await _positions(st, tid) == ["ETH"]
    assert (await _decisions(st, tid))[0]["id"] == close["id"]
    trades = (await st.api.get(f"/api/account/{tid}/trades")).json()["items"]
    assert trades[0]["symbol"] == "BTC" and trades[0]["side"] == "sell", trades[0]
    assert (await st.api.get(f"/api/account/{tid}")).json()["status"] == "Paused"


async def test_close_all_while_paused(st: Stack) -> None:
    tid, _ = await _holding(st)
    await st.post(f"/api/account/{tid}/pause")
    r = await st.post(f"/api/account/{tid}/positions/close-all")
    assert r.status_code == 200, r.text
    closes = r.json()["decisions"]
    assert sorted(d["output"]["decision"]["symbol"] for d in closes) == ["BTC", "ETH"]
    assert {(d["status"], d["trigger_type"]) for d in closes} == {("executed", "manual")}
    assert await _positions(st, tid) == []
    r = await st.post(f"/api/account/{tid}/positions/close-all")  # flat: nothing to close
    assert r.status_code == 200 and r.json()["decisions"] == [], r.text


async def test_closing_a_symbol_without_a_position_is_a_404_and_sends_nothing(st: Stack) -> None:
    tid, _ = await _holding(st)
    before = len(await _decisions(st, tid))
    r = await st.post(f"/api/account/{tid}/positions/SOL/close")
    assert r.status_code == 404, r.text
    assert r.json()["code"] == "POSITION_NOT_FOUND" and "SOL" in r.json()["error"]
    assert len(await _decisions(st, tid)) == before
    assert await _positions(st, tid) == ["BTC", "ETH"]


async def test_another_users_trader_is_a_404(st: Stack) -> None:
    tid, _ = await _holding(st)
    async with st.user_client("stranger@example.com") as other:
        for url in (f"/api/account/{tid}/positions/BTC/close",
                    f"/api/account/{tid}/positions/close-all"):  # fmt: skip
            r = await other.post(url)
            assert r.status_code == 404 and r.json()["code"] == "ACCOUNT_NOT_FOUND", r.text
    assert await _positions(st, tid) == ["BTC", "ETH"]


async def test_a_retried_close_does_not_close_a_reopened_position(st: Stack) -> None:
    tid, bindings = await _holding(st)
    headers = {"Idempotency-Key": "close-btc-1"}
    first = await st.post(f"/api/account/{tid}/positions/BTC/close", headers=headers)
    assert first.status_code == 200, first.text
    r = await st.post(f"/api/account/{tid}/trigger", json={"binding_id": bindings["BTC"]})
    assert r.json()["status"] == "executed"  # BTC opened again
    retry = await st.post(f"/api/account/{tid}/positions/BTC/close", headers=headers)
    assert retry.status_code == 200, retry.text
    assert [d["id"] for d in retry.json()["decisions"]] == [
        d["id"] for d in first.json()["decisions"]
    ]
    assert await _positions(st, tid) == ["BTC", "ETH"]
    other = await st.post(f"/api/account/{tid}/positions/ETH/close", headers=headers)
    assert other.status_code == 422 and other.json()["code"] == "IDEMPOTENCY_KEY_REUSED"
