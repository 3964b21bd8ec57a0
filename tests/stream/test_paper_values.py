"""A paper trader's live stream says what its REST endpoints say: after decisions that open and
add to a position, a stop-loss close fired by the paper engine, a denied decision, a pause and a
delete, every recorded event is compared with the endpoint that shows its subject, on SQLite and
PostgreSQL, through the whole stack (API, worker, Temporal)."""

from __future__ import annotations

from typing import Any

from temporalio.client import Client

from domain.events import EventType
from tests import programs
from tests.stream.rest_compare import (
    check_decision,
    check_fill,
    check_position,
    of,
    pages,
    recorded,
)
from tests.support.stack import Stack, full_stack, make_settings

# Adds to the long with a stop 0.001 % under its fill: the next sync (the next decision's
# context) finds the mark below it and the paper engine closes the position.
TIGHT_STOP = """
class Strategy:
    def should_trade(self, data):
        return Decision(operation="long", symbol="BTC", size_usd=100, leverage=2,
                        take_profit_pct=50, stop_loss_pct=0.001, reasoning="tighten <stop>")
"""


async def _decide(st: Stack, tid: int, code: str, binding: dict[str, Any] | None) -> Any:
    """Bind `code` instead of the current binding and run one decision now."""
    if binding is not None:
        await st.api.delete(f"/api/account/{tid}/bindings/{binding['id']}")
    bound = await st.bind(tid, (await st.create_program(code))["id"])
    r = await st.post(f"/api/account/{tid}/trigger")
    assert r.status_code == 200, r.text
    return bound, r.json()


async def _positions(st: Stack, tid: int) -> list[dict[str, Any]]:
    return list((await st.api.get(f"/api/account/{tid}/positions")).json()["positions"])


async def test_a_paper_traders_events_equal_its_rest_answers(
    temporal_client: Client, temporal_address: str, database_url: str
) -> None:
    settings = make_settings(temporal_address, database_url)
    async with full_stack(temporal_client, settings) as st:
        t = await st.create_trader(initial_capital="10000", max_position_notional_usd="10000",
                                   max_leverage="5", symbols=["BTC"])  # fmt: skip
        tid = t["account_id"]
        assert (await st.post(f"/api/account/{tid}/start")).status_code == 200
        seen: list[list[dict[str, Any]]] = []  # positions right after each fill
        binding = None
        for code in (programs.ALWAYS_LONG, programs.ALWAYS_LONG, TIGHT_STOP):
            binding, out = await _decide(st, tid, code, binding)
            assert out["status"] == "executed", out
            seen.append(await _positions(st, tid))
        binding, held = await _decide(st, tid, programs.HOLD, binding)  # its sync: the stop
        assert held["status"] == "hold" and await _positions(st, tid) == []
        binding, denied = await _decide(st, tid, programs.TOO_MUCH_LEVERAGE, binding)
        assert denied["status"] == "denied"
        r = await st.post(f"/api/account/{tid}/pause", json={"reason": "lunch <break>"})
        assert r.status_code == 200
        paused = (await st.api.get(f"/api/account/{tid}/overview")).json()
        r = await st.api.delete(f"/api/account/{tid}")
        assert r.status_code == 200 and r.json()["status"] == "Deleted"

        found = recorded(database_url, tid)
        decisions = {d["id"]: d for d in await pages(st.api, f"/api/account/{tid}/decisions")}
        chats = of(found, EventType.MODEL_CHAT)
        assert sorted(c["decision_id"] for c in chats) == sorted(decisions)  # each once
        for chat in chats:
            check_decision(chat, decisions[chat["decision_id"]])

        trades = {t["trade_id"]: t for t in await pages(st.api, f"/api/account/{tid}/trades")}
        fills = of(found, EventType.TRADE)
        assert sorted(f["trade_id"] for f in fills) == sorted(trades) and len(fills) == 4
        for fill in fills:
            check_fill(fill, trades[fill["trade_id"]])
        assert fills[-1]["trigger"] == "stop_loss"

        moves = of(found, EventType.POSITION)
        assert [m["kind"] for m in moves] == ["opened", "changed", "changed", "closed"]
        for move, (rest,) in zip(moves, seen, strict=False):
            check_position(move, rest)
        assert (moves[-1]["side"], moves[-1]["size"]) == ("long", "0")

        statuses = [(s["status"], s["reason"]) for s in of(found, EventType.STATUS)]
        assert ("Active", None) in statuses
        assert all(a != b for a, b in zip(statuses, statuses[1:], strict=False))  # changes only
        assert statuses[-2:] == [(paused["status"], paused["status_reason"]),
                                 ("Deleted", "lunch <break>")]  # fmt: skip
