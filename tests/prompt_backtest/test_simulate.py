"""Simulate mode: the backtest engine walks every bar, the trader's model is asked at the
sampled closes through the live render and parser, and a rerun is free (spec 8.11 #14)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from tests.backtest.support import HOUR, START, store_hourly
from tests.emulators.openai_server import OpenAIEmulator, server_error, valid_json
from tests.prompt_backtest.support import URL, prompt, prompt_trader, wait_final
from tests.support.stack import Stack

RUN = [str(100 + k) for k in range(10)]  # decision bars 0..9, rising one dollar an hour


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat()


async def _body(st: Stack, emulator: OpenAIEmulator) -> dict[str, object]:
    await store_hourly(st.app.state.sessions, RUN)
    acct = await prompt_trader(st, emulator)
    config = {
        "symbols": ["BTC"],
        "start_date": _iso(START),
        "end_date": _iso(START + 9 * HOUR),
        "interval": "1h",
        "taker_fee_pct": "0.1",
        "slippage_pct": "0",
        "funding": False,
    }
    pid = await prompt(st)
    return {"account_id": acct, "prompt_id": pid, "mode": "simulate", "config": config}


async def test_samples_ask_the_model_and_the_engine_trades(
    st: Stack, emulator: OpenAIEmulator
) -> None:
    """Why: the prompt's answers go through the same risk gate and paper fills as a program's;
    10 bars with 5 samples ask the model 5 times (every other close)."""
    body = await _body(st, emulator)
    emulator.reset()
    emulator.script(
        valid_json(operation="long", symbol="BTC", size_usd=1000, leverage=2,
                   take_profit_pct=None, stop_loss_pct=None),
        valid_json(operation="hold", symbol=None),
        valid_json(operation="close", symbol="BTC"),
    )  # fmt: skip
    emulator.default = valid_json(operation="hold", symbol=None)
    r = await st.api.post(URL, json={**body, "sample_count": 5})
    assert r.status_code == 201, r.text
    assert r.json()["sample_count"] == r.json()["estimated_calls"] == 5
    assert r.json()["lookahead_risk"] == "low"  # 2025 is after gpt-4o-mini's cutoff
    task = await wait_final(st, r.json()["id"])
    assert task["status"] == "completed", task
    assert len(emulator.requests) == 5
    out = (await st.api.get(f"{URL}/{task['id']}/results")).json()
    assert [i["ts"] for i in out["items"]] == [START + k * HOUR for k in (0, 2, 4, 6, 8)]
    assert [i["decision"]["operation"] for i in out["items"]] == [
        "long", "hold", "close", "hold", "hold"
    ]  # fmt: skip
    (trade,) = out["trades"]
    assert trade["side"] == "long" and trade["exit_reason"] == "decision"
    # Filled at the open after the first sample (flat bar 1: 101), closed at the open after
    # the close decision at bar 4 (bar 5: 105).
    assert Decimal(trade["entry_price"]) == 101 and Decimal(trade["exit_price"]) == 105
    metrics = out["metrics"]
    assert metrics["total_trades"] == 1
    assert Decimal(metrics["final_equity"]) - 10000 == Decimal(trade["net_pnl"])
    assert metrics["decisions"]["total"] == 5  # the holds between samples are not counted
    assert out["backtest"]["result_hash"] and out["backtest"]["finished"] is True
    prompt_text = emulator.requests[0].body["messages"][1]["content"]
    assert "only trade a clear trend" in prompt_text and "BTC" in prompt_text


async def test_a_rerun_is_answered_from_the_cache(st: Stack, emulator: OpenAIEmulator) -> None:
    """Why: temperature 0 and the same history give the same prompts: a rerun makes no call
    and reaches the same result."""
    body = await _body(st, emulator)
    emulator.reset()
    emulator.default = valid_json(operation="hold", symbol=None)
    first = await wait_final(
        st, (await st.api.post(URL, json={**body, "sample_count": 4})).json()["id"]
    )
    calls = len(emulator.requests)
    assert first["status"] == "completed" and calls == 4
    second = await wait_final(
        st, (await st.api.post(URL, json={**body, "sample_count": 4})).json()["id"]
    )
    assert len(emulator.requests) == calls
    assert second["cached_count"] == second["sample_count"] == 4
    a = (await st.api.get(f"{URL}/{first['id']}/results")).json()["backtest"]["result_hash"]
    b = (await st.api.get(f"{URL}/{second['id']}/results")).json()["backtest"]["result_hash"]
    assert a == b


async def test_missing_history_is_422_with_the_ranges(st: Stack, emulator: OpenAIEmulator) -> None:
    """Why: a simulation on bars that are not stored would silently skip them."""
    body = await _body(st, emulator)
    config = {**body["config"], "end_date": _iso(START + 30 * HOUR)}  # type: ignore[dict-item]
    r = await st.api.post(URL, json={**body, "config": config})
    assert (r.status_code, r.json()["code"]) == (422, "DATA_COVERAGE"), r.text
    assert "BTC 1h" in r.json()["error"]


async def test_a_retried_chunk_resumes_from_the_engine_checkpoint(
    st: Stack, emulator: OpenAIEmulator
) -> None:
    """Why: a provider failing mid-simulation must neither ask a sample twice nor replay the
    account differently: the result equals a run that never failed (here: the rerun, answered
    from the cache)."""
    body = await _body(st, emulator)
    emulator.reset()
    emulator.script(
        valid_json(operation="long", symbol="BTC", size_usd=1000, leverage=2,
                   take_profit_pct=None, stop_loss_pct=None),
        valid_json(operation="hold", symbol=None),
        server_error(502),
    )  # fmt: skip
    emulator.default = valid_json(operation="hold", symbol=None)
    failed_once = await wait_final(
        st, (await st.api.post(URL, json={**body, "sample_count": 5})).json()["id"]
    )
    assert failed_once["status"] == "completed" and failed_once["completed_count"] == 5
    assert len(emulator.requests) == 6  # 5 samples, the third asked twice
    clean = await wait_final(
        st, (await st.api.post(URL, json={**body, "sample_count": 5})).json()["id"]
    )
    assert clean["cached_count"] == 5 and len(emulator.requests) == 6
    a = (await st.api.get(f"{URL}/{failed_once['id']}/results")).json()
    b = (await st.api.get(f"{URL}/{clean['id']}/results")).json()
    assert len(a["trades"]) == 1
    assert a["backtest"]["result_hash"] == b["backtest"]["result_hash"]
    assert a["trades"] == b["trades"] and a["equity"] == b["equity"]
