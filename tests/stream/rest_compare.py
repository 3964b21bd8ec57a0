"""Each recorded event beside what the REST endpoints answer about its subject: the check that
a value pushed on the live stream equals the one a client would fetch (issue 22, item 3).

Money is compared by value (the endpoints format decimals their own way: `1.50` and `1.5` are
the same price); times as instants."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from config.settings import sync_url
from db import events
from domain.events import Event, EventType

MONEY = ("size", "price", "fee", "realized_pnl", "entry_price", "leverage", "mark_price",
         "unrealized_pnl")  # fmt: skip


def recorded(database_url: str, account_id: int) -> list[Event]:
    """Every event of the trader, oldest first (db/events.py `after`, as the API reads it)."""
    engine = create_engine(sync_url(database_url))
    try:
        with Session(engine) as s:
            return events.after(s, 0, 10_000, account_ids=[account_id])
    finally:
        engine.dispose()


def of(found: list[Event], kind: EventType) -> list[dict[str, Any]]:
    return [e.data for e in found if e.type is kind]


def instant(value: Any) -> datetime:
    at = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def same_money(a: Any, b: Any) -> bool:
    return (a is None and b is None) or (
        a is not None and b is not None and Decimal(str(a)) == Decimal(str(b))
    )


async def pages(api: httpx.AsyncClient, url: str) -> list[dict[str, Any]]:
    r = await api.get(url, params={"per_page": 200})
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


def check_decision(event: dict[str, Any], rest: dict[str, Any]) -> None:
    """A model_chat_update is the decision `GET .../decisions` lists."""
    decision = (rest["output"] or {}).get("decision") or {}
    verdict = rest["risk_verdict"]
    expected = {
        "decision_id": rest["id"],
        "seq": rest["seq"],
        "trigger_type": rest["trigger_type"],
        "status": rest["status"],
        "operation": decision.get("operation"),
        "symbol": decision.get("symbol"),
        "reasoning": decision.get("reasoning"),
        "verdict": None if verdict is None else "approved" if verdict["approved"] else "denied",
        "deny_code": None if verdict is None else verdict["code"],
        "deny_reason": None if verdict is None or verdict["approved"] else verdict["message"],
        "error_code": rest["error_code"],
    }
    assert {k: event[k] for k in expected} == expected
    assert instant(event["time"]) == instant(rest["completed_at"])


def check_fill(event: dict[str, Any], rest: dict[str, Any]) -> None:
    """A trade_update of kind fill is the fill `GET .../trades` lists."""
    assert event["kind"] == "fill"
    for name in ("trade_id", "client_order_id", "symbol", "side", "trigger"):
        assert event[name] == rest[name], name
    for name in ("size", "price", "fee", "realized_pnl"):
        assert event[name] == rest[name], name  # the same amount in the same text
    assert instant(event["time"]) == instant(rest["created_at"])


def check_cancel(event: dict[str, Any], rest: dict[str, Any]) -> None:
    """A trade_update of kind cancel is the order `GET .../orders` shows cancelled."""
    assert (event["kind"], rest["status"]) == ("cancel", "cancelled")
    for name in ("client_order_id", "exchange_order_id", "symbol", "side"):
        assert event[name] == rest[name], name
    assert instant(event["time"]) == instant(rest["updated_at"])


def check_position(event: dict[str, Any], rest: dict[str, Any], valued: bool = True) -> None:
    """A position_update is the position `GET .../positions` answers. Its valuation is at the
    mark of the moment it was recorded; the endpoint's at the mark of the moment asked, by the
    same rule, which is what is checked for both (`valued`: the event carries one)."""
    assert event["kind"] in ("opened", "changed")
    for name in ("symbol", "side"):
        assert event[name] == rest[name], name
    for name in ("size", "entry_price", "leverage"):
        assert same_money(event[name], rest[name]), name
    for side in ((event,) if valued else ()) + (rest,):
        mark, entry, size = (Decimal(str(side[k])) for k in ("mark_price", "entry_price", "size"))
        sign = 1 if side["side"] == "long" else -1
        assert abs(Decimal(str(side["unrealized_pnl"])) - (mark - entry) * size * sign) < Decimal(
            "0.00000001"
        )
