"""The escape corpus through the real stack: traders bound to escaping programs record failed
decisions while another trader on the same worker (and, in fork mode, the same zygote) keeps
deciding, and no worker secret reaches a decision record."""

from __future__ import annotations

import uuid

import pytest
from temporalio.client import Client

from sandbox import zygote_client
from tests import programs
from tests.sandbox.escape_corpus import CANARY_PREFIX, CORPUS
from tests.support.stack import full_stack, make_settings

ESCAPES = ("kill_parent", "fork_bomb", "gc_canary_scan", "poison_modules_for_later_runs")


async def test_escaping_traders_fail_alone(
    temporal_client: Client,
    temporal_address: str,
    sqlite_url: str,
    sandbox_mode: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    secret = f"{CANARY_PREFIX}{uuid.uuid4().hex}"
    monkeypatch.setenv("HYPERORU_TEST_CANARY", secret)
    zygote_client.shutdown()  # the worker's zygote starts after the secret is in place
    corpus = {e.name: e for e in CORPUS}
    settings = make_settings(temporal_address, sqlite_url, sandbox_mode=sandbox_mode)
    async with full_stack(temporal_client, settings) as st:
        good = await st.create_trader(name="good", trading_enabled=True)
        await st.bind(good["account_id"], (await st.create_program(programs.ALWAYS_LONG))["id"])
        bad: dict[int, str] = {}
        for name in ESCAPES:
            t = await st.create_trader(name=name, trading_enabled=True)
            await st.bind(t["account_id"], (await st.create_program(corpus[name].code))["id"])
            bad[t["account_id"]] = name

        async def trigger(account_id: int) -> dict:
            r = await st.post(f"/api/account/{account_id}/trigger")
            assert r.status_code == 200, r.text
            return r.json()

        assert (await trigger(good["account_id"]))["status"] == "executed"
        zygote = zygote_client.zygote_pid()
        assert (zygote is not None) == (sandbox_mode == "fork")
        for account_id, name in bad.items():
            out = await trigger(account_id)
            assert out["status"] == "failed", out
            assert out["error_code"] in corpus[name].codes, out
            assert out["orders"] == []
            # The good trader on the same worker keeps deciding after each escape attempt.
            assert (await trigger(good["account_id"]))["status"] == "executed"
        assert zygote_client.zygote_pid() == zygote

        for account_id, name in bad.items():
            log = await st.api.get(f"/api/account/{account_id}/decisions")
            assert log.status_code == 200
            assert any(code in log.text for code in corpus[name].codes), log.text
            assert secret not in log.text and CANARY_PREFIX not in log.text
            assert log.json()["total"] == 1
