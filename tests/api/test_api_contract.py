"""API contract: CRUD, validation, dry runs and the error envelope, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from temporalio.client import Client

from tests import programs
from tests.support.stack import Stack, full_stack, make_settings


@pytest.fixture
async def st(temporal_client: Client, temporal_address: str, database_url: str):  # type: ignore[no-untyped-def]
    async with full_stack(None, make_settings(temporal_address, database_url)) as stack:
        yield stack


def assert_error(r, status: int, code: str) -> None:  # type: ignore[no-untyped-def]
    assert r.status_code == status, r.text
    body = r.json()
    assert body["code"] == code, body
    assert body["error"] and body["request_id"].startswith("req_")
    assert set(body) == {"error", "code", "request_id"}


async def test_health(st: Stack) -> None:
    r = await st.api.get("/api/health")
    assert r.json() == {"status": "healthy"}


async def test_error_envelope(st: Stack) -> None:
    assert_error(await st.api.get("/api/account/999"), 404, "ACCOUNT_NOT_FOUND")
    assert_error(await st.api.get("/api/nothing-here"), 404, "NOT_FOUND")
    r = await st.api.post(
        "/api/account/", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert_error(r, 400, "INVALID_JSON")
    assert_error(await st.post("/api/account/", {"name": ""}), 422, "VALIDATION_ERROR")
    assert_error(
        await st.post("/api/account/", {"name": "x", "max_leverage": "abc"}),
        422,
        "VALIDATION_ERROR",
    )
    assert_error(
        await st.post("/api/account/", {"name": "x", "surprise": 1}), 422, "VALIDATION_ERROR"
    )
    live = await st.post("/api/account/", {"name": "x", "exchange": "binance"})
    assert live.status_code == 201 and live.json()["exchange_connected"] is False
    assert_error(
        await st.post(f"/api/account/{live.json()['id']}/start"), 409, "EXCHANGE_NOT_CONNECTED"
    )
    assert_error(
        await st.api.put(
            f"/api/account/{live.json()['id']}/exchange", json={"environment": "testnet"}
        ),
        422,
        "VALIDATION_ERROR",
    )
    assert_error(
        await st.post("/api/account/", {"name": "x", "symbols": ["NOPE"]}),
        422,
        "SYMBOL_NOT_SUPPORTED",
    )
    assert_error(
        await st.post("/api/account/", {"name": "x", "initial_capital": "NaN"}),
        422,
        "VALIDATION_ERROR",
    )
    t = await st.create_trader()
    tid = t["account_id"]
    assert_error(await st.post(f"/api/account/{tid}/trigger"), 409, "TRADER_PAUSED")
    await st.post(f"/api/account/{tid}/start")
    assert_error(await st.post(f"/api/account/{tid}/trigger"), 409, "NO_STRATEGY_BOUND")
    await st.api.delete(f"/api/account/{tid}")
    assert_error(
        await st.api.put(f"/api/account/{tid}", json={"name": "y"}), 409, "ACCOUNT_DELETED"
    )
    assert_error(await st.post(f"/api/account/{tid}/start"), 409, "ACCOUNT_DELETED")


async def test_account_crud(st: Stack) -> None:
    t = await st.create_trader(
        name="A",
        description="d",
        max_leverage="3",
        symbols=["btc", "eth"],
        initial_capital="5000.50",
    )
    tid = t["account_id"]
    assert t["id"] == tid and t["symbols"] == ["BTC", "ETH"]
    assert t["initial_capital"] == "5000.5" and t["max_leverage"] == "3"  # normalised money
    r = await st.api.put(f"/api/account/{tid}", json={"name": "B", "max_concurrent_positions": 7})
    assert r.json()["name"] == "B" and r.json()["max_concurrent_positions"] == 7
    r = await st.api.put(f"/api/account/{tid}", json={"trading_enabled": True})
    assert r.json()["status"] == "Active" and r.json()["trading_enabled"] is True
    r = await st.api.put(f"/api/account/{tid}", json={"trading_enabled": False})
    assert r.json()["status"] == "Paused"
    hidden = await st.create_trader(name="H", show_on_dashboard=False)
    ids = [a["id"] for a in (await st.api.get("/api/account/list")).json()]
    assert tid in ids and hidden["id"] not in ids
    ids = [a["id"] for a in (await st.api.get("/api/account/list?include_hidden=true")).json()]
    assert hidden["id"] in ids


async def test_programs_and_bindings(st: Stack) -> None:
    r = await st.post("/api/programs/validate", {"code": "class Strategy:\n  pass\n"})
    assert r.json()["valid"] is False and r.json()["errors"]
    r = await st.post("/api/programs/validate", {"code": programs.RSI_EXAMPLE})
    assert r.json() == {"valid": True, "errors": []}
    assert_error(
        await st.post("/api/programs/", {"name": "x", "code": "def ("}), 422, "INVALID_PROGRAM"
    )
    p = await st.create_program(programs.RSI_EXAMPLE, "rsi")
    assert (await st.api.get(f"/api/programs/{p['id']}")).json()["code"] == programs.RSI_EXAMPLE
    r = await st.api.put(f"/api/programs/{p['id']}", json={"description": "RSI mean reversion"})
    assert r.json()["description"] == "RSI mean reversion"
    assert len((await st.api.get("/api/programs/")).json()) == 1

    t = await st.create_trader()
    tid = t["account_id"]
    r = await st.post("/api/programs/test-run", {"account_id": tid, "program_id": p["id"]})
    out = r.json()
    assert out["status"] == "ok" and out["decision"]["operation"] in ("long", "short", "hold")
    assert out["risk_verdict"]["approved"] is True
    r = await st.post("/api/programs/test-run", {"account_id": tid, "code": programs.RAISES})
    assert r.json()["status"] == "failed" and r.json()["error_code"] == "PROGRAM_ERROR"
    assert (await st.api.get(f"/api/account/{tid}/orders")).json()["total"] == 0

    b = await st.bind(tid, p["id"], schedule_interval_seconds=3600)
    assert b["schedule_interval_seconds"] == 3600
    listed = (await st.api.get(f"/api/account/{tid}/bindings")).json()
    assert [x["id"] for x in listed] == [b["id"]]
    assert_error(await st.api.delete(f"/api/programs/{p['id']}"), 409, "PROGRAM_IN_USE")
    assert_error(
        await st.post(f"/api/account/{tid}/bindings", {"program_id": 999}), 404, "PROGRAM_NOT_FOUND"
    )
    assert_error(
        await st.post(
            f"/api/account/{tid}/bindings", {"program_id": p["id"], "schedule_interval_seconds": 1}
        ),
        422,
        "VALIDATION_ERROR",
    )
    r = await st.api.delete(f"/api/account/{tid}/bindings/{b['id']}")
    assert r.status_code == 204
    assert_error(
        await st.api.get(f"/api/account/{tid}/bindings/{b['id']}"), 404, "BINDING_NOT_FOUND"
    )
    assert (await st.api.delete(f"/api/programs/{p['id']}")).status_code == 204


async def test_open_then_close_records_pnl(st: Stack) -> None:
    t = await st.create_trader(trading_enabled=True)
    tid = t["account_id"]
    b = await st.bind(tid, (await st.create_program(programs.ALWAYS_LONG))["id"])
    assert (await st.post(f"/api/account/{tid}/trigger")).json()["status"] == "executed"
    await st.api.delete(f"/api/account/{tid}/bindings/{b['id']}")
    await st.bind(tid, (await st.create_program(programs.CLOSE_BTC, "close"))["id"])
    out = (await st.post(f"/api/account/{tid}/trigger")).json()
    assert out["status"] == "executed", out
    assert out["orders"][0]["client_order_id"].endswith("-close")
    pos = (await st.api.get(f"/api/account/{tid}/positions")).json()
    assert pos["total_count"] == 0
    ov = (await st.api.get(f"/api/account/{tid}/overview")).json()
    assert ov["total_trades"] == 2 and ov["open_positions"] == 0
    assert float(ov["fees_paid"]) > 0
    r = await st.post(f"/api/account/{tid}/orders/ho-{tid}-1-entry:tp/cancel")
    assert r.status_code == 200 and r.json()["cancelled"] is False  # nothing rests on paper
    # Closing with nothing open is denied with a stable reason, not sent.
    out = (await st.post(f"/api/account/{tid}/trigger")).json()
    assert out["status"] == "denied" and out["risk_verdict"]["code"] == "NO_POSITION_TO_CLOSE"


def test_money_is_rendered_without_padding_or_exponents() -> None:
    from decimal import Decimal

    from api.money import fmt

    assert fmt(Decimal("10000.0000000000")) == "10000"
    assert fmt(Decimal("0E-10")) == "0"
    assert fmt(Decimal("-0.0")) == "0"
    assert fmt(Decimal("1E+2")) == "100"
    assert fmt(Decimal("0.00323238")) == "0.00323238"
    assert fmt(None) is None


async def test_cancelling_an_id_the_trader_did_not_mint_is_not_found(st: Stack) -> None:
    """Another trader's order, or text shaped like an id, never reaches the workflow."""
    tid = (await st.create_trader(trading_enabled=True))["account_id"]
    for coid in (f"ho-{tid + 1}-1-entry", f"ho-{tid}-garbage", f"dec-{tid}-1"):
        r = await st.post(f"/api/account/{tid}/orders/{coid}/cancel")
        assert r.status_code == 404 and r.json()["code"] == "ORDER_NOT_FOUND", r.text
