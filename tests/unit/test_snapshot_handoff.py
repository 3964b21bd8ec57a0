"""The in-memory snapshot hand-off is bounded and single use; a miss means: read the database."""

from __future__ import annotations

from decimal import Decimal

from strategies.handoff import HandedSnapshot, SnapshotHandOff


def test_take_once_then_miss() -> None:
    h = SnapshotHandOff()
    h.put("dec-1-1", {"prices": {"BTC": "1"}})
    assert h.take("dec-1-1") == HandedSnapshot({"prices": {"BTC": "1"}}, None)
    assert h.take("dec-1-1") is None  # a retried attempt reads the stored row


def test_bounded_oldest_evicted_and_latest_attempt_wins() -> None:
    h = SnapshotHandOff(size=2)
    h.put("a", {"n": 1})
    h.put("b", {"n": 2})
    h.put("a", {"n": 3})  # a retried gather_context replaces its earlier snapshot
    h.put("c", {"n": 4})
    a, c = h.take("a"), h.take("c")
    assert h.take("b") is None and a and a.snapshot == {"n": 3} and c and c.snapshot == {"n": 4}


async def test_snapshot_json_is_the_snapshot_encoded_as_before() -> None:
    """Encoded once with the candle rows spliced in: the same bytes as encoding the dict."""
    import json
    import time

    import orjson

    from adapters.exchanges.base import AccountView
    from adapters.market.rows import SHARED as kline_rows
    from adapters.market.simulated import SimulatedFeed
    from adapters.market.snapshot import market_snapshot, snapshot_dict, snapshot_json
    from db.session import EncodedJSON, json_dumps

    at = int(time.time() * 1000)
    prices, klines = await market_snapshot(SimulatedFeed(seed=3), ["BTC", "ETH"], at)
    zero = Decimal(0)
    view = AccountView(
        cash_usd=Decimal(100), equity_usd=Decimal(100), available_usd=Decimal(100),
        used_margin_usd=zero, realized_pnl_usd=zero, fees_paid_usd=zero,
        unrealized_pnl_usd=zero, positions=[],
    )  # fmt: skip
    snap = snapshot_dict(["BTC", "ETH"], at, prices, klines, view, {"type": "signal"})
    for _ in range(2):  # the second time from the rows' cached JSON
        encoded = snapshot_json(snap)
        assert encoded == orjson.dumps(snap, option=orjson.OPT_NON_STR_KEYS)
        assert orjson.loads(encoded) == snap
    assert json_dumps(EncodedJSON(encoded.decode())) == encoded.decode()
    huge = {**snap, "trigger": {"n": 2**70}}  # orjson refuses it: the stdlib path
    assert json.loads(snapshot_json(huge))["trigger"]["n"] == 2**70
    assert isinstance(kline_rows.json(snap["klines"]["BTC"]["1h"]), orjson.Fragment)
