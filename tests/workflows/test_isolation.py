"""20 traders at once: a raising, a looping and a memory-hungry program fail alone."""

from __future__ import annotations

import asyncio

from temporalio.client import Client

from tests import programs
from tests.support.stack import full_stack, make_settings


async def test_twenty_traders_isolated(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    settings = make_settings(temporal_address, sqlite_url)
    async with full_stack(temporal_client, settings) as st:
        good = await st.create_program(programs.ALWAYS_LONG, "good")
        bad = {
            "raises": await st.create_program(programs.RAISES, "raises"),
            "loops": await st.create_program(programs.LOOPS, "loops"),
            "allocates": await st.create_program(programs.ALLOCATES, "allocates"),
        }
        traders: dict[int, str] = {}
        for i in range(20):
            kind = list(bad)[i] if i < len(bad) else "good"
            t = await st.create_trader(name=f"t{i}", trading_enabled=True)
            await st.bind(t["account_id"], (bad.get(kind, good))["id"])
            traders[t["account_id"]] = kind

        async def trigger(tid: int) -> dict:
            r = await st.post(f"/api/account/{tid}/trigger")
            assert r.status_code == 200, r.text
            return r.json()

        results = dict(
            zip(traders, await asyncio.gather(*(trigger(t) for t in traders)), strict=True)
        )
        expected_codes = {
            "raises": {"PROGRAM_ERROR"},
            "loops": {"TIMEOUT", "CPU_LIMIT"},
            "allocates": {"MEMORY_LIMIT"},
        }
        for tid, kind in traders.items():
            out = results[tid]
            if kind == "good":
                assert out["status"] == "executed", out
                assert out["orders"][0]["status"] == "filled"
            else:
                assert out["status"] == "failed", out
                assert out["error_code"] in expected_codes[kind], out
                assert out["orders"] == []
                acct = (await st.api.get(f"/api/account/{tid}")).json()
                assert acct["status"] == "Error"

        # The failing traders keep listening: they take the next trigger and record it.
        for tid, kind in traders.items():
            if kind != "good":
                again = await trigger(tid)
                assert again["status"] == "failed"
                log = (await st.api.get(f"/api/account/{tid}/decisions")).json()
                assert log["total"] == 2
        # And the good ones still trade.
        some_good = next(t for t, k in traders.items() if k == "good")
        assert (await trigger(some_good))["status"] == "executed"
