"""GET /api/account/{id}/funding: a live trader's funding payments, newest first, as paid
(negative: received); another user's trader answers like a missing one."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from temporalio.client import Client

from db.models import FundingPaymentRecord
from tests.support.stack import Stack, full_stack, make_settings

T0 = datetime(2026, 12, 1, tzinfo=UTC)


@pytest.fixture
async def st(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> AsyncIterator[Stack]:
    async with full_stack(None, make_settings(temporal_address, sqlite_url)) as stack:
        yield stack


async def add_payments(st: Stack, account_id: int) -> None:
    async with st.app.state.sessions() as s, s.begin():
        for i, amount in enumerate(("1.2500000000", "-0.5")):
            s.add(FundingPaymentRecord(account_id=account_id, symbol="BTC", payment_id=f"p{i}",
                                       amount=Decimal(amount), rate=Decimal("0.0001"),
                                       paid_at=T0 + timedelta(hours=i)))  # fmt: skip


async def test_payments_newest_first(st: Stack) -> None:
    tid = (await st.create_trader())["id"]
    await add_payments(st, tid)
    page = (await st.api.get(f"/api/account/{tid}/funding")).json()
    assert page["total"] == 2
    assert [(p["payment_id"], p["amount"]) for p in page["items"]] == [
        ("p1", "-0.5"),
        ("p0", "1.25"),
    ]
    assert page["items"][1]["paid_at"] == T0.isoformat()


async def test_another_users_trader_is_a_missing_one(st: Stack) -> None:
    tid = (await st.create_trader())["id"]
    await add_payments(st, tid)
    async with st.user_client("b@example.com") as b:
        r = await b.get(f"/api/account/{tid}/funding")
    assert r.status_code == 404 and r.json()["code"] == "ACCOUNT_NOT_FOUND", r.text
    assert "p0" not in r.text
