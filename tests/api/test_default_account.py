"""GET /api/account/overview: the caller's default trader (their oldest one not deleted),
answered as GET /api/account/{id}/overview answers it; none is a 404."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from temporalio.client import Client

from tests.support.stack import Stack, full_stack, make_settings

URL = "/api/account/overview"


@pytest.fixture
async def st(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> AsyncIterator[Stack]:
    async with full_stack(None, make_settings(temporal_address, sqlite_url), worker=False) as s:
        yield s


async def test_no_trader_yet_is_a_404(st: Stack) -> None:
    r = await st.api.get(URL)
    assert r.status_code == 404, r.text
    assert r.json()["code"] == "ACCOUNT_NOT_FOUND"


async def test_the_oldest_trader_not_deleted_is_the_default(st: Stack) -> None:
    first = (await st.create_trader(name="first", show_on_dashboard=False))["id"]
    second = (await st.create_trader(name="second"))["id"]
    default = (await st.api.get(URL)).json()
    assert default == (await st.api.get(f"/api/account/{first}/overview")).json()
    assert (await st.api.delete(f"/api/account/{first}")).status_code == 200
    assert (await st.api.get(URL)).json()["id"] == second


async def test_another_users_trader_is_never_the_default(st: Stack) -> None:
    await st.create_trader(name="A's trader")
    async with st.user_client("b@example.com") as b:
        r = await b.get(URL)
    assert r.status_code == 404 and "A's" not in r.text, r.text
