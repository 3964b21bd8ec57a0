"""The README walk-through, end to end, on SQLite and on PostgreSQL."""

from __future__ import annotations

from sqlalchemy import update
from temporalio.client import Client

from db.models import Account
from tests import programs
from tests.support.stack import full_stack, make_settings


async def test_create_start_trigger_pause(
    temporal_client: Client, temporal_address: str, database_url: str
) -> None:
    settings = make_settings(temporal_address, database_url)
    async with full_stack(temporal_client, settings) as st:
        trader = await st.create_trader(
            name="BTC buyer",
            initial_capital="10000",
            max_leverage="5",
            max_position_notional_usd="1000",
            max_concurrent_positions=2,
        )
        tid = trader["account_id"]
        assert trader["status"] == "Paused"
        prog = await st.create_program(programs.ALWAYS_LONG)
        await st.bind(tid, prog["id"])

        r = await st.post(f"/api/account/{tid}/trigger")
        assert r.status_code == 409 and r.json()["code"] == "TRADER_PAUSED"

        r = await st.post(f"/api/account/{tid}/start")
        assert r.status_code == 200 and r.json()["status"] == "Active"

        r = await st.post(f"/api/account/{tid}/trigger", params={"include_snapshot": "true"})
        assert r.status_code == 200, r.text
        out = r.json()
        assert out["status"] == "executed", out
        assert out["risk_verdict"]["approved"] is True
        assert [o["status"] for o in out["orders"]] == ["filled"]
        assert out["orders"][0]["client_order_id"] == f"ho-{tid}-1-entry"
        rec = out["record"]
        assert rec["trigger_type"] == "manual"
        assert rec["input_snapshot"]["prices"]["BTC"]
        assert rec["output"]["decision"]["operation"] == "long"

        pos = (await st.api.get(f"/api/account/{tid}/positions")).json()
        assert pos["total_count"] == 1 and pos["positions"][0]["side"] == "long"
        trades = (await st.api.get(f"/api/account/{tid}/trades")).json()
        assert trades["total"] == 1
        orders = (await st.api.get(f"/api/account/{tid}/orders")).json()
        assert orders["items"][0]["status"] == "filled"
        ov = (await st.api.get(f"/api/account/{tid}/overview")).json()
        assert ov["total_trades"] == 1 and ov["open_positions"] == 1
        assert ov["status"] == "Active"

        r = await st.post(f"/api/account/{tid}/pause", json={"reason": "lunch"})
        assert r.json()["status"] == "Paused"
        r = await st.post(f"/api/account/{tid}/trigger")
        assert r.status_code == 409
        # Position stays open after pause.
        pos = (await st.api.get(f"/api/account/{tid}/positions")).json()
        assert pos["total_count"] == 1

        decisions = (await st.api.get(f"/api/account/{tid}/decisions")).json()
        assert decisions["total"] == 1
        assert decisions["items"][0]["orders"][0]["status"] == "filled"

        # The position stays open: deleting needs a choice (tests/api/test_delete_with_positions).
        r = await st.api.delete(f"/api/account/{tid}", params={"positions": "leave"})
        assert r.json()["status"] == "Deleted"
        listed = (await st.api.get("/api/account/list")).json()
        assert tid not in [a["id"] for a in listed]
        hidden = (await st.api.get("/api/account/list", params={"include_hidden": True})).json()
        assert tid in [a["id"] for a in hidden]
        kept = (await st.api.get(f"/api/account/{tid}/decisions")).json()["items"]
        assert decisions["items"][0]["id"] in [d["id"] for d in kept]  # the history stays


async def test_risk_denial_and_program_failure(
    temporal_client: Client, temporal_address: str, database_url: str
) -> None:
    settings = make_settings(temporal_address, database_url)
    async with full_stack(temporal_client, settings) as st:
        trader = await st.create_trader(trading_enabled=True, max_leverage="5")
        tid = trader["account_id"]
        greedy = await st.create_program(programs.TOO_MUCH_LEVERAGE)
        b = await st.bind(tid, greedy["id"])
        out = (await st.post(f"/api/account/{tid}/trigger")).json()
        assert out["status"] == "denied"
        assert out["risk_verdict"]["code"] == "LEVERAGE_EXCEEDS_MAX"
        assert out["orders"] == []

        bad = await st.create_program(programs.RAISES)
        await st.api.delete(f"/api/account/{tid}/bindings/{b['id']}")
        await st.bind(tid, bad["id"])
        out = (await st.post(f"/api/account/{tid}/trigger")).json()
        assert out["status"] == "failed" and out["error_code"] == "PROGRAM_ERROR"
        assert "boom from the strategy" in out["error"]
        acct = (await st.api.get(f"/api/account/{tid}")).json()
        assert acct["status"] == "Error" and "PROGRAM_ERROR" in acct["status_reason"]
        assert (await st.api.get(f"/api/account/{tid}/orders")).json()["total"] == 0


async def test_trigger_after_start_when_the_recorded_status_lags(
    temporal_client: Client, temporal_address: str, database_url: str
) -> None:
    """The row's trading flag is the workflow's last recorded status: a "Paused" recorded just
    before the resume arrived can land after the start request committed. The workflow decides."""
    settings = make_settings(temporal_address, database_url)
    async with full_stack(temporal_client, settings) as st:
        tid = (await st.create_trader())["account_id"]
        await st.bind(tid, (await st.create_program(programs.ALWAYS_LONG))["id"])
        assert (await st.post(f"/api/account/{tid}/start")).status_code == 200
        async with st.deps.sessions() as s, s.begin():  # the stale status write
            await s.execute(update(Account).where(Account.id == tid).values(trading_enabled=False))
        r = await st.post(f"/api/account/{tid}/trigger")
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "executed"

        r = await st.post(f"/api/account/{tid}/pause")
        r = await st.post(f"/api/account/{tid}/trigger")
        assert r.status_code == 409 and r.json()["code"] == "TRADER_PAUSED"
