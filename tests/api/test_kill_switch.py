"""The kill switch: one call pauses every trader of the caller (reason `KILL_SWITCH`) and, with
flatten, closes every open position of each through its workflow; the answer says per trader
what happened; the decision logs and statuses show it; a second call changes nothing."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from typing import Any

import pytest
from temporalio.client import Client

from tests import programs
from tests.emulators.binance_emulator import BinanceEmulator
from tests.emulators.exchange_common import serving
from tests.support.stack import Stack, full_stack, make_settings


@pytest.fixture
async def st(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> AsyncIterator[Stack]:
    async with full_stack(None, make_settings(temporal_address, sqlite_url)) as stack:
        yield stack


async def _holding(st: Stack, program: int) -> int:
    tid = (await st.create_trader(trading_enabled=True))["account_id"]
    await st.bind(tid, program)
    r = await st.post(f"/api/account/{tid}/trigger")
    assert r.json()["status"] == "executed", r.text
    return tid


async def _decisions(st: Stack, tid: int) -> list[dict[str, Any]]:
    return (await st.api.get(f"/api/account/{tid}/decisions")).json()["items"]  # type: ignore[no-any-return]


async def test_the_kill_switch_pauses_and_flattens_every_trader(st: Stack) -> None:
    program = (await st.create_program(programs.ALWAYS_LONG))["id"]
    tids = [await _holding(st, program) for _ in range(3)]
    async with st.user_client("stranger@example.com") as other:  # not the caller's: untouched
        r = await other.post("/api/account/", json={"name": "x", "trading_enabled": True})
        stranger = r.json()["account_id"]
        r = await other.post("/api/account/kill-switch", json={"flatten": False})
        assert [t["account_id"] for t in r.json()["traders"]] == [stranger], r.text
    r = await st.post("/api/account/kill-switch", json={"flatten": True, "reason": "market crash"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["reason"] == "KILL_SWITCH: market crash"
    assert [t["account_id"] for t in body["traders"]] == tids
    for answer in body["traders"]:
        assert answer["paused"] is True and answer["error"] is None, answer
        assert [(c["symbol"], c["status"]) for c in answer["closes"]] == [("BTC", "executed")]
    for tid in tids:
        acct = (await st.api.get(f"/api/account/{tid}")).json()
        assert (acct["status"], acct["status_reason"]) == ("Paused", "KILL_SWITCH: market crash")
        assert (await st.api.get(f"/api/account/{tid}/positions")).json()["positions"] == []
        close, note = (await _decisions(st, tid))[:2]
        assert (note["status"], note["trigger_type"]) == ("paused", "kill_switch"), note
        assert (close["status"], close["trigger_type"]) == ("executed", "manual"), close
        assert close["output"]["decision"]["operation"] == "close"


async def test_the_kill_switch_is_idempotent(st: Stack) -> None:
    program = (await st.create_program(programs.ALWAYS_LONG))["id"]
    tid = await _holding(st, program)
    first = await st.post("/api/account/kill-switch", json={"flatten": True})
    assert first.json()["traders"][0]["closes"][0]["status"] == "executed", first.text
    logged = len(await _decisions(st, tid))
    again = await st.post("/api/account/kill-switch", json={"flatten": True})
    assert again.status_code == 200, again.text
    await asyncio.sleep(1.5)  # the workflow has handled the second pause
    (answer,) = again.json()["traders"]
    assert (answer["paused"], answer["closes"], answer["error"]) == (True, [], None)
    assert len(await _decisions(st, tid)) == logged  # no second note, no second close
    acct = (await st.api.get(f"/api/account/{tid}")).json()
    assert (acct["status"], acct["status_reason"]) == ("Paused", "KILL_SWITCH")


async def test_one_traders_failure_does_not_stop_the_others(st: Stack) -> None:
    paper = await _holding(st, (await st.create_program(programs.ALWAYS_LONG))["id"])
    emu = BinanceEmulator()
    key, secret = secrets.token_hex(32), secrets.token_hex(32)
    emu.add_account(key, secret, "10000")
    with serving(emu.app) as server:
        live = (await st.create_trader(exchange="binance", symbols=["BTC"]))["account_id"]
        body = {"environment": "mainnet", "base_url": server.url, "api_key": key,
                "api_secret": secret}  # fmt: skip
        r = await st.api.put(f"/api/account/{live}/exchange", json=body)
        assert r.status_code == 200, r.text
    # The venue is unreachable now: that trader is paused, but its positions cannot be read.
    r = await st.post("/api/account/kill-switch", json={"flatten": True})
    assert r.status_code == 200, r.text
    answers = {t["account_id"]: t for t in r.json()["traders"]}
    assert answers[live]["paused"] is True, answers[live]
    assert answers[live]["error"]["code"].startswith("EXCHANGE_"), answers[live]
    assert [(c["symbol"], c["status"]) for c in answers[paper]["closes"]] == [("BTC", "executed")]
    assert answers[paper]["error"] is None
