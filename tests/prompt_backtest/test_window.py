"""Without decision_ids, replay takes the trader's prompt decisions made in the window, and
sample_count keeps that many of them, evenly spread."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from db.models import DecisionRecord
from db.transactions import write
from tests.emulators.openai_server import OpenAIEmulator, valid_json
from tests.prompt_backtest.support import (
    URL,
    craft_decisions,
    live_decision,
    prompt,
    prompt_trader,
    wait_final,
)
from tests.support.stack import Stack


async def test_a_window_and_a_sample_count_choose_the_decisions(
    st: Stack, emulator: OpenAIEmulator
) -> None:
    """Why: a month of decisions is too many to ask again; the user picks how many."""
    acct = await prompt_trader(st, emulator)
    base = await live_decision(st, emulator, acct)
    ids = await craft_decisions(st, acct, base, [{"operation": "hold"}] * 10)  # an hour ago

    def manual_close(s: Session) -> None:  # in the window, but the model was not asked
        at = datetime.now(UTC) - timedelta(minutes=55)
        s.add(DecisionRecord(id="manual-1", account_id=acct, seq=5000, trigger_type="manual",
                             llm_exchange=None, created_at=at))  # fmt: skip

    await write(st.app.state.sessions, manual_close)
    emulator.reset()
    emulator.default = valid_json(operation="hold", symbol=None)
    now = datetime.now(UTC)
    window = {"start_date": (now - timedelta(hours=2)).isoformat(),
              "end_date": (now - timedelta(minutes=30)).isoformat()}  # fmt: skip
    body = {"account_id": acct, "prompt_id": await prompt(st), "config": window}
    r = await st.api.post(URL, json={**body, "sample_count": 5})
    assert r.status_code == 201, r.text
    task = await wait_final(st, r.json()["id"])
    items = (await st.api.get(f"{URL}/{task['id']}/results")).json()["items"]
    # Evenly spread over the 10 prompt decisions in the window: not the manual close, nor the
    # live decision (made now, after the window).
    assert [i["decision_id"] for i in items] == ids[0:10:2]
