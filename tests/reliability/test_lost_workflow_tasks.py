"""Decided once: a workflow task lost right after a local step committed sends no second order.

Paper decisions run every step locally, in one workflow task. Before decided-once, losing that
task after the paper order filled reran the whole decision: the program saw the new position,
decided `close`, and a second order went out under a new client order id (the issue's
reproduction). Here the task is lost after each step in turn (tests/support/faults.py), and the
trader must end with one decision, one order, one fill, and a record that says so.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select
from temporalio.client import Client

from db.models import DecisionRecord, OrderRecord, TradeRecord
from domain.contracts import Activity
from tests.emulators.binance_emulator import BinanceEmulator
from tests.emulators.exchange_common import serving
from tests.emulators.hyperliquid_emulator import HyperliquidEmulator
from tests.emulators.openai_server import OpenAIEmulator, valid_json
from tests.reliability.venues import (
    TOGGLE,
    Venues,
    check_converged,
    connect_trader,
    venue_orders,
)
from tests.support.faults import FailAfterFirstAttempt, LoseTaskAfter
from tests.support.stack import Stack, full_stack, make_settings

LOCAL_STEPS = [
    Activity.GATHER_CONTEXT,
    Activity.RUN_PROGRAM,
    Activity.CHECK_RISK,
    Activity.RECORD_INTENTS,
    Activity.PLACE_ORDER,
    Activity.FINISH_DECISION,
]


async def records(
    st: Stack, tid: int
) -> tuple[list[DecisionRecord], list[OrderRecord], list[TradeRecord]]:
    async with st.deps.sessions() as s:
        decisions = list(
            await s.scalars(select(DecisionRecord).where(DecisionRecord.account_id == tid))
        )
        orders = list(await s.scalars(select(OrderRecord).where(OrderRecord.account_id == tid)))
        trades = list(await s.scalars(select(TradeRecord).where(TradeRecord.account_id == tid)))
    return decisions, orders, trades


@pytest.mark.parametrize("step", LOCAL_STEPS)
async def test_task_lost_after_a_paper_step_places_one_order(
    temporal_client: Client, temporal_address: str, sqlite_url: str, step: str
) -> None:
    faults = LoseTaskAfter(step)
    settings = make_settings(temporal_address, sqlite_url)
    async with full_stack(temporal_client, settings, interceptors=[faults]) as st:
        tid = (await st.create_trader(trading_enabled=True, symbols=["BTC"]))["account_id"]
        await st.bind(tid, (await st.create_program(TOGGLE, "toggle"))["id"])
        r = await st.post(f"/api/account/{tid}/trigger", headers={"Idempotency-Key": "k-1"})
        assert r.status_code == 200, r.text
        out = r.json()
        assert sum(faults.fired.values()) == 1, faults.fired  # the task was lost once
        decisions, orders, trades = await records(st, tid)
        assert [d.id for d in decisions] == [f"dec-{tid}-1"], [(d.id, d.status) for d in decisions]
        assert [o.client_order_id for o in orders] == [f"ho-{tid}-1-entry"]
        assert [(t.side, t.client_order_id) for t in trades] == [("buy", f"ho-{tid}-1-entry")]
        (d,) = decisions
        assert d.status == "executed" and d.output and d.output["decision"]["operation"] == "long"
        assert out["decision_id"] == d.id and out["status"] == "executed", out
        assert [o["client_order_id"] for o in out["orders"]] == [f"ho-{tid}-1-entry"]
        r = await st.api.get(f"/api/account/{tid}/positions")
        positions = r.json()["positions"]
        assert len(positions) == 1 and Decimal(positions[0]["size"]) > 0, positions


VENUE_LOCAL_STEPS = [s for s in LOCAL_STEPS if s != Activity.PLACE_ORDER]  # a normal activity
# Long below 66,000, short above: the venues start BTC at 65,000, and each lost task moves it to
# 67,000, so a rerun that looked at the market again would decide (and send) the other side.
PRICE_SIDE = """
class Strategy:
    def should_trade(self, data):
        side = "long" if data.get_price("BTC") < 66000 else "short"
        return Decision(operation=side, symbol="BTC", size_usd=200, leverage=2, reasoning=side)
"""


@pytest.mark.parametrize("step", VENUE_LOCAL_STEPS)
@pytest.mark.parametrize("venue", ["hyperliquid", "binance"])
async def test_task_lost_after_a_step_sends_the_first_decision_once(
    temporal_client: Client, temporal_address: str, sqlite_url: str, venue: str, step: str
) -> None:
    hl, bn = HyperliquidEmulator(), BinanceEmulator()
    hl.unique_cloids = False  # a second submission must show at the venue, not be refused

    def market_moves() -> None:
        hl.set_mid("BTC", "67000")
        bn.set_mark("BTCUSDT", "67000")

    faults = LoseTaskAfter(step, on_loss=market_moves)
    settings = make_settings(temporal_address, sqlite_url)
    with serving(hl.app) as hs, serving(bn.app) as bs:
        v = Venues(hl, hs.url, bn, bs.url)
        async with full_stack(temporal_client, settings, interceptors=[faults]) as st:
            prog = (await st.create_program(PRICE_SIDE, "price side"))["id"]
            tr = await connect_trader(st, v, venue, prog)
            r = await st.post(f"/api/account/{tr.tid}/trigger")
            assert r.status_code == 200, r.text
            out = r.json()
            assert sum(faults.fired.values()) == 1, faults.fired
            assert out["status"] == "executed" and out["decision"]["operation"] == "long", out
            decisions, orders, _ = await records(st, tr.tid)
            assert [d.id for d in decisions] == [f"dec-{tr.tid}-1"]
            (d,) = decisions
            assert d.output and d.output["decision"]["operation"] == "long", d.output
            assert [(o.client_order_id, o.side) for o in orders] == [
                (f"ho-{tr.tid}-1-entry", "buy")
            ]
            assert sum(venue_orders(v, tr).values()) == 1, venue_orders(v, tr)
            await check_converged(st, v, tr)


async def test_model_answer_is_reused_when_the_llm_step_is_retried(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    """The model answered, then its activity's result was lost (worker died before reporting):
    the retry returns the recorded answer, never asks (and pays) the model again."""
    faults = FailAfterFirstAttempt(Activity.RUN_PROMPT)
    settings = make_settings(
        temporal_address, sqlite_url, llm_timeout_seconds=3.0, llm_allow_private_hosts=True
    )
    with OpenAIEmulator() as llm:
        first, second = ("long", "short")
        llm.script(
            *(valid_json(operation=op, symbol="BTC", size_usd=100) for op in (first, second))
        )
        async with full_stack(temporal_client, settings, interceptors=[faults]) as st:
            body = {
                "name": "t",
                "account_type": "prompt",
                "trading_enabled": True,
                "symbols": ["BTC"],
                "llm_provider": "custom",
                "llm_base_url": llm.base_url,
                "llm_model": "gpt-4o-mini",
                "llm_api_key": "sk-test-1",
            }
            tid = (await st.post("/api/account/", json=body)).json()["account_id"]
            p = (await st.post("/api/prompts/", json={"name": "p", "content": "{symbols}"})).json()
            r = await st.post(f"/api/account/{tid}/bindings", json={"prompt_id": p["id"]})
            assert r.status_code == 201, r.text
            r = await st.post(f"/api/account/{tid}/trigger")
            assert r.status_code == 200, r.text
            assert faults.failed[Activity.RUN_PROMPT] == 1
            assert len(llm.requests) == 1, [q.body for q in llm.requests]
            out = r.json()
            assert out["status"] == "executed" and out["decision"]["operation"] == first, out
            decisions, orders, trades = await records(st, tid)
            assert len(decisions) == 1 and decisions[0].llm_exchange["raw"], decisions
            assert [o.client_order_id for o in orders] == [f"ho-{tid}-1-entry"]
            assert len(trades) == 1
