"""Replay and simulate on each database kind: the queries (a JSON null excluded, the round
trips' PnL, money columns) and the migration hold on PostgreSQL as on SQLite."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from db.models import DecisionRecord
from db.transactions import write
from tests.backtest.support import HOUR, START, store_hourly
from tests.emulators.openai_server import OpenAIEmulator, valid_json
from tests.prompt_backtest.support import (
    URL,
    craft_decisions,
    live_decision,
    prompt,
    prompt_trader,
    round_trip,
    wait_final,
)
from tests.support.stack import Stack

LONG = {"operation": "long", "symbol": "BTC", "size_usd": "100"}


async def test_replay_and_simulate(st_any_db: Stack, emulator: OpenAIEmulator) -> None:
    """Why: production runs on PostgreSQL; every query here must mean the same there."""
    st = st_any_db
    acct = await prompt_trader(st, emulator)
    ids = await craft_decisions(st, acct, await live_decision(st, emulator, acct), [LONG] * 2)
    await round_trip(st, acct, ids[0], "-12.25", 0)

    def manual(s: Session) -> None:
        s.add(DecisionRecord(id="manual-db", account_id=acct, seq=9000, trigger_type="manual",
                             llm_exchange=None))  # fmt: skip

    await write(st.app.state.sessions, manual)
    emulator.reset()
    emulator.default = valid_json(operation="hold", symbol=None)
    pid = await prompt(st)
    r = await st.api.post(URL, json={"account_id": acct, "prompt_id": pid, "max_cost_usd": "1"})
    assert r.status_code == 201, r.text
    assert r.json()["sample_count"] == 3  # two crafted, one live; not the manual one
    task = await wait_final(st, r.json()["id"])
    assert task["status"] == "completed" and task["spent_cost_usd"] != "0", task
    summary = (await st.api.get(f"{URL}/{task['id']}/results")).json()["summary"]
    assert summary["entry_to_hold"] == 2
    assert summary["avoided_loss"] == {"count": 1, "amount": "12.25"}

    await store_hourly(st.app.state.sessions, [str(100 + k) for k in range(6)])
    iso = lambda ms: datetime.fromtimestamp(ms / 1000, UTC).isoformat()  # noqa: E731
    config = {"symbols": ["BTC"], "start_date": iso(START), "end_date": iso(START + 5 * HOUR)}
    body = {"account_id": acct, "prompt_id": pid, "mode": "simulate", "config": config}
    task = await wait_final(st, (await st.api.post(URL, json=body)).json()["id"])
    assert task["status"] == "completed" and task["completed_count"] == 6, task
    out = (await st.api.get(f"{URL}/{task['id']}/results")).json()
    assert out["metrics"]["decisions"]["total"] == 6 and out["trades"] == []
