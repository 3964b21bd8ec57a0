"""GET /api/account/{id}/asset-curve and /api/account/asset-curve: the stored equity points
downsampled to the last of each bucket, ending with the equity now (what /overview says),
money as decimal strings; another user's trader is a 404 like a missing one, and a bad range or
timeframe a 422. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session
from temporalio.client import Client

from db import equity
from db.base import utcnow
from domain.equity import EquityPoint, bucket_start
from tests.support.stack import Stack, full_stack, make_settings

MIN = timedelta(minutes=1)


@pytest.fixture
async def st(
    temporal_client: Client, temporal_address: str, database_url: str
) -> AsyncIterator[Stack]:
    settings = make_settings(temporal_address, database_url)
    async with full_stack(None, settings, worker=False) as stack:
        stack.app.state.test_database_url = database_url
        yield stack


def _store(st: Stack, account_id: int, *at_equity: tuple[datetime, str]) -> None:
    engine = create_engine(st.app.state.test_database_url)
    with Session(engine) as s, s.begin():
        equity.record(
            s,
            *(
                EquityPoint(account_id=account_id, time=at, cash=Decimal(v),
                            unrealized_pnl=Decimal(0), equity=Decimal(v), margin_used=Decimal(0))
                for at, v in at_equity
            ),
        )  # fmt: skip
    engine.dispose()


async def test_the_curve_is_downsampled_and_ends_with_the_equity_now(st: Stack) -> None:
    tid = (await st.create_trader(initial_capital="10000"))["account_id"]
    now = bucket_start(utcnow(), 300)  # the current 5-minute bucket
    _store(
        st,
        tid,
        (now - 10 * MIN, "9000"),
        (now - 7 * MIN, "9100"),  # the last of its bucket
        (now - 4 * MIN, "9200"),
        (now, "9300"),  # in the current bucket: the equity now replaces it
    )
    r = await st.api.get(f"/api/account/{tid}/asset-curve", params={"timeframe": "5m"})
    assert r.status_code == 200, r.text
    body = r.json()
    overview = (await st.api.get(f"/api/account/{tid}/overview")).json()
    assert body["current"] is True and body["timeframe"] == "5m"
    assert [p["equity"] for p in body["points"]] == ["9100", "9200", overview["equity"]]
    assert body["points"][-1] == {
        "time": body["points"][-1]["time"], "cash": "10000", "unrealized_pnl": "0",
        "equity": "10000", "margin_used": "0",
    }  # fmt: skip
    assert datetime.fromisoformat(body["points"][-1]["time"]) >= now


async def test_a_past_range_has_no_current_point(st: Stack) -> None:
    tid = (await st.create_trader())["account_id"]
    then = bucket_start(utcnow(), 3600) - timedelta(hours=5)
    _store(st, tid, (then, "1"), (then + 30 * MIN, "2"), (then + 70 * MIN, "3"))
    params = {"timeframe": "1h", "start": then.isoformat(), "end": (then + MIN * 90).isoformat()}
    body = (await st.api.get(f"/api/account/{tid}/asset-curve", params=params)).json()
    assert body["current"] is False
    assert [(p["equity"], p["time"]) for p in body["points"]] == [
        ("2", (then + 30 * MIN).isoformat().replace("+00:00", "Z")),
        ("3", (then + 70 * MIN).isoformat().replace("+00:00", "Z")),
    ]


async def test_all_traders_each_have_their_curve(st: Stack) -> None:
    a = (await st.create_trader(name="a", initial_capital="1000"))["account_id"]
    b = (await st.create_trader(name="b", initial_capital="2000"))["account_id"]
    hidden = (await st.create_trader(name="h", show_on_dashboard=False))["account_id"]
    _store(st, a, (utcnow() - timedelta(hours=2), "999"))
    r = await st.api.get("/api/account/asset-curve", params={"timeframe": "1h"})
    assert r.status_code == 200, r.text
    traders = {t["account_id"]: t for t in r.json()["traders"]}
    assert set(traders) == {a, b}  # as /list shows them: not the hidden one
    assert [p["equity"] for p in traders[a]["points"]] == ["999", "1000"]
    assert [p["equity"] for p in traders[b]["points"]] == ["2000"]
    r = await st.api.get("/api/account/asset-curve", params={"include_hidden": "true"})
    assert {t["account_id"] for t in r.json()["traders"]} == {a, b, hidden}


async def test_another_users_trader_is_not_found(st: Stack) -> None:
    tid = (await st.create_trader(name="A's trader"))["account_id"]
    _store(st, tid, (utcnow() - MIN, "123"))
    async with st.user_client("b@example.com") as b:
        theirs = await b.get(f"/api/account/{tid}/asset-curve")
        missing = await b.get("/api/account/999999/asset-curve")
        everything = await b.get("/api/account/asset-curve")
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json()["code"] == missing.json()["code"] == "ACCOUNT_NOT_FOUND"
    assert everything.json()["traders"] == []


BAD = [
    {"timeframe": "7d"},
    {"start": "2026-12-08T00:00:00Z", "end": "2026-12-07T00:00:00Z"},  # start after end
    {"timeframe": "5m", "start": "2026-01-01T00:00:00Z", "end": "2026-12-01T00:00:00Z"},  # long
    {"start": "0001-01-01T00:00:00+05:00"},  # before the first representable UTC time
    {"end": "not a time"},
]


async def test_a_bad_timeframe_or_range_is_refused(st: Stack) -> None:
    tid = (await st.create_trader())["account_id"]
    for params in BAD:
        for url in (f"/api/account/{tid}/asset-curve", "/api/account/asset-curve"):
            r = await st.api.get(url, params=params)
            assert r.status_code == 422, (url, params, r.text)
            assert r.json()["code"] == "VALIDATION_ERROR"
