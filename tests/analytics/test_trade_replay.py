"""GET /api/analytics/trades/{id}/replay: one round trip with its own fills, its entry and exit
decisions (by the round trip's links) and the stored candles from 50 bars before the entry's bar
to 10 after the exit's; what a trigger or the owner did says so; another user's round trip and
an unknown id are 404."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
from temporalio.client import Client

from db.models import TradeRecord
from tests import programs
from tests.analytics.rows import HOUR_MS, at, candle, decision, ms, round_trip
from tests.support.stack import Stack, full_stack, make_settings


@pytest.fixture
async def st(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> AsyncIterator[Stack]:
    async with full_stack(None, make_settings(temporal_address, sqlite_url)) as stack:
        yield stack


def fill(tid: int, row: int, symbol: str, side: str, price: str) -> TradeRecord:
    return TradeRecord(
        id=row,
        account_id=tid,
        trade_id=f"t{row}",
        client_order_id=None,
        symbol=symbol,
        side=side,
        size=Decimal(10),
        price=Decimal(price),
        fee=Decimal("0.5"),
        realized_pnl=Decimal(0),
        created_at=at(10),
    )


async def insert_trip(st: Stack, tid: int, skip_bar: int | None = None) -> int:
    """A long opened at 10:20 on day 0 by program 3, closed at 13:05 by it: BTC fills rows 1 and
    3 (row 2 is ETH's); the 1h candles of hours -40..23 (64 bars: 50 before the 10:00 bar, 10
    after the 13:00 one) plus one either side that the window leaves out."""
    source = st.app.state.feed.name
    async with st.app.state.sessions() as s, s.begin():
        s.add(decision(tid, 1, at(10.3), "long", "BTC", program_id=3, run_ms=4))
        s.add(decision(tid, 2, at(13), "close", "BTC", program_id=3, run_ms=6))
        s.add_all(
            [fill(tid, 1, "BTC", "buy", "100"), fill(tid, 2, "ETH", "buy", "9"),
             fill(tid, 3, "BTC", "sell", "104")]
        )  # fmt: skip
        for h in range(-41, 25):
            if h != skip_bar:
                s.add(candle(source, "BTC", ms(at(h)), "100", "101"))
        await s.flush()
        trip = round_trip(
            tid, 0, at(13 + 5 / 60), "39", entry=f"d-{tid}-1", exit_=f"d-{tid}-2",
            opened_at=at(10 + 20 / 60), first_fill_id=1, last_fill_id=3,
        )  # fmt: skip
        s.add(trip)
        await s.flush()
        return trip.id


async def replay(st: Stack, trip_id: int) -> dict[str, Any]:
    r = await st.api.get(f"/api/analytics/trades/{trip_id}/replay")
    assert r.status_code == 200, r.text
    return r.json()


async def test_replay_has_its_fills_decisions_and_candle_window(st: Stack) -> None:
    tid = (await st.create_trader())["id"]
    body = await replay(st, await insert_trip(st, tid))
    assert (body["trade"]["net_pnl"], body["trade"]["entry_decision_id"]) == ("39", f"d-{tid}-1")
    assert [f["trade_id"] for f in body["fills"]] == ["t1", "t3"]
    entry, exit_ = body["opened_by"], body["closed_by"]
    assert (entry["origin"], exit_["origin"]) == ("program", "program")
    assert entry["decision"]["id"] == f"d-{tid}-1" and exit_["decision"]["id"] == f"d-{tid}-2"
    assert entry["decision"]["output"]["run_ms"] == 4
    assert entry["decision"]["reasoning"] == "long call"
    assert entry["decision"]["input_snapshot"]["default_interval"] == "1h"
    c = body["candles"]
    assert (c["interval"], c["expected"], c["candles_missing"]) == ("1h", 64, False)
    assert (c["start"], c["end"]) == (ms(at(-40)), ms(at(23)))
    assert [x["timestamp"] for x in c["candles"]] == [ms(at(h)) for h in range(-40, 24)]
    assert c["candles"][0]["close"] == "101"


async def test_a_missing_bar_is_reported(st: Stack) -> None:
    tid = (await st.create_trader())["id"]
    c = (await replay(st, await insert_trip(st, tid, skip_bar=0)))["candles"]
    assert (c["expected"], len(c["candles"]), c["candles_missing"]) == (64, 63, True)
    assert ms(at(0)) not in [x["timestamp"] for x in c["candles"]]
    assert c["end"] - c["start"] == 63 * HOUR_MS


async def test_a_stop_loss_exit_and_an_owners_entry_say_so(st: Stack) -> None:
    """Opened by the owner's manual order (no strategy asked), closed by its stop loss (no
    decision); no candles stored: the window is reported missing, not fetched."""
    tid = (await st.create_trader())["id"]
    async with st.app.state.sessions() as s, s.begin():
        s.add(decision(tid, 1, at(2), "long", "BTC", trigger_type="manual"))
        await s.flush()
        trip = round_trip(tid, 0, at(4), "-7", entry=f"d-{tid}-1", exit_reason="stop_loss")
        s.add(trip)
        await s.flush()
        trip_id = trip.id
    body = await replay(st, trip_id)
    assert body["opened_by"]["origin"] == "owner"
    assert body["opened_by"]["decision"]["trigger_type"] == "manual"
    assert body["closed_by"] == {"origin": "stop_loss", "decision": None}
    assert (body["candles"]["candles"], body["candles"]["candles_missing"]) == ([], True)
    assert body["candles"]["source"] is None


async def test_a_prompt_entry_shows_its_model(st: Stack) -> None:
    tid = (await st.create_trader())["id"]
    llm = {"prompt_id": 2, "model": "gpt-a", "prompt_tokens": 120, "completion_tokens": 30}
    async with st.app.state.sessions() as s, s.begin():
        s.add(decision(tid, 1, at(2), "short", "BTC", llm=llm))
        await s.flush()
        trip = round_trip(tid, 0, at(4), "3", entry=f"d-{tid}-1", side="short")
        s.add(trip)
        await s.flush()
        trip_id = trip.id
    entry = (await replay(st, trip_id))["opened_by"]
    assert entry["origin"] == "prompt"
    assert entry["decision"]["llm_exchange"]["model"] == "gpt-a"
    assert entry["decision"]["llm_exchange"]["prompt_tokens"] == 120


async def test_unknown_and_another_users_round_trips_are_404(st: Stack) -> None:
    tid = (await st.create_trader())["id"]
    trip_id = await insert_trip(st, tid)
    async with st.user_client("b@example.com") as b:
        theirs = await b.get(f"/api/analytics/trades/{trip_id}/replay")
    missing = await st.api.get(f"/api/analytics/trades/{trip_id + 1000}/replay")
    for r in (theirs, missing):
        assert r.status_code == 404, r.text
        assert r.json()["code"] == "ROUND_TRIP_NOT_FOUND"
    assert "long call" not in theirs.text


async def test_a_live_paper_round_trip_replays_with_its_own_decisions(st: Stack) -> None:
    """Opened and closed through the real trader: the replay's decisions are the ones the round
    trip names, with the programs' outputs, and its two fills are the ones /trades lists."""
    tid = (await st.create_trader(trading_enabled=True))["id"]
    opening = await st.bind(tid, (await st.create_program(programs.ALWAYS_LONG, "long"))["id"])
    closing = await st.bind(tid, (await st.create_program(programs.CLOSE_BTC, "close"))["id"])
    for binding in (opening, closing):
        url = f"/api/account/{tid}/trigger"
        done = (await st.post(url, json={"binding_id": binding["id"]})).json()
        assert done["status"] == "executed", done
    (trip,) = (await st.api.get(f"/api/account/{tid}/round-trips")).json()["items"]
    fills = (await st.api.get(f"/api/account/{tid}/trades")).json()["items"]
    body = await replay(st, trip["id"])
    assert body["trade"] == trip
    assert sorted(f["trade_id"] for f in body["fills"]) == sorted(f["trade_id"] for f in fills)
    assert body["opened_by"]["decision"]["id"] == trip["entry_decision_id"]
    assert body["closed_by"]["decision"]["id"] == trip["exit_decision_id"]
    assert body["opened_by"]["decision"]["output"]["decision"]["operation"] == "long"
    assert (body["opened_by"]["origin"], body["closed_by"]["origin"]) == ("program", "program")
