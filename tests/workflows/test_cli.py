"""The `temporal` CLI drives the same traders; a malformed message is recorded, never lost."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from temporalio.client import Client

from tests import programs
from tests.support.stack import full_stack, make_settings
from tests.support.waiting import eventually

TEMPORAL = str(Path(sys.executable).parent / "temporal")


async def cli(settings, *args: str) -> str:  # type: ignore[no-untyped-def]
    proc = await asyncio.create_subprocess_exec(
        TEMPORAL,
        *args,
        "--address",
        settings.resolved_temporal_address,
        "--namespace",
        settings.temporal_namespace,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await proc.communicate()
    assert proc.returncode == 0, out.decode()
    return out.decode()


async def test_cli_signal_pause_resume_query(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    settings = make_settings(temporal_address, sqlite_url)
    async with full_stack(None, settings) as st:
        t = await st.create_trader(trading_enabled=True)
        tid = t["account_id"]
        await st.bind(tid, (await st.create_program(programs.HOLD))["id"])
        wf = f"trader-{tid}"

        await cli(
            settings,
            "workflow",
            "signal",
            "-w",
            wf,
            "--name",
            "signal_fired",
            "--input",
            '{"fire_id": "cli-1", "symbol": "BTC", "context": {"why": "test"}}',
        )

        async def decisions() -> list[dict]:
            return (await st.api.get(f"/api/account/{tid}/decisions")).json()["items"]

        async def completed() -> list[dict]:
            items = await decisions()
            return items if items and items[0]["completed_at"] else []

        items = await eventually(completed)
        assert items[0]["trigger_type"] == "signal"
        assert items[0]["trigger_context"]["fire_id"] == "cli-1"
        assert items[0]["trigger_context"]["why"] == "test"
        assert items[0]["status"] == "hold"

        # Malformed payloads: wrong shape, wrong type, unknown signal name.
        await cli(
            settings,
            "workflow",
            "signal",
            "-w",
            wf,
            "--name",
            "signal_fired",
            "--input",
            '{"symbol": "BTC"}',
        )
        await cli(
            settings,
            "workflow",
            "signal",
            "-w",
            wf,
            "--name",
            "signal_fired",
            "--input",
            '"just a string"',
        )
        await cli(settings, "workflow", "signal", "-w", wf, "--name", "pauze")

        async def rejected() -> list[dict]:
            rows = [d for d in await decisions() if d["status"] == "rejected_input"]
            return rows if len(rows) == 3 else []

        rows = await eventually(rejected)
        errors = " | ".join(r["error"] for r in rows)
        assert "fire_id" in errors and "unknown signal 'pauze'" in errors

        await cli(
            settings,
            "workflow",
            "signal",
            "-w",
            wf,
            "--name",
            "pause",
            "--input",
            '{"reason": "from the cli"}',
        )
        out = await cli(settings, "workflow", "query", "-w", wf, "--name", "status", "-o", "json")
        status = json.loads(out)["queryResult"][0]
        assert status["paused"] is True and status["pause_reason"] == "from the cli"

        async def db_paused() -> bool:
            acct = (await st.api.get(f"/api/account/{tid}")).json()
            return acct["status"] == "Paused"

        await eventually(db_paused)
        await cli(settings, "workflow", "signal", "-w", wf, "--name", "resume")

        async def db_active() -> bool:
            acct = (await st.api.get(f"/api/account/{tid}")).json()
            return acct["status"] == "Active"

        await eventually(db_active)
        # The manual trigger as an update: the CLI gets the decision back.
        out = await cli(
            settings,
            "workflow",
            "update",
            "execute",
            "-w",
            wf,
            "--name",
            "trigger",
            "--input",
            "{}",
        )
        assert "hold" in out
