"""Who may export what, and which records: another user's trader answers exactly like a missing
one; a kind that does not exist and a range that ends before it starts are 422s; a range bounds
every kind."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from temporalio.client import Client

from db.models import EquitySnapshot, RoundTripRecord, TradeRecord
from tests.support.stack import Stack, full_stack, make_settings

T0 = datetime(2026, 12, 1, tzinfo=UTC)
KINDS = ("decisions", "orders", "fills", "round-trips", "equity")


@pytest.fixture
async def st(
    temporal_client: Client, temporal_address: str, database_url: str
) -> AsyncIterator[Stack]:
    async with full_stack(None, make_settings(temporal_address, database_url), worker=False) as s:
        yield s


async def _hourly_records(st: Stack, tid: int, hours: int) -> None:
    """A fill, a round trip and an equity point at T0 + each hour."""
    async with st.app.state.sessions() as s, s.begin():
        for h in range(hours):
            at = T0 + timedelta(hours=h)
            s.add(
                TradeRecord(
                    account_id=tid,
                    trade_id=f"t{h}",
                    symbol="BTC",
                    side="buy",
                    size=Decimal(1),
                    price=Decimal(100 + h),
                    fee=Decimal(0),
                    realized_pnl=Decimal(0),
                    created_at=at,
                )
            )
            s.add(
                RoundTripRecord(
                    account_id=tid,
                    symbol="BTC",
                    side="long",
                    opened_at=at,
                    closed_at=at,
                    entry_price=Decimal(100),
                    exit_price=Decimal(101),
                    size=Decimal(1),
                    notional=Decimal(100),
                    fees=Decimal(0),
                    funding=Decimal(0),
                    gross_pnl=Decimal(h),
                    net_pnl=Decimal(h),
                    exit_reason="decision",
                    first_fill_id=1,
                    last_fill_id=h + 1,
                    fill_count=1,
                )
            )
            s.add(
                EquitySnapshot(
                    account_id=tid,
                    time=at,
                    cash=Decimal(1000),
                    equity=Decimal(h),
                    unrealized_pnl=Decimal(0),
                    margin_used=Decimal(0),
                )
            )
    # fmt: skip


async def test_another_users_trader_is_a_missing_one(st: Stack) -> None:
    tid = (await st.create_trader(name="A's trader"))["id"]
    await _hourly_records(st, tid, 2)
    urls = ["export.json", *(f"export/{k}.csv" for k in KINDS)]
    async with st.user_client("b@example.com") as b:
        for url in urls:
            theirs = await b.get(f"/api/account/{tid}/{url}")
            missing = await b.get(f"/api/account/999999/{url}")
            for r in (theirs, missing):
                assert r.status_code == 404, (url, r.text)
                assert r.json()["code"] == "ACCOUNT_NOT_FOUND"
            assert "A's" not in theirs.text and "BTC" not in theirs.text


async def test_an_unknown_kind_is_a_422_naming_the_kinds(st: Stack) -> None:
    tid = (await st.create_trader())["id"]
    r = await st.api.get(f"/api/account/{tid}/export/positions.csv")
    assert r.status_code == 422 and r.json()["code"] == "VALIDATION_ERROR", r.text
    assert "round-trips" in r.json()["error"]


async def test_a_range_that_ends_before_it_starts_is_a_422(st: Stack) -> None:
    tid = (await st.create_trader())["id"]
    backwards = {"start": "2026-12-02T00:00:00Z", "end": "2026-12-01T00:00:00Z"}
    for url in ("export.json", "export/fills.csv"):
        r = await st.api.get(f"/api/account/{tid}/{url}", params=backwards)
        assert r.status_code == 422 and r.json()["error"] == "start: must be before end", r.text


async def test_a_range_bounds_every_kind(st: Stack) -> None:
    """Both ends included; a time without a zone is UTC; the file name carries the range."""
    tid = (await st.create_trader())["id"]
    await _hourly_records(st, tid, 6)
    span = {"start": "2026-12-01T02:00:00", "end": "2026-12-01T04:00:00+00:00"}
    r = await st.api.get(f"/api/account/{tid}/export.json", params=span)
    doc = r.json()
    assert (doc["start"], doc["end"]) == ("2026-12-01T02:00:00+00:00", "2026-12-01T04:00:00+00:00")
    assert [f["trade_id"] for f in doc["fills"]] == ["t2", "t3", "t4"]
    assert [t["net_pnl"] for t in doc["round_trips"]] == ["2", "3", "4"]
    assert [p["equity"] for p in doc["equity"]] == ["2", "3", "4"]
    assert r.headers["content-disposition"] == (
        f'attachment; filename="trader-{tid}-export-20261201T020000Z-20261201T040000Z.json"'
    )
    text = (await st.api.get(f"/api/account/{tid}/export/fills.csv", params=span)).text
    assert text.count("\r\n") == 4 and "t2" in text and "t5" not in text  # header + 3


async def test_a_trader_without_history_exports_headers_and_empty_sections(st: Stack) -> None:
    tid = (await st.create_trader())["id"]
    for kind in KINDS:
        r = await st.api.get(f"/api/account/{tid}/export/{kind}.csv")
        assert r.status_code == 200 and r.text.count("\r\n") == 1, (kind, r.text)
    doc = (await st.api.get(f"/api/account/{tid}/export.json")).json()
    assert [doc[k] for k in ("decisions", "orders", "fills", "round_trips", "equity")] == [[]] * 5
