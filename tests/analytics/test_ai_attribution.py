"""GET /api/analytics/ai-attribution: decision accuracy scored on candles inserted by hand, the
metrics line per LLM model across two traders, and per regime at entry; nulls when undefined."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from temporalio.client import Client

from tests.analytics.rows import HOUR_MS, at, candle, decision, ms, round_trip
from tests.support.stack import Stack, full_stack, make_settings


@pytest.fixture
async def st(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> AsyncIterator[Stack]:
    async with full_stack(None, make_settings(temporal_address, sqlite_url)) as stack:
        yield stack


def llm(model: str, **usage: Any) -> dict[str, Any]:
    return {"prompt_id": 1, "model": model, "system": "s", "user": "u", **usage}


async def get(st: Stack, **params: Any) -> dict[str, Any]:
    r = await st.api.get("/api/analytics/ai-attribution", params=params)
    assert r.status_code == 200, r.text
    return r.json()


async def test_accuracy_is_scored_on_the_forward_return_of_stored_bars(st: Stack) -> None:
    """Decisions at T0 = day 0 10:00 (horizon 4 bars of 1h): BTC opens the T0 bar at 100 and
    closes the T0+3h bar at 110 (+10 %), ETH 2000 -> 2001.5 (+0.075 %, under the 0.09 % round
    trip cost of 2 x 4.5 bps). A long at T0 and one at 09:30 (its window starts at the next
    bar's open, T0) are right; the short is wrong; a long a day later has no bars (unscored).
    The hold on ETH is right, the hold naming no symbol (its snapshot: BTC) is wrong (BTC moved
    10 %). The close is counted, not scored; the failed call (no decision) and the program's
    decision are not in it."""
    tid = (await st.create_trader())["id"]
    source = st.app.state.feed.name
    t0 = at(10)
    btc = [("100", "102"), ("102", "105"), ("105", "104"), ("104", "110")]
    eth = [("2000", "2003"), ("2003", "1999"), ("1999", "2002"), ("2002", "2001.5")]
    async with st.app.state.sessions() as s, s.begin():
        for k, (o, c) in enumerate(btc):
            s.add(candle(source, "BTC", ms(t0) + k * HOUR_MS, o, c))
        for k, (o, c) in enumerate(eth):
            s.add(candle(source, "ETH", ms(t0) + k * HOUR_MS, o, c))
        m = llm("gpt-a")
        s.add_all(
            [
                decision(tid, 1, t0, "long", "BTC", llm=m),
                decision(tid, 2, at(9.5), "long", "BTC", llm=m),
                decision(tid, 3, t0, "short", "BTC", status="denied", llm=m),
                decision(tid, 4, at(34), "long", "BTC", llm=m),
                decision(tid, 5, t0, "hold", "ETH", status="hold", llm=m),
                decision(tid, 6, t0, "hold", None, status="hold", llm=m),
                decision(tid, 7, t0, "close", "BTC", llm=m),
                decision(tid, 8, t0, None, None, status="invalid", llm=m),
                decision(tid, 9, t0, "short", "BTC", program_id=3),
            ]
        )
    body = await get(st)
    assert (body["horizon"], body["round_trip_cost_pct"]) == (4, "0.09")
    overall = body["accuracy"]["overall"]
    assert overall["long"] == {
        "decisions": 3,
        "scored": 2,
        "correct": 2,
        "unscored": 1,
        "accuracy": "1",
    }
    assert overall["short"] == {
        "decisions": 1,
        "scored": 1,
        "correct": 0,
        "unscored": 0,
        "accuracy": "0",
    }
    assert overall["directional"] == {
        "decisions": 4,
        "scored": 3,
        "correct": 2,
        "unscored": 1,
        "accuracy": "0.6666666667",
    }
    assert overall["hold"] == {
        "decisions": 2,
        "scored": 2,
        "correct": 1,
        "unscored": 0,
        "accuracy": "0.5",
    }
    assert overall["close_decisions"] == 1
    (mine,) = body["accuracy"]["by_trader"]
    assert mine["account_id"] == tid and mine["directional"] == overall["directional"]


async def test_the_horizon_moves_the_window(st: Stack) -> None:
    """horizon=1: the return of the T0 bar alone (100 -> 99: the long is wrong)."""
    tid = (await st.create_trader())["id"]
    source = st.app.state.feed.name
    async with st.app.state.sessions() as s, s.begin():
        s.add(candle(source, "BTC", ms(at(10)), "100", "99"))
        s.add(candle(source, "BTC", ms(at(11)), "99", "120"))
        s.add(decision(tid, 1, at(10), "long", "BTC", llm=llm("m")))
    one = (await get(st, horizon=1))["accuracy"]["overall"]["long"]
    two = (await get(st, horizon=2))["accuracy"]["overall"]["long"]
    assert (one["correct"], one["scored"]) == (0, 1)
    assert (two["correct"], two["scored"]) == (1, 1)


async def test_models_compared_across_two_traders(st: Stack) -> None:
    """Trader A on gpt-a opened +10 and -4 (2 trades, win rate 0.5, PnL 6, profit factor 10/4)
    from decisions of 100+200 prompt tokens, 10+20 completion tokens, $0.001+$0.002; trader B on
    gpt-b opened +5 (no loser: profit factor null) with no cost recorded (null). A round trip
    no model's decision opened is not in it."""
    a = (await st.create_trader(name="A"))["id"]
    b = (await st.create_trader(name="B"))["id"]
    async with st.app.state.sessions() as s, s.begin():
        s.add_all(
            [
                decision(a, 1, at(1), "long", "BTC", llm=llm("gpt-a", prompt_tokens=100,
                         completion_tokens=10, cost_usd="0.001")),
                decision(a, 2, at(5), "long", "BTC", llm=llm("gpt-a", prompt_tokens=200,
                         completion_tokens=20, cost_usd="0.002")),
                decision(b, 1, at(1), "short", "BTC", llm=llm("gpt-b", prompt_tokens=50)),
                decision(b, 2, at(3), "long", "BTC", program_id=9, run_ms=5),
            ]
        )  # fmt: skip
        await s.flush()
        s.add_all(
            [
                round_trip(a, 0, at(3), "10", entry=f"d-{a}-1"),
                round_trip(a, 1, at(7), "-4", entry=f"d-{a}-2"),
                round_trip(b, 0, at(3), "5", entry=f"d-{b}-1", side="short"),
                round_trip(b, 1, at(6), "100", entry=f"d-{b}-2"),
            ]
        )
    models = {m["model"]: m for m in (await get(st))["models"]}
    assert set(models) == {"gpt-a", "gpt-b"}
    ga, gb = models["gpt-a"], models["gpt-b"]
    assert (ga["trades"], ga["win_rate"], ga["total_pnl"], ga["profit_factor"]) == (
        2,
        "0.5",
        "6",
        "2.5",
    )
    assert (ga["decisions"], ga["prompt_tokens"], ga["completion_tokens"]) == (2, 300, 30)
    assert (ga["cost_usd"], ga["priced_decisions"]) == ("0.003", 2)
    assert (gb["trades"], gb["total_pnl"], gb["profit_factor"]) == (1, "5", None)
    assert (gb["decisions"], gb["prompt_tokens"], gb["completion_tokens"]) == (1, 50, None)
    assert (gb["cost_usd"], gb["priced_decisions"]) == (None, 0)


def klines(ranges: list[float]) -> list[list[float]]:
    """1h rows [open time, open, high, low, close, volume] around a flat 100 with these
    high-low ranges."""
    return [
        [k * HOUR_MS, 100.0, 100.0 + r / 2, 100.0 - r / 2, 100.0, 1.0] for k, r in enumerate(ranges)
    ]


async def test_regime_is_the_entry_snapshots(st: Stack) -> None:
    """The entry decision's snapshot: 99 bars of range 1 then one of range 20. Wilder's ATR(14)
    goes from 1 to (13 x 1 + 20) / 14 = 2.36, so NATR(14) is 2.36 % against a median of 1 %:
    at least 1.5 x, `volatile`. A snapshot of 10 bars (under 50) is `unknown`."""
    tid = (await st.create_trader())["id"]
    volatile = {"now": at(1).isoformat(), "klines": {"BTC": {"1h": klines([1.0] * 99 + [20.0])}}}
    short = {"now": at(1).isoformat(), "klines": {"BTC": {"1h": klines([1.0] * 10)}}}
    async with st.app.state.sessions() as s, s.begin():
        s.add(decision(tid, 1, at(1), "long", "BTC", llm=llm("m"), snapshot=volatile))
        s.add(decision(tid, 2, at(1), "long", "BTC", llm=llm("m"), snapshot=short))
        await s.flush()
        s.add(round_trip(tid, 0, at(3), "8", entry=f"d-{tid}-1"))
        s.add(round_trip(tid, 1, at(4), "-2", entry=f"d-{tid}-2"))
    regimes = {r["regime"]: r for r in (await get(st))["regimes"]}
    assert set(regimes) == {"volatile", "unknown"}
    assert (regimes["volatile"]["trades"], regimes["volatile"]["total_pnl"]) == (1, "8")
    assert (regimes["unknown"]["trades"], regimes["unknown"]["total_pnl"]) == (1, "-2")


async def test_nothing_to_score_is_null_not_zero(st: Stack) -> None:
    """No decisions: every share is null beside its zero counts; no models, no regimes."""
    await st.create_trader()
    body = await get(st)
    assert body["accuracy"]["overall"]["directional"] == {
        "decisions": 0,
        "scored": 0,
        "correct": 0,
        "unscored": 0,
        "accuracy": None,
    }
    assert body["accuracy"]["by_trader"] == []
    assert (body["models"], body["regimes"]) == ([], [])


async def test_another_users_trader_is_a_missing_one(st: Stack) -> None:
    tid = (await st.create_trader())["id"]
    async with st.user_client("b@example.com") as b:
        r = await b.get("/api/analytics/ai-attribution", params={"account_id": tid})
    assert r.status_code == 404 and r.json()["code"] == "ACCOUNT_NOT_FOUND", r.text
