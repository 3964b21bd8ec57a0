"""Ownership: user B can neither read, change nor learn of user A's resources (every family)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from temporalio.client import Client

from tests import programs
from tests.support.stack import Stack, full_stack, make_settings

SIGNAL = {"name": "up", "indicator": "price", "operator": ">", "threshold": 0, "timeframe": "1m"}
TEMPLATE = "Decide for {symbols}."


@pytest.fixture
async def st(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> AsyncIterator[Stack]:
    async with full_stack(None, make_settings(temporal_address, sqlite_url)) as stack:
        yield stack


async def ok(r: Any, status: int = 200) -> Any:
    resp = await r
    assert resp.status_code == status, resp.text
    return resp.json() if resp.content else None


async def a_world(st: Stack) -> dict[str, Any]:
    """User A (the stack's default user) with one of everything, and a filled order."""
    a = st.api
    trader = await st.create_trader(name="A's trader", trading_enabled=True)
    tid = trader["id"]
    program = await st.create_program(programs.ALWAYS_LONG, "A's program")
    prompt = await ok(
        a.post("/api/prompts/", json={"name": "A's prompt", "content": TEMPLATE}), 201
    )
    signal = await ok(a.post("/api/signals/definitions", json=SIGNAL), 201)
    pool = await ok(
        a.post(
            "/api/signals/pools",
            json={"name": "A's pool", "symbols": ["BTC"], "signal_ids": [signal["id"]]},
        ),
        201,
    )
    binding = await st.bind(tid, program["id"])
    out = await ok(a.post(f"/api/account/{tid}/trigger"))
    assert out["status"] == "executed", out
    live = await st.create_trader(name="A's live trader", exchange="binance")
    return {
        "tid": tid,
        "live": live["id"],
        "program": program["id"],
        "prompt": prompt["id"],
        "signal": signal["id"],
        "pool": pool["id"],
        "binding": binding["id"],
        "decision": out["decision_id"],
        "order": out["orders"][0]["client_order_id"],
    }


def assert_404(r: httpx.Response, code: str) -> None:
    assert r.status_code == 404, (r.request.method, r.request.url, r.status_code, r.text)
    body = r.json()
    assert body["code"] == code, body
    assert "A's" not in r.text  # nothing of A's leaks into the error


async def snapshot(st: Stack, w: dict[str, Any]) -> str:
    """Everything A can see about their resources, to check B changed nothing."""
    a, tid = st.api, w["tid"]
    urls = [
        f"/api/account/{tid}",
        f"/api/account/{w['live']}",
        f"/api/account/{tid}/bindings",
        f"/api/account/{tid}/decisions?include_snapshot=false",
        f"/api/account/{tid}/orders",
        f"/api/account/{tid}/trades",
        f"/api/programs/{w['program']}",
        f"/api/prompts/{w['prompt']}",
        "/api/signals/",
    ]
    seen = [(await a.get(u)).json() for u in urls]
    for acct in seen[:2]:  # the worker records a new trader's first status in its own time
        del acct["updated_at"], acct["status_reason"]
    return json.dumps(seen)


async def test_user_b_cannot_read_change_or_learn_of_user_a_resources(st: Stack) -> None:
    w = await a_world(st)
    before = await snapshot(st, w)
    tid, live = w["tid"], w["live"]
    async with st.user_client("b@example.com") as b:
        # Lists show only B's own (empty) resources.
        assert await ok(b.get("/api/account/list")) == []
        assert await ok(b.get("/api/account/list?include_hidden=true")) == []
        assert await ok(b.get("/api/programs/")) == []
        assert await ok(b.get("/api/prompts/")) == []
        assert await ok(b.get("/api/signals/")) == {"definitions": [], "pools": []}
        assert await ok(b.get("/api/signals/definitions")) == []
        assert await ok(b.get("/api/signals/pools")) == []

        # Accounts: read, change, lifecycle, trigger, cancel, exchange connect.
        acct_404 = [
            b.get(f"/api/account/{tid}"),
            b.put(f"/api/account/{tid}", json={"name": "mine now"}),
            b.post(f"/api/account/{tid}/start"),
            b.post(f"/api/account/{tid}/resume"),
            b.post(f"/api/account/{tid}/pause", json={"reason": "x"}),
            b.post(f"/api/account/{tid}/trigger"),
            b.post(f"/api/account/{tid}/orders/{w['order']}/cancel"),
            b.put(
                f"/api/account/{live}/exchange",
                json={"environment": "testnet", "api_key": "k" * 20, "api_secret": "s" * 20},
            ),
            # bindings
            b.get(f"/api/account/{tid}/bindings"),
            b.get(f"/api/account/{tid}/bindings/{w['binding']}"),
            b.post(f"/api/account/{tid}/bindings", json={"program_id": w["program"]}),
            b.delete(f"/api/account/{tid}/bindings/{w['binding']}"),
            # history and state
            b.get(f"/api/account/{tid}/decisions"),
            b.get(f"/api/account/{tid}/decisions/{w['decision']}"),
            b.get(f"/api/account/{tid}/orders"),
            b.get(f"/api/account/{tid}/trades"),
            b.get(f"/api/account/{tid}/positions"),
            b.get(f"/api/account/{tid}/overview"),
            b.get(f"/api/account/{tid}/open-orders"),
            b.get(f"/api/account/{tid}/reconciliation"),
            b.get(f"/api/account/{tid}/asset-curve"),
            b.get(f"/api/account/{live}/open-orders"),
            b.delete(f"/api/account/{tid}"),
        ]
        for call in acct_404:
            assert_404(await call, "ACCOUNT_NOT_FOUND")

        # Programs, prompts, signals, pools.
        for call, code in [
            (b.get(f"/api/programs/{w['program']}"), "PROGRAM_NOT_FOUND"),
            (b.put(f"/api/programs/{w['program']}", json={"name": "x"}), "PROGRAM_NOT_FOUND"),
            (b.delete(f"/api/programs/{w['program']}"), "PROGRAM_NOT_FOUND"),
            (b.get(f"/api/prompts/{w['prompt']}"), "PROMPT_NOT_FOUND"),
            (b.put(f"/api/prompts/{w['prompt']}", json={"name": "x"}), "PROMPT_NOT_FOUND"),
            (b.patch(f"/api/prompts/{w['prompt']}/name", json={"name": "x"}), "PROMPT_NOT_FOUND"),
            (b.post(f"/api/prompts/{w['prompt']}/copy"), "PROMPT_NOT_FOUND"),
            (b.delete(f"/api/prompts/{w['prompt']}"), "PROMPT_NOT_FOUND"),
            (b.get(f"/api/signals/definitions/{w['signal']}"), "SIGNAL_NOT_FOUND"),
            (
                b.put(f"/api/signals/definitions/{w['signal']}", json={"threshold": 5}),
                "SIGNAL_NOT_FOUND",
            ),
            (b.delete(f"/api/signals/definitions/{w['signal']}"), "SIGNAL_NOT_FOUND"),
            (b.get(f"/api/signals/pools/{w['pool']}"), "POOL_NOT_FOUND"),
            (
                b.put(
                    f"/api/signals/pools/{w['pool']}",
                    json={"name": "x", "symbols": ["BTC"], "signal_ids": [w["signal"]]},
                ),
                "POOL_NOT_FOUND",
            ),
            (b.post(f"/api/signals/pools/{w['pool']}/evaluate"), "POOL_NOT_FOUND"),
            (b.delete(f"/api/signals/pools/{w['pool']}"), "POOL_NOT_FOUND"),
        ]:
            assert_404(await call, code)

        # B's own trader cannot use A's program, prompt or pool, nor dry-run A's things.
        mine = await ok(b.post("/api/account/", json={"name": "B's", "trading_enabled": True}), 201)
        prompt_trader = await ok(
            b.post("/api/account/", json={"name": "B's p", "account_type": "prompt"}), 201
        )
        bind = f"/api/account/{mine['id']}/bindings"
        assert_404(await b.post(bind, json={"program_id": w["program"]}), "PROGRAM_NOT_FOUND")
        assert_404(
            await b.post(
                f"/api/account/{prompt_trader['id']}/bindings", json={"prompt_id": w["prompt"]}
            ),
            "PROMPT_NOT_FOUND",
        )
        own = await ok(b.post("/api/programs/", json={"name": "B", "code": programs.HOLD}), 201)
        assert_404(
            await b.post(bind, json={"program_id": own["id"], "signal_pool_ids": [w["pool"]]}),
            "SIGNAL_POOL_NOT_FOUND",
        )
        run = "/api/programs/test-run"
        assert_404(
            await b.post(run, json={"account_id": mine["id"], "program_id": w["program"]}),
            "PROGRAM_NOT_FOUND",
        )
        assert_404(
            await b.post(run, json={"account_id": tid, "code": programs.HOLD}), "ACCOUNT_NOT_FOUND"
        )
        preview = "/api/prompts/preview"
        assert_404(
            await b.post(preview, json={"account_id": mine["id"], "prompt_id": w["prompt"]}),
            "PROMPT_NOT_FOUND",
        )
        assert_404(
            await b.post(preview, json={"account_id": tid, "content": TEMPLATE}),
            "ACCOUNT_NOT_FOUND",
        )
        pool = {"name": "B's pool", "symbols": ["BTC"], "signal_ids": [w["signal"]]}
        r = await b.post("/api/signals/pools", json=pool)
        assert r.status_code == 422 and r.json()["code"] == "SIGNAL_NOT_FOUND", r.text

        # Another user's id answers exactly like an id that does not exist.
        theirs, nobody = await b.get(f"/api/account/{tid}"), await b.get("/api/account/999999")
        assert theirs.json()["error"] == nobody.json()["error"].replace("999999", str(tid))

        # B's own resources work as usual and stay invisible to A.
        await ok(b.post(bind, json={"program_id": own["id"]}), 201)
        assert (await ok(b.post(f"/api/account/{mine['id']}/trigger")))["status"] == "hold"
        ids = [x["id"] for x in await ok(b.get("/api/account/list"))]
        assert ids == [mine["id"], prompt_trader["id"]]

    a_ids = [x["id"] for x in await ok(st.api.get("/api/account/list"))]
    assert mine["id"] not in a_ids and tid in a_ids
    assert_404(await st.api.get(f"/api/programs/{own['id']}"), "PROGRAM_NOT_FOUND")
    after = await snapshot(st, w)
    for x, y in zip(json.loads(before), json.loads(after), strict=True):
        assert x == y  # A's world is exactly as it was
    acct = await ok(st.api.get(f"/api/account/{tid}"))
    assert acct["status"] == "Active" and acct["name"] == "A's trader"
