"""POST /api/programs/backtest refuses what it cannot run, before anything starts: someone
else's (or no) program or trader is 404, a broken config a 422 naming the field, too many
decisions 422 RANGE_TOO_LARGE, a symbol with no stored candles 422.

Why: a user puts money behind what a backtest says; a run started on a config it misread (a fee
of -0.1 %, a lowercase symbol matched to nothing, dates the wrong way round) would answer with
a confident, wrong report instead of an error."""

from __future__ import annotations

from typing import Any

import pytest
from temporalio.client import Client

from tests.programs import HOLD
from tests.support.stack import Stack, full_stack, make_settings

CONFIG: dict[str, Any] = {
    "symbols": ["BTC"],
    "start_date": "2025-01-01T00:00:00Z",
    "end_date": "2025-01-02T00:00:00Z",
    "interval": "1h",
}


async def _post(st: Stack, program_id: int, **config: Any) -> Any:
    body = {"program_id": program_id, "config": {**CONFIG, **config}}
    return await st.post("/api/programs/backtest", body)


async def _program(st: Stack) -> int:
    return int((await st.create_program(HOLD))["id"])


BAD = [
    ({"start_date": "yesterday"}, "config.start_date"),
    ({"end_date": "2024-12-31T00:00:00Z"}, "end_date must be after start_date"),
    ({"end_date": "2025-01-01T00:00:00Z"}, "end_date must be after start_date"),
    ({"interval": "2h"}, "config.interval"),
    ({"symbols": ["btc"]}, "config.symbols"),
    ({"symbols": []}, "config.symbols"),
    ({"symbols": ["BTC", "BTC"]}, "config.symbols"),
    ({"taker_fee_pct": "-0.1"}, "config.taker_fee_pct"),
    ({"maker_fee_pct": -1}, "config.maker_fee_pct"),
    ({"slippage_pct": "NaN"}, "config.slippage_pct"),
    ({"initial_balance": "0"}, "config.initial_balance"),
    ({"intrabar": "tick"}, "config.intrabar"),
    ({"leverage": 3}, "config.leverage"),
]


@pytest.mark.parametrize(("config", "field"), BAD)
async def test_a_broken_config_is_422_naming_the_field(
    temporal_client: Client,
    temporal_address: str,
    sqlite_url: str,
    config: dict[str, Any],
    field: str,
) -> None:
    async with full_stack(None, make_settings(temporal_address, sqlite_url), worker=False) as st:
        r = await _post(st, await _program(st), **config)
        assert r.status_code == 422, r.text
        assert r.json()["code"] == "VALIDATION_ERROR" and field in r.json()["error"], r.text


async def test_too_many_decisions_is_range_too_large(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    """Two years of 1m bars are 1,051,201 decisions, more than the 600,000 allowed."""
    async with full_stack(None, make_settings(temporal_address, sqlite_url), worker=False) as st:
        r = await _post(st, await _program(st), interval="1m", end_date="2027-01-01T00:00:00Z")
        assert (r.status_code, r.json()["code"]) == (422, "RANGE_TOO_LARGE"), r.text
        assert "600000" in r.json()["error"]


async def test_a_range_without_a_bar_close_is_422(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    async with full_stack(None, make_settings(temporal_address, sqlite_url), worker=False) as st:
        r = await _post(
            st,
            await _program(st),
            interval="1d",
            start_date="2025-01-01T01:00:00Z",
            end_date="2025-01-01T23:00:00Z",
        )
        assert (r.status_code, r.json()["code"]) == (422, "INVALID_RANGE"), r.text


async def test_an_unknown_program_is_404(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    async with full_stack(None, make_settings(temporal_address, sqlite_url), worker=False) as st:
        r = await _post(st, 4242)
        assert (r.status_code, r.json()["code"]) == (404, "PROGRAM_NOT_FOUND"), r.text


async def test_another_users_program_is_404(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    async with full_stack(None, make_settings(temporal_address, sqlite_url), worker=False) as st:
        theirs = await _program(st)
        async with st.user_client("other@example.com") as other:
            r = await other.post(
                "/api/programs/backtest", json={"program_id": theirs, "config": CONFIG}
            )
        assert (r.status_code, r.json()["code"]) == (404, "PROGRAM_NOT_FOUND"), r.text


async def test_another_users_trader_is_404(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    async with full_stack(None, make_settings(temporal_address, sqlite_url), worker=False) as st:
        trader = await st.create_trader(symbols=["BTC"])
        async with st.user_client("other@example.com") as other:
            mine = (await other.post("/api/programs/", json={"name": "p", "code": HOLD})).json()
            r = await other.post(
                "/api/programs/backtest",
                json={"program_id": mine["id"], "account_id": trader["id"], "config": CONFIG},
            )
        assert (r.status_code, r.json()["code"]) == (404, "ACCOUNT_NOT_FOUND"), r.text


async def test_symbols_outside_the_traders_are_422(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    """The trader supplies the symbol universe: a symbol it does not trade is refused."""
    async with full_stack(None, make_settings(temporal_address, sqlite_url), worker=False) as st:
        trader = await st.create_trader(symbols=["BTC"])
        r = await st.post(
            "/api/programs/backtest",
            {
                "program_id": await _program(st),
                "account_id": trader["id"],
                "config": {**CONFIG, "symbols": ["BTC", "ETH"]},
            },
        )
        assert r.status_code == 422, r.text
        assert "config.symbols" in r.json()["error"] and "ETH" in r.json()["error"]


async def test_a_symbol_without_stored_candles_is_422(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    async with full_stack(None, make_settings(temporal_address, sqlite_url), worker=False) as st:
        r = await _post(st, await _program(st), symbols=["DOGE"])
        assert (r.status_code, r.json()["code"]) == (422, "SYMBOL_NOT_SUPPORTED"), r.text
        assert "config.symbols" in r.json()["error"] and "DOGE" in r.json()["error"]


async def test_a_date_at_the_edge_of_the_calendar_is_422_not_500(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    """Year 1 at UTC+14 is before the first representable UTC instant."""
    async with full_stack(None, make_settings(temporal_address, sqlite_url), worker=False) as st:
        r = await _post(st, await _program(st), start_date="0001-01-01T00:00:00+14:00")
        assert r.status_code == 422, r.text
        assert "config.start_date" in r.json()["error"]
