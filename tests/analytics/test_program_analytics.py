"""GET /api/analytics/programs: per program, executions and run times (avg, nearest-rank p99)
from the decisions' recorded sandbox run time, the decisions' distribution, error codes, and
the metrics line of the round trips its decisions opened; over rows inserted by hand and over
live paper trades driven through the real stack."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
from temporalio.client import Client

from tests import programs as sources
from tests.analytics.rows import at, decision, round_trip
from tests.support.stack import Stack, full_stack, make_settings


@pytest.fixture
async def st(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> AsyncIterator[Stack]:
    async with full_stack(None, make_settings(temporal_address, sqlite_url)) as stack:
        yield stack


async def lines(st: Stack, **params: Any) -> dict[int, dict[str, Any]]:
    r = await st.api.get("/api/analytics/programs", params=params)
    assert r.status_code == 200, r.text
    return {x["program_id"]: x for x in r.json()}


async def test_p99_and_average_over_known_run_times(st: Stack) -> None:
    """100 runs of 1..100 ms: the mean is 50.5, the nearest-rank p99 the 99th smallest, 99.
    A run without a recorded time counts as an execution, not in the times."""
    tid = (await st.create_trader())["id"]
    async with st.app.state.sessions() as s, s.begin():
        for k in range(1, 101):
            s.add(decision(tid, k, at(k / 10), "hold", status="hold", program_id=5, run_ms=k))
        s.add(decision(tid, 101, at(11), "hold", status="hold", program_id=5))
    line = (await lines(st))[5]
    assert (line["executions"], line["timed_executions"]) == (101, 100)
    assert (line["avg_execution_ms"], line["p99_execution_ms"]) == ("50.5", 99)


async def test_distribution_and_error_codes(st: Stack) -> None:
    """long, short, close, hold as decided (a long whose order failed is still a long); a
    denied one is `denied`; a run with no usable decision is `failed`; error codes counted as
    recorded. Another program's and a prompt's decisions are not in this program's line."""
    tid = (await st.create_trader())["id"]
    rows = [
        ("long", "executed", None),
        ("long", "failed", "ORDER_REJECTED"),
        ("short", "executed", None),
        ("close", "executed", None),
        ("hold", "hold", None),
        ("hold", "hold", None),
        ("long", "denied", "MAX_LEVERAGE_EXCEEDED"),
        (None, "failed", "TIMEOUT"),
        (None, "failed", "TIMEOUT"),
        (None, "failed", "RUNTIME_ERROR"),
    ]
    async with st.app.state.sessions() as s, s.begin():
        for k, (op, status, code) in enumerate(rows):
            s.add(
                decision(
                    tid, k, at(k), op, "BTC", status=status, error_code=code, program_id=7,
                    run_ms=3,
                )
            )  # fmt: skip
        s.add(decision(tid, 50, at(1), "long", "BTC", program_id=8, run_ms=1))
        s.add(decision(tid, 51, at(1), "long", "BTC", llm={"prompt_id": 1, "model": "m"}))
    line = (await lines(st))[7]
    assert line["executions"] == 10
    assert line["decision_distribution"] == {
        "long": 2,
        "short": 1,
        "close": 1,
        "hold": 2,
        "failed": 3,
        "denied": 1,
    }
    assert line["error_codes"] == {
        "MAX_LEVERAGE_EXCEEDED": 1,
        "ORDER_REJECTED": 1,
        "RUNTIME_ERROR": 1,
        "TIMEOUT": 2,
    }


async def test_trades_are_the_round_trips_its_decisions_opened(st: Stack) -> None:
    """Program 7's decisions opened +6 and -2 (2 trades, win rate 0.5, PnL 4, profit factor 3);
    the round trip program 8 opened and one no decision opened are not in its line."""
    tid = (await st.create_trader())["id"]
    async with st.app.state.sessions() as s, s.begin():
        s.add(decision(tid, 1, at(1), "long", "BTC", program_id=7, run_ms=2))
        s.add(decision(tid, 2, at(2), "short", "BTC", program_id=7, run_ms=4))
        s.add(decision(tid, 3, at(3), "long", "BTC", program_id=8, run_ms=4))
        await s.flush()
        s.add(round_trip(tid, 0, at(4), "6", entry=f"d-{tid}-1"))
        s.add(round_trip(tid, 1, at(5), "-2", entry=f"d-{tid}-2", side="short"))
        s.add(round_trip(tid, 2, at(6), "9", entry=f"d-{tid}-3"))
        s.add(round_trip(tid, 3, at(7), "1"))
    m = (await lines(st))[7]["metrics"]
    assert (m["trades"], m["win_rate"], m["total_pnl"], m["profit_factor"]) == (2, "0.5", "4", "3")


async def test_undefined_values_are_null(st: Stack) -> None:
    """A program whose runs recorded no time and opened nothing: avg and p99 null, the metrics
    line's ratios null beside zero counts."""
    tid = (await st.create_trader())["id"]
    async with st.app.state.sessions() as s, s.begin():
        s.add(decision(tid, 1, at(1), None, status="failed", error_code="TIMEOUT", program_id=4))
    line = (await lines(st))[4]
    assert (line["avg_execution_ms"], line["p99_execution_ms"]) == (None, None)
    m = line["metrics"]
    assert (m["trades"], m["win_rate"], m["avg_return_pct"], m["profit_factor"]) == (
        0,
        None,
        None,
        None,
    )


async def test_live_paper_trades(st: Stack) -> None:
    """Two longs and two closes run through the real trader on the paper exchange: the long
    program ran twice (2 longs, run times recorded) and opened both round trips, whose net PnL
    its line sums; the close program ran twice (2 closes) and opened none."""
    tid = (await st.create_trader(trading_enabled=True))["id"]
    long_program = await st.create_program(sources.ALWAYS_LONG, "long")
    close_program = await st.create_program(sources.CLOSE_BTC, "close")
    opening = await st.bind(tid, long_program["id"])
    closing = await st.bind(tid, close_program["id"])
    for _ in range(2):
        for binding in (opening, closing):
            done = (
                await st.post(f"/api/account/{tid}/trigger", json={"binding_id": binding["id"]})
            ).json()
            assert done["status"] == "executed", done
    trips = (await st.api.get(f"/api/account/{tid}/round-trips")).json()["items"]
    net = sum(Decimal(t["net_pnl"]) for t in trips)
    got = await lines(st, account_id=tid)
    opened, closed = got[long_program["id"]], got[close_program["id"]]
    assert (opened["program_name"], opened["executions"], opened["timed_executions"]) == (
        "long",
        2,
        2,
    )
    assert opened["decision_distribution"]["long"] == 2
    assert opened["p99_execution_ms"] is not None and opened["p99_execution_ms"] >= 0
    assert (opened["metrics"]["trades"], Decimal(opened["metrics"]["total_pnl"])) == (2, net)
    assert closed["decision_distribution"]["close"] == 2 and closed["metrics"]["trades"] == 0
