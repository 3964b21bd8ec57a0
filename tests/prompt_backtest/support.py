"""Helpers of the prompt backtest tests: a prompt trader on the emulator, recorded decisions
crafted from one real decision's snapshot, round trips with chosen PnL, waiting for a task."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx

from db.models import DecisionRecord, RoundTripRecord
from db.transactions import write
from tests.emulators.openai_server import OpenAIEmulator, valid_json
from tests.support.stack import Stack

KEY = "sk-test-PLANTED-9d3e7a1c5b2f4086e1a7"
TEMPLATE = (
    "You trade {symbols}. Prices:\n{market_prices}\nIndicators:\n{technical_indicators}\n"
    "Positions: {open_positions}\nBalance: {account_balance}\nRecent fills: {recent_trades}\n"
    "Why now: {trigger_context}\n"
    'Answer like {{"operation": "hold"}} when unsure.'
)
EDITED = TEMPLATE + "\nBe more careful: only trade a clear trend."
URL = "/api/prompt-backtest/tasks"


async def prompt_trader(st: Stack, emulator: OpenAIEmulator, model: str = "gpt-4o-mini") -> int:
    body = {
        "name": "t",
        "account_type": "prompt",
        "llm_provider": "custom",
        "llm_base_url": emulator.base_url,
        "llm_model": model,
        "llm_api_key": KEY,
        "symbols": ["BTC", "ETH"],
        "trading_enabled": True,
    }
    r = await st.api.post("/api/account/", json=body)
    assert r.status_code == 201, r.text
    return int(r.json()["account_id"])


async def prompt(st: Stack, content: str = EDITED, http: httpx.AsyncClient | None = None) -> int:
    r = await (http or st.api).post("/api/prompts/", json={"name": "p", "content": content})
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


async def live_decision(st: Stack, emulator: OpenAIEmulator, account_id: int) -> dict[str, Any]:
    """One real decision of the trader (a hold), read back with its snapshot."""
    pid = await prompt(st, TEMPLATE)
    r = await st.api.post(f"/api/account/{account_id}/bindings", json={"prompt_id": pid})
    assert r.status_code == 201, r.text
    emulator.script(valid_json(operation="hold", symbol=None))
    r = await st.api.post(f"/api/account/{account_id}/trigger")
    assert r.status_code == 200, r.text
    decision_id = r.json()["record"]["id"]
    r = await st.api.get(f"/api/account/{account_id}/decisions/{decision_id}")
    assert r.status_code == 200, r.text
    return dict(r.json())


async def craft_decisions(
    st: Stack, account_id: int, base: dict[str, Any], answers: list[dict[str, Any]]
) -> list[str]:
    """Recorded prompt decisions (one per answer, a minute apart, an hour ago), each with the
    real decision's snapshot (its trigger numbered, so each prompt is its own text) and prompt
    text, and the given answer as its parsed decision."""
    start = datetime.now(UTC) - timedelta(hours=1)
    exchange = base["llm_exchange"]
    ids = [f"crafted-{account_id}-{n}" for n in range(len(answers))]

    def insert(s: Any) -> None:
        for n, answer in enumerate(answers):
            s.add(
                DecisionRecord(
                    id=ids[n],
                    account_id=account_id,
                    seq=1000 + n,
                    trigger_type="schedule",
                    status="executed" if answer["operation"] != "hold" else "hold",
                    input_snapshot={
                        **base["input_snapshot"],
                        "trigger": {"type": "schedule", "n": n},
                    },
                    output={"decision": answer},
                    llm_exchange={**exchange, "raw": "{}"},
                    created_at=start + timedelta(minutes=n),
                    completed_at=start + timedelta(minutes=n),
                )
            )

    await write(st.app.state.sessions, insert)
    return ids


async def round_trip(st: Stack, account_id: int, decision_id: str, net_pnl: str, n: int) -> None:
    """A closed round trip opened by `decision_id`, with net PnL `net_pnl`."""
    now = datetime.now(UTC)
    pnl = Decimal(net_pnl)

    def insert(s: Any) -> None:
        s.add(
            RoundTripRecord(
                account_id=account_id,
                symbol="BTC",
                side="long",
                opened_at=now - timedelta(minutes=30),
                closed_at=now,
                entry_price=Decimal(100),
                exit_price=Decimal(100) + pnl,
                size=Decimal(1),
                notional=Decimal(100),
                fees=Decimal(0),
                funding=Decimal(0),
                gross_pnl=pnl,
                net_pnl=pnl,
                exit_reason="decision",
                entry_decision_id=decision_id,
                first_fill_id=900 + 2 * n,
                last_fill_id=901 + 2 * n,
                fill_count=2,
            )
        )

    await write(st.app.state.sessions, insert)


async def wait_final(st: Stack, task_id: int, timeout_s: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        r = await st.api.get(f"{URL}/{task_id}")
        assert r.status_code == 200, r.text
        task = dict(r.json())
        if task["status"] not in ("pending", "running"):
            return task
        assert time.monotonic() < deadline, task
        await asyncio.sleep(0.1)


async def wait_for(st: Stack, task_id: int, completed: int, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        task = (await st.api.get(f"{URL}/{task_id}")).json()
        if task["completed_count"] >= completed:
            return
        assert time.monotonic() < deadline, task
        await asyncio.sleep(0.05)
