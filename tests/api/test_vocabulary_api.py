"""The API speaks the platform's vocabularies: each field that holds one is documented in the
OpenAPI schema with exactly its enum's values, takes every member as it is, and refuses any
other value with the usual 422 naming the field and what it allows."""

from __future__ import annotations

from collections.abc import AsyncIterator
from enum import StrEnum
from typing import Any

import pytest
from temporalio.client import Client

from api.main import create_app
from domain.orders import OrderStatus
from domain.trader import TraderStatus
from domain.vocabulary import (
    AccountType,
    DecisionStatus,
    Exchange,
    ExchangeEnvironment,
    PositionSide,
    Side,
)
from tests.support.stack import Stack, full_stack, make_settings

# (schema, field, enum): every API field that holds a vocabulary.
FIELDS: list[tuple[str, str, type[StrEnum]]] = [
    ("AccountCreate", "account_type", AccountType),
    ("AccountCreate", "exchange", Exchange),
    ("ExchangeConnect", "environment", ExchangeEnvironment),
    ("AccountOut", "account_type", AccountType),
    ("AccountOut", "exchange", Exchange),
    ("AccountOut", "status", TraderStatus),
    ("AccountOut", "exchange_environment", ExchangeEnvironment),
    ("OverviewOut", "exchange", Exchange),
    ("OverviewOut", "status", TraderStatus),
    ("DecisionOut", "status", DecisionStatus),
    ("TriggerOut", "status", DecisionStatus),
    ("PositionOut", "side", PositionSide),
    ("OrderOutcome", "side", Side),
    ("OrderOutcome", "status", OrderStatus),
]


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        ref = node.get("$ref")
        return ([ref] if ref else []) + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


@pytest.mark.parametrize("schema,field,enum", FIELDS, ids=[f"{s}.{f}" for s, f, _ in FIELDS])
def test_openapi_lists_exactly_the_enum(schema: str, field: str, enum: type[StrEnum]) -> None:
    spec = create_app(make_settings("127.0.0.1:1", "sqlite:///unused.db")).openapi()
    components = spec["components"]["schemas"]
    refs = _refs(components[schema]["properties"][field])
    assert len(refs) == 1, (schema, field, refs)
    listed = components[refs[0].rsplit("/", 1)[1]]["enum"]
    assert listed == [m.value for m in enum]


@pytest.fixture
async def st(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> AsyncIterator[Stack]:
    async with full_stack(None, make_settings(temporal_address, sqlite_url), worker=False) as s:
        yield s


def assert_refused(r: Any, field: str, enum: type[StrEnum]) -> None:
    assert r.status_code == 422, r.text
    body = r.json()
    assert set(body) == {"error", "code", "request_id"} and body["code"] == "VALIDATION_ERROR"
    assert body["error"].startswith(f"{field}: "), body
    assert all(f"'{m.value}'" in body["error"] for m in enum), body


async def test_every_member_is_taken_and_echoed(st: Stack) -> None:
    for account_type in AccountType:
        for exchange in Exchange:
            body = {"name": "t", "account_type": account_type.value, "exchange": exchange.value}
            r = await st.post("/api/account/", body)
            assert r.status_code == 201, r.text
            out = r.json()
            assert (out["account_type"], out["exchange"]) == (account_type, exchange)
            assert out["status"] == TraderStatus.PAUSED and out["exchange_environment"] is None


async def test_a_value_outside_the_vocabulary_is_a_422(st: Stack) -> None:
    assert_refused(await st.post("/api/account/", {"name": "t", "exchange": "kraken"}), "exchange",
                   Exchange)  # fmt: skip
    assert_refused(await st.post("/api/account/", {"name": "t", "account_type": "script"}),
                   "account_type", AccountType)  # fmt: skip
    live = await st.post("/api/account/", {"name": "t", "exchange": Exchange.BINANCE.value})
    r = await st.api.put(
        f"/api/account/{live.json()['id']}/exchange",
        json={"environment": "devnet", "api_key": "k" * 20, "api_secret": "s" * 20},
    )
    assert_refused(r, "environment", ExchangeEnvironment)
