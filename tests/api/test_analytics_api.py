"""GET /api/analytics/...: the summary and the breakdowns over a trader's recorded round trips
and equity points equal the figures worked out by hand; `days`, `account_id` and `source`
filter; another user's trader answers exactly like a missing one; the summary reads the same
on SQLite and PostgreSQL."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from temporalio.client import Client

from db.base import utcnow
from db.models import EquitySnapshot, RoundTripRecord
from domain.metrics import ratio_text
from tests.support.stack import Stack, full_stack, make_settings

D = Decimal
# Midnight UTC three days ago: the points and trips sit on whole UTC days inside any 30 days.
DAY0 = datetime.combine(utcnow().date(), datetime.min.time(), UTC) - timedelta(days=3)


@pytest.fixture
async def st(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> AsyncIterator[Stack]:
    async with full_stack(None, make_settings(temporal_address, sqlite_url)) as stack:
        yield stack


def at(day: float, hour: float = 0) -> datetime:
    return DAY0 + timedelta(days=day, hours=hour)


def trip(account_id: int, n: int, closed: datetime, net: str, **kw: Any) -> RoundTripRecord:
    fields: dict[str, Any] = {
        "symbol": "BTC",
        "side": "long",
        "notional": D(1000),
        "leverage": D(2),
        "fees": D(1),
        "funding": D(0),
        "exit_reason": "decision",
        "trigger_type": "scheduled",
        "program_id": None,
        "prompt_id": None,
        **kw,
    }
    return RoundTripRecord(
        account_id=account_id,
        opened_at=closed - timedelta(hours=2),
        closed_at=closed,
        entry_price=D(100),
        exit_price=D(100),
        size=D(10),
        gross_pnl=D(net) + fields["fees"],
        net_pnl=D(net),
        first_fill_id=2 * n + 1,
        last_fill_id=2 * n + 2,
        fill_count=2,
        **fields,
    )


async def record(st: Stack, account_id: int) -> None:
    """Three trades (+20 BTC long by program 1, -10 ETH short by prompt 2, +30 BTC long by
    program 1 on a signal) and an equity curve 1000 -> 1100 (peak) -> 900 -> 990 -> 1040."""
    async with st.app.state.sessions() as s, s.begin():
        s.add_all(
            [
                trip(account_id, 0, at(0, 10), "20", program_id=1),
                trip(
                    account_id,
                    1,
                    at(1, 10),
                    "-10",
                    symbol="ETH",
                    side="short",
                    notional=D(500),
                    leverage=D(5),
                    funding=D("0.5"),
                    exit_reason="stop_loss",
                    prompt_id=2,
                ),
                trip(account_id, 2, at(2, 10), "30", program_id=1, trigger_type="signal"),
            ]
        )
        for t, e in [
            (at(0, 1), 1000),
            (at(0, 12), 1100),
            (at(0, 23), 1050),
            (at(1, 10), 900),
            (at(1, 20), 990),
            (at(2, 12), 1040),
        ]:
            s.add(
                EquitySnapshot(
                    account_id=account_id,
                    time=t,
                    cash=D(e),
                    unrealized_pnl=D(0),
                    equity=D(e),
                    margin_used=D(0),
                )
            )


async def summary(st: Stack, tid: int) -> None:
    await record(st, tid)
    r = await st.api.get("/api/analytics/summary", params={"days": 30})
    assert r.status_code == 200, r.text
    m = r.json()
    assert (m["total_pnl"], m["total_trades"], m["wins"], m["losses"]) == ("40", 3, 2, 1)
    assert (m["win_rate"], m["best_trade_pnl"], m["worst_trade_pnl"]) == (
        "0.6666666667",
        "30",
        "-10",
    )
    assert (m["profit_factor"], m["expectancy"]) == ("5", "13.3333333333")
    assert (m["total_fees"], m["total_funding"]) == ("3", "0.5")
    assert m["avg_trade_duration_hours"] == "2"
    # on margin: 20 on 500, -10 on 100, 30 on 500 -> (4 - 10 + 6) / 3
    assert m["avg_return_pct"] == "0"
    assert m["max_drawdown_pct"] == ratio_text(200 / 1100 * 100)
    assert m["max_drawdown_abs"] == "200"
    d = [1050 / 1000 - 1, 990 / 1050 - 1, 1040 / 990 - 1]
    mean = math.fsum(d) / 3
    std = math.sqrt(math.fsum((x - mean) ** 2 for x in d) / 2)
    assert m["sharpe_ratio"] == ratio_text(mean / std * math.sqrt(365))
    assert m["equity_points"] == 6 and m["annualized_reliable"] is False
    assert m["total_return_pct"] == "4"


async def test_summary_is_the_hand_computed_one(st: Stack) -> None:
    await summary(st, (await st.create_trader())["id"])


async def test_summary_on_each_database(
    temporal_client: Client, temporal_address: str, database_url: str
) -> None:
    """Times, Decimals and the hourly equity read (SQL bucket arithmetic) on both databases."""
    async with full_stack(None, make_settings(temporal_address, database_url)) as st:
        await summary(st, (await st.create_trader())["id"])


async def test_breakdowns(st: Stack) -> None:
    tid = (await st.create_trader(name="Momentum"))["id"]
    await record(st, tid)

    async def get(path: str, **params: Any) -> list[dict[str, Any]]:
        r = await st.api.get(f"/api/analytics/{path}", params=params)
        assert r.status_code == 200, r.text
        return r.json()

    def rows(lines: list[dict[str, Any]], key: str) -> dict[Any, tuple[Any, ...]]:
        return {x[key]: (x["trades"], x["win_rate"], x["pnl"]) for x in lines}

    assert rows(await get("by-symbol"), "symbol") == {"BTC": (2, "1", "50"), "ETH": (1, "0", "-10")}
    assert rows(await get("by-operation"), "operation") == {
        "buy": (2, "1", "50"),
        "sell": (1, "0", "-10"),
    }
    strategies = {
        (x["strategy"], x["strategy_id"]): (x["trades"], x["strategy_name"])
        for x in await get("by-strategy")
    }
    assert strategies == {("program", 1): (2, None), ("prompt", 2): (1, None)}  # none of yours
    assert rows(await get("by-trigger-type"), "trigger_type") == {
        "scheduled": (2, "0.5", "10"),
        "signal": (1, "1", "30"),
    }
    (acct,) = await get("by-account")
    assert (acct["account_id"], acct["account_name"], acct["pnl"]) == (tid, "Momentum", "40")
    assert acct["max_drawdown_pct"] == ratio_text(200 / 1100 * 100)
    assert [x["exit_reason"] for x in await get("by-exit-reason")] == ["decision", "stop_loss"]
    days = await get("by-period", period="day")
    assert [x["period"] for x in days] == [at(i).date().isoformat() for i in range(3)]


async def test_days_account_and_source_filter(st: Stack) -> None:
    """A trip closed 40 days ago counts only with days=60; a live-only view of paper traders
    is empty; account_id narrows to one trader."""
    tid = (await st.create_trader())["id"]
    other = (await st.create_trader(name="other"))["id"]
    async with st.app.state.sessions() as s, s.begin():
        s.add(trip(tid, 0, utcnow() - timedelta(days=40), "7"))
        s.add(trip(other, 0, utcnow() - timedelta(days=1), "5"))
    url = "/api/analytics/summary"

    async def pnl(**params: Any) -> tuple[str, int]:
        r = await st.api.get(url, params=params)
        assert r.status_code == 200, r.text
        return r.json()["total_pnl"], r.json()["total_trades"]

    assert await pnl() == ("5", 1)
    assert await pnl(days=60) == ("12", 2)
    assert await pnl(days=60, account_id=tid) == ("7", 1)
    assert await pnl(days=60, source="paper") == ("12", 2)
    assert await pnl(days=60, source="live") == ("0", 0)


async def test_bad_parameters_are_422(st: Stack) -> None:
    for params in ({"days": 0}, {"days": 366}, {"source": "demo"}, {"account_id": "x"}):
        r = await st.api.get("/api/analytics/summary", params=params)
        assert r.status_code == 422, (params, r.text)
        assert r.json()["code"] == "VALIDATION_ERROR"
    r = await st.api.get("/api/analytics/by-period", params={"period": "year"})
    assert r.status_code == 422, r.text


async def test_another_users_trader_is_a_missing_one(st: Stack) -> None:
    tid = (await st.create_trader(name="A's trader"))["id"]
    await record(st, tid)
    async with st.user_client("b@example.com") as b:
        theirs = await b.get("/api/analytics/summary", params={"account_id": tid})
        missing = await b.get("/api/analytics/by-symbol", params={"account_id": 999999})
        own = await b.get("/api/analytics/summary")
        symbols = await b.get("/api/analytics/by-symbol")
    for r in (theirs, missing):
        assert r.status_code == 404, r.text
        assert r.json()["code"] == "ACCOUNT_NOT_FOUND"
    assert "A's" not in theirs.text
    assert (own.json()["total_trades"], own.json()["equity_points"]) == (0, 0)
    assert symbols.json() == []


async def test_the_period_starts_at_the_equity_before_it(st: Stack) -> None:
    """A point from before the period is its starting equity (at the period's start): the first
    day's move counts, in the return and the drawdown; older points do not."""
    tid = (await st.create_trader())["id"]
    async with st.app.state.sessions() as s, s.begin():
        for t, e in [
            (utcnow() - timedelta(days=50), 500),
            (utcnow() - timedelta(days=40), 1000),
            (at(0, 12), 800),
            (at(1, 12), 900),
        ]:
            s.add(
                EquitySnapshot(
                    account_id=tid,
                    time=t,
                    cash=D(e),
                    unrealized_pnl=D(0),
                    equity=D(e),
                    margin_used=D(0),
                )
            )
    m = (await st.api.get("/api/analytics/summary", params={"days": 30})).json()
    assert (m["equity_start"], m["equity_end"], m["equity_points"]) == ("1000", "900", 3)
    assert m["max_drawdown_pct"] == "20"
    assert m["period_start"] is not None
