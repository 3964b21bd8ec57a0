"""A manual order is placed once: the same Idempotency-Key sent twice answers with the first
order, and a body other than the first is refused."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select

from db.models import OrderRecord
from tests.orders.conftest import order, trader
from tests.support.stack import Stack


async def test_the_same_idempotency_key_twice_places_one_order(st: Stack) -> None:
    tid = await trader(st)
    key = {"Idempotency-Key": "order-once-1"}
    first = await order(st, tid, quantity="0.01", headers=key)
    again = await order(st, tid, quantity="0.01", headers=key)
    assert first.status_code == again.status_code == 200, (first.text, again.text)
    assert first.json()["id"] == again.json()["id"]
    async with st.deps.sessions() as s:
        assert await s.scalar(select(func.count()).select_from(OrderRecord)) == 1
    (position,) = (await st.api.get(f"/api/account/{tid}/positions")).json()["positions"]
    assert Decimal(position["size"]) == Decimal("0.01")


async def test_the_same_key_with_another_body_is_refused(st: Stack) -> None:
    tid = await trader(st)
    key = {"Idempotency-Key": "order-once-2"}
    assert (await order(st, tid, quantity="0.01", headers=key)).status_code == 200
    r = await order(st, tid, quantity="0.02", headers=key)
    assert r.status_code == 422 and r.json()["code"] == "IDEMPOTENCY_KEY_REUSED", r.text
