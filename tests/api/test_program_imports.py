"""A program's imports are checked against the sandbox's own allowlist before it is saved or run:
`POST /api/programs/validate` used to call `import os` valid, and the run then failed. What the
check lets through, the sandbox imports; what it refuses, the sandbox refuses too."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from temporalio.client import Client

from sandbox.program import ALLOWED_MODULES
from sandbox.runner import SandboxLimits, run_program
from tests.support.stack import Stack, full_stack, make_settings


def strategy(prelude: str, body: str = "pass") -> str:
    return (
        f"{prelude}\n"
        "class Strategy:\n"
        "    def should_trade(self, data):\n"
        f"        {body}\n"
        '        return Decision(operation="hold", reasoning="ok")\n'
    )


FORBIDDEN = strategy("import math\nimport os")
NESTED = strategy("from collections import deque", "from subprocess import run")
RELATIVE = strategy("from . import helpers")
EVERY_ALLOWED = strategy(
    "\n".join(f"import {m}" for m in sorted(ALLOWED_MODULES) if m != "__future__"),
    "from numpy.linalg import norm",
)


@pytest.fixture
async def st(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> AsyncIterator[Stack]:
    async with full_stack(None, make_settings(temporal_address, sqlite_url), worker=False) as s:
        yield s


async def test_validate_reports_each_forbidden_import_with_its_line(st: Stack) -> None:
    for code, expected in (
        (FORBIDDEN, "line 2: import of 'os' is not allowed"),
        (NESTED, "line 4: import of 'subprocess' is not allowed"),
        (RELATIVE, "line 1: relative imports are not available"),
    ):
        r = await st.post("/api/programs/validate", {"code": code})
        assert r.status_code == 200, r.text
        out = r.json()
        assert out["valid"] is False and len(out["errors"]) == 1, out
        assert out["errors"][0].startswith(expected), out
    ok = await st.post("/api/programs/validate", {"code": EVERY_ALLOWED})
    assert ok.json() == {"valid": True, "errors": []}


async def test_a_forbidden_import_is_refused_before_saving_or_running(st: Stack) -> None:
    tid = (await st.create_trader())["id"]
    for r in (
        await st.post("/api/programs/", {"name": "p", "code": FORBIDDEN}),
        await st.post("/api/programs/test-run", {"account_id": tid, "code": FORBIDDEN}),
    ):
        assert r.status_code == 422 and r.json()["code"] == "INVALID_PROGRAM", r.text
        assert "line 2: import of 'os'" in r.json()["error"]
    program = await st.create_program(EVERY_ALLOWED)
    r = await st.api.put(f"/api/programs/{program['id']}", json={"code": NESTED})
    assert r.status_code == 422 and "'subprocess'" in r.json()["error"], r.text
    run = await st.post("/api/programs/test-run", {"account_id": tid, "program_id": program["id"]})
    assert run.status_code == 200 and run.json()["status"] == "ok", run.text


async def test_the_check_and_the_sandbox_agree() -> None:
    """The same allowlist on both sides: what validates runs, what is refused fails the run."""
    limits = SandboxLimits(wall_seconds=5.0, cpu_seconds=3, memory_mb=384)
    snapshot = {"symbols": ["BTC"], "prices": {"BTC": "1"}, "klines": {}, "positions": []}
    assert (await run_program(EVERY_ALLOWED, snapshot, limits)).ok
    refused = await run_program(FORBIDDEN, snapshot, limits)
    assert refused.error_code == "PROGRAM_ERROR" and "import of 'os'" in (refused.error or "")
