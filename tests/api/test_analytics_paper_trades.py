"""The analytics summary over live paper trades (decisions that opened and closed positions
through the real trader path) equals the sum worked out from the recorded round trips and fills:
what the user sees in /round-trips and /trades adds up to what /analytics says."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import pytest
from temporalio.client import Client

from tests import programs
from tests.support.stack import Stack, full_stack, make_settings


@pytest.fixture
async def st(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> AsyncIterator[Stack]:
    async with full_stack(None, make_settings(temporal_address, sqlite_url)) as stack:
        yield stack


async def test_summary_equals_the_hand_sum_of_paper_round_trips(st: Stack) -> None:
    tid = (await st.create_trader(trading_enabled=True))["id"]
    long_program = await st.create_program(programs.ALWAYS_LONG, "long")
    opening = await st.bind(tid, long_program["id"])
    closing = await st.bind(tid, (await st.create_program(programs.CLOSE_BTC, "close"))["id"])
    trigger = f"/api/account/{tid}/trigger"
    for _ in range(2):
        for binding in (opening, closing):
            done = (await st.post(trigger, json={"binding_id": binding["id"]})).json()
            assert done["status"] == "executed", done

    trips = (await st.api.get(f"/api/account/{tid}/round-trips")).json()["items"]
    fills = (await st.api.get(f"/api/account/{tid}/trades")).json()["items"]
    assert len(trips) == 2 and len(fills) == 4
    net = [Decimal(t["net_pnl"]) for t in trips]
    fees = sum(Decimal(f["fee"]) for f in fills)
    assert sum(net) == sum(Decimal(f["realized_pnl"]) for f in fills) - fees

    r = await st.api.get("/api/analytics/summary", params={"account_id": tid})
    assert r.status_code == 200, r.text
    m = r.json()
    assert Decimal(m["total_pnl"]) == sum(net)
    assert Decimal(m["total_fees"]) == fees
    assert m["total_trades"] == 2 and m["long_trades"] == 2
    assert (Decimal(m["best_trade_pnl"]), Decimal(m["worst_trade_pnl"])) == (max(net), min(net))
    assert m["equity_points"] >= 1  # each fill recorded an equity point
    (line,) = (await st.api.get("/api/analytics/by-symbol")).json()
    assert (line["symbol"], line["trades"], Decimal(line["pnl"])) == ("BTC", 2, sum(net))
    (strategy,) = (await st.api.get("/api/analytics/by-strategy")).json()
    assert (strategy["strategy"], strategy["strategy_id"], strategy["strategy_name"]) == (
        "program",
        long_program["id"],
        "long",
    )
