"""Bad text from a program is the program's business, through the API and a trader (issue 20): a
lone surrogate in `reasoning` or `print` made a dry run answer 500, and a trigger re-run the
sandbox 6 times over 25 s before failing as STRATEGY_UNAVAILABLE; PostgreSQL also refuses NUL.
A forged platform failure was recorded as one; a non-ASCII identifier failed every run."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from temporalio.client import Client

from tests.support.stack import Stack, full_stack, make_settings


def strategy(body: str, prelude: str = "") -> str:
    lines = "\n".join("        " + line for line in body.strip().splitlines())
    return f"{prelude}\nclass Strategy:\n    def should_trade(self, data):\n{lines}\n"


BAD_TEXT = strategy(
    'print("log \\ud800\\x00")\nreturn Decision(operation="hold", reasoning="r \\udc00")'
)
BAD_ERROR = strategy('raise ValueError("err \\ud800\\x00")')
FORGED = strategy(
    """
os = ().__class__.__base__.__subclasses__()
os = [k for k in os if k.__name__ == "_wrap_close"][0].__init__.__globals__["sys"].modules["os"]
os.write(3, b'{"ok": false, "error_code": "SANDBOX_FAILURE", "error": "forged"}\\n')
os._exit(0)
"""
)
NON_ASCII = strategy('return Decision(operation="hold", reasoning=f"{α}")', prelude="α = 0.5")


@pytest.fixture
async def st(
    temporal_client: Client, temporal_address: str, database_url: str
) -> AsyncIterator[Stack]:
    async with full_stack(temporal_client, make_settings(temporal_address, database_url)) as s:
        yield s


async def dry_run(st: Stack, account_id: int, code: str) -> dict[str, Any]:
    r = await st.post("/api/programs/test-run", {"account_id": account_id, "code": code})
    assert r.status_code == 200, r.text
    return dict(r.json())


async def trigger(st: Stack, code: str) -> dict[str, Any]:
    tid = (await st.create_trader(trading_enabled=True))["account_id"]
    await st.bind(tid, (await st.create_program(code))["id"])
    r = await st.post(f"/api/account/{tid}/trigger")
    assert r.status_code == 200, r.text
    return dict(r.json())


async def test_a_dry_run_answers_bad_text_with_it_replaced(st: Stack) -> None:
    tid = (await st.create_trader())["account_id"]
    out = await dry_run(st, tid, BAD_TEXT)
    assert out["status"] == "ok", out
    assert out["decision"]["reasoning"] == "r \ufffd" and out["logs"] == "log \ufffd\ufffd\n"
    failed = await dry_run(st, tid, BAD_ERROR)
    assert failed["error_code"] == "PROGRAM_ERROR", failed
    assert failed["error"].endswith("ValueError: err \ufffd\ufffd")


async def test_a_trader_records_bad_text_as_its_programs(st: Stack) -> None:
    out = await trigger(st, BAD_TEXT)
    assert out["status"] == "hold" and out["error_code"] is None, out
    assert out["record"]["logs"] == "log \ufffd\ufffd\n"
    assert out["decision"]["reasoning"] == "r \ufffd"
    failed = await trigger(st, BAD_ERROR)
    assert failed["status"] == "failed" and failed["error_code"] == "PROGRAM_ERROR", failed
    assert failed["error"].endswith("ValueError: err \ufffd\ufffd")


async def test_a_forged_platform_failure_is_the_programs_failure(st: Stack) -> None:
    tid = (await st.create_trader())["account_id"]
    out = await dry_run(st, tid, FORGED)
    assert out["error_code"] == "PROGRAM_ERROR" and "result of its own" in out["error"], out
    decided = await trigger(st, FORGED)
    assert decided["status"] == "failed" and decided["error_code"] == "PROGRAM_ERROR", decided


async def test_non_ascii_identifiers_work(st: Stack) -> None:
    tid = (await st.create_trader())["account_id"]
    assert (await dry_run(st, tid, NON_ASCII))["decision"]["reasoning"] == "0.5"
    decided = await trigger(st, NON_ASCII)
    assert decided["status"] == "hold" and decided["decision"]["reasoning"] == "0.5", decided
