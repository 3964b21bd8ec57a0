"""Circuit breakers on a crafted price path: a paper trader whose equity falls past its daily loss
limit, or past its max drawdown from a peak, pauses itself with a stable reason (`Paused`,
`CIRCUIT_BREAKER_...: <detail>`, also the live stream's status_update), notes it in its decision
log, closes its positions when set to, and is re-armed by a resume.

Each sync judges the equity: a decision that traded is followed at once by one (a second binding
trades a little ETH to make that happen after each price move).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal as D
from typing import Any

import pytest
from sqlalchemy import select
from temporalio.client import Client

from db.models import BreakerStateRecord, EventRecord
from tests.support.price_path import SteeredFeed, steered_stack
from tests.support.stack import Stack, make_settings
from tests.support.waiting import eventually

LONG_BTC = """
class Strategy:
    def should_trade(self, data):
        return Decision(operation="long", symbol="BTC", size_usd=400, leverage=1,
                        reasoning="in")
"""
NUDGE_ETH = """
class Strategy:
    def should_trade(self, data):
        return Decision(operation="long", symbol="ETH", size_usd=20, leverage=1,
                        reasoning="a small trade: the sync after it judges the equity")
"""


@pytest.fixture
async def stack(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> AsyncIterator[tuple[Stack, SteeredFeed]]:
    async with steered_stack(make_settings(temporal_address, sqlite_url)) as (st, feed):
        feed.prices.update(BTC=D(60000), ETH=D(3000))
        yield st, feed


class Trader:
    def __init__(self, st: Stack, tid: int, btc: int, eth: int) -> None:
        self.st, self.id, self.btc, self.eth = st, tid, btc, eth

    async def trigger(self, binding: int) -> dict[str, Any]:
        r = await self.st.post(f"/api/account/{self.id}/trigger", json={"binding_id": binding})
        assert r.status_code == 200, r.text
        return r.json()  # type: ignore[no-any-return]

    async def account(self) -> dict[str, Any]:
        return (await self.st.api.get(f"/api/account/{self.id}")).json()  # type: ignore[no-any-return]

    async def decisions(self) -> list[dict[str, Any]]:
        r = await self.st.api.get(f"/api/account/{self.id}/decisions", params={"per_page": 100})
        return r.json()["items"]  # type: ignore[no-any-return]

    async def positions(self) -> list[dict[str, Any]]:
        return (await self.st.api.get(f"/api/account/{self.id}/positions")).json()["positions"]  # type: ignore[no-any-return]

    async def paused_by(self, prefix: str) -> dict[str, Any]:
        async def tripped() -> dict[str, Any] | None:
            acct = await self.account()
            ok = acct["status"] == "Paused" and (acct["status_reason"] or "").startswith(prefix)
            return acct if ok else None

        return await eventually(tripped)


async def _holding_btc(st: Stack, **breakers: Any) -> Trader:
    """A paper trader (1000 USD) with breakers set, holding a 400 USD BTC long at 60000."""
    t = await st.create_trader(initial_capital="1000", trading_enabled=True, **breakers)
    tid = t["account_id"]
    btc = (await st.bind(tid, (await st.create_program(LONG_BTC, "btc"))["id"]))["id"]
    eth = (await st.bind(tid, (await st.create_program(NUDGE_ETH, "eth"))["id"]))["id"]
    trader = Trader(st, tid, btc, eth)
    assert (await trader.trigger(btc))["status"] == "executed"
    return trader


async def _status_events(st: Stack, tid: int) -> list[dict[str, Any]]:
    async with st.app.state.sessions() as s:
        rows = await s.scalars(
            select(EventRecord)
            .where(EventRecord.account_id == tid, EventRecord.type == "status_update")
            .order_by(EventRecord.id)
        )
        return [r.data for r in rows]


async def test_the_settings_are_validated_and_shown(stack: tuple[Stack, SteeredFeed]) -> None:
    st, _ = stack
    r = await st.post("/api/account/", json={"name": "t", "daily_loss_limit_pct": 0})
    assert r.status_code == 422 and "daily_loss_limit_pct" in r.json()["error"], r.text
    t = await st.create_trader(max_drawdown_pct="12.5", breaker_closes_positions=True)
    assert (t["daily_loss_limit_pct"], t["max_drawdown_pct"]) == (None, "12.5")
    assert t["breaker_closes_positions"] is True
    r = await st.api.put(f"/api/account/{t['id']}", json={"max_drawdown_pct": None})
    assert r.status_code == 200 and r.json()["max_drawdown_pct"] is None, r.text


async def test_a_daily_loss_past_the_limit_pauses_the_trader(
    stack: tuple[Stack, SteeredFeed],
) -> None:
    st, feed = stack
    trader = await _holding_btc(st, daily_loss_limit_pct="3")
    feed.prices["BTC"] = D(54000)  # -10 % on 400 USD: about -4 % of the day's 1000
    await trader.trigger(trader.eth)
    acct = await trader.paused_by("CIRCUIT_BREAKER_DAILY_LOSS: ")
    assert "(limit 3%)" in acct["status_reason"], acct
    note = (await trader.decisions())[0]
    assert (note["status"], note["trigger_type"]) == ("paused", "circuit_breaker"), note
    assert note["error"] == acct["status_reason"]
    assert len(await trader.positions()) == 2  # not set to close them: left open
    events = await _status_events(st, trader.id)
    assert events[-1]["status"] == "Paused", events
    assert events[-1]["reason"] == acct["status_reason"]


async def test_a_drawdown_from_the_peak_pauses_the_trader(
    stack: tuple[Stack, SteeredFeed],
) -> None:
    st, feed = stack
    trader = await _holding_btc(st, max_drawdown_pct="3")
    feed.prices["BTC"] = D(72000)  # +80 USD: the peak
    await trader.trigger(trader.eth)
    assert (await trader.account())["status"] == "Active"
    feed.prices["BTC"] = D(63000)  # still up on the day, but ~5 % below the peak
    await trader.trigger(trader.eth)
    acct = await trader.paused_by("CIRCUIT_BREAKER_MAX_DRAWDOWN: ")
    assert "below its peak" in acct["status_reason"], acct


async def test_a_breaker_set_to_close_closes_every_position(
    stack: tuple[Stack, SteeredFeed],
) -> None:
    st, feed = stack
    trader = await _holding_btc(st, daily_loss_limit_pct="3", breaker_closes_positions=True)
    feed.prices["BTC"] = D(54000)
    await trader.trigger(trader.eth)
    await trader.paused_by("CIRCUIT_BREAKER_DAILY_LOSS: ")

    async def flat() -> bool:
        return await trader.positions() == []

    await eventually(flat)
    closes = [d for d in await trader.decisions() if d["trigger_type"] == "circuit_breaker"]
    closed = sorted(d["output"]["decision"]["symbol"] for d in closes if d["status"] == "executed")
    assert closed == ["BTC", "ETH"], closes
    assert all(d["orders"][0]["leg"] == "close" for d in closes if d["status"] == "executed")


async def test_a_breakers_close_ends_its_round_trip_as_the_breakers(
    stack: tuple[Stack, SteeredFeed],
) -> None:
    """Analytics by exit reason tell a breaker's close from the strategy's own."""
    st, feed = stack
    trader = await _holding_btc(st, daily_loss_limit_pct="3", breaker_closes_positions=True)
    feed.prices["BTC"] = D(54000)
    await trader.trigger(trader.eth)
    await trader.paused_by("CIRCUIT_BREAKER_DAILY_LOSS: ")

    async def trips() -> list[dict[str, Any]] | None:
        r = await st.api.get(f"/api/account/{trader.id}/round-trips")
        items = r.json()["items"]
        return items if len(items) == 2 else None

    reasons = sorted((t["symbol"], t["exit_reason"]) for t in await eventually(trips))
    assert reasons == [("BTC", "circuit_breaker"), ("ETH", "circuit_breaker")]


async def test_a_resume_re_arms_the_breakers_from_the_current_equity(
    stack: tuple[Stack, SteeredFeed],
) -> None:
    st, feed = stack
    trader = await _holding_btc(st, daily_loss_limit_pct="3")
    feed.prices["BTC"] = D(54000)
    await trader.trigger(trader.eth)
    await trader.paused_by("CIRCUIT_BREAKER_DAILY_LOSS: ")
    r = await st.post(f"/api/account/{trader.id}/resume")
    assert r.status_code == 200, r.text

    async def re_armed() -> bool:
        async with st.app.state.sessions() as s:
            state = await s.get(BreakerStateRecord, trader.id)
            return state is not None and state.day_start_equity < D(970)

    await eventually(re_armed)  # the day now starts from the equity after the loss
    assert (await trader.trigger(trader.eth))["status"] == "executed"
    await asyncio.sleep(3)  # the sync after that trade has judged it
    acct = await trader.account()
    assert (acct["status"], acct["status_reason"]) == ("Active", None), acct
