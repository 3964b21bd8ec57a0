"""A venue that reports an impossible sequence: an order it filled (and the platform recorded
filled) is later reported rejected. The record keeps what we knew (filled), the report is one
`illegal_transition` reconciliation finding, recorded once, and the trader keeps trading."""

from __future__ import annotations

from sqlalchemy import select
from temporalio.client import Client

from db.models import OrderRecord
from domain.orders import OrderIntent, OrderStatus
from tests.emulators.binance_emulator import BinanceEmulator
from tests.emulators.exchange_common import serving
from tests.emulators.hyperliquid_emulator import HyperliquidEmulator
from tests.reliability.venues import TOGGLE, Venues, connect_trader
from tests.support.stack import Stack, full_stack, make_settings

LOOKUP = "GET /fapi/v1/order"


async def _order(st: Stack, coid: str) -> OrderRecord:
    async with st.deps.sessions() as s:
        row = await s.scalar(select(OrderRecord).where(OrderRecord.client_order_id == coid))
    assert row is not None
    return row


def _intent(row: OrderRecord) -> OrderIntent:
    return OrderIntent(
        client_order_id=row.client_order_id,
        account_id=row.account_id,
        decision_id=row.decision_id,
        leg=row.leg,
        symbol=row.symbol,
        side=row.side,
        reduce_only=row.reduce_only,
        size_usd=row.size_usd,
        leverage=row.leverage,
    )


async def test_a_filled_order_reported_rejected_keeps_filled_and_is_one_finding(
    temporal_client: Client, temporal_address: str, sqlite_url: str
) -> None:
    """The retry of an order's placement (what Temporal runs when an attempt's completion is
    lost after the order was recorded) looks the order up first; here the venue answers that the
    order it filled was rejected (Binance reports REJECTED whatever was executed)."""
    hl, bn = HyperliquidEmulator(), BinanceEmulator()
    with serving(hl.app) as hs, serving(bn.app) as bs:
        v = Venues(hl, hs.url, bn, bs.url)
        async with full_stack(None, make_settings(temporal_address, sqlite_url)) as st:
            prog = (await st.create_program(TOGGLE, "toggle"))["id"]
            tr = await connect_trader(st, v, "binance", prog)
            opened = (await st.post(f"/api/account/{tr.tid}/trigger")).json()
            assert opened["status"] == "executed", opened
            coid = opened["orders"][0]["client_order_id"]
            entry = await _order(st, coid)
            assert entry.status == OrderStatus.FILLED
            sent = bn.requests.count("POST /fapi/v1/order")

            lie = bn.faults.inject("report_status", LOOKUP, times=2, report="REJECTED")
            mark = bn.symbols["BTCUSDT"].mark
            for _ in range(2):  # the same impossible report twice: recorded once
                out = await st.deps.exchange.place_order_retry(_intent(entry), mark)
                assert out.status is OrderStatus.FILLED, out  # what the record says
            assert lie.hits == 2 and bn.requests.count("POST /fapi/v1/order") == sent

            kept = await _order(st, coid)
            assert (kept.status, kept.filled_size, kept.avg_price) == (
                OrderStatus.FILLED,
                entry.filled_size,
                entry.avg_price,
            )
            events = (await st.api.get(f"/api/account/{tr.tid}/reconciliation")).json()["items"]
            illegal = [e for e in events if e["kind"] == "illegal_transition"]
            assert len(illegal) == 1, events
            assert illegal[0]["subject"] == coid
            assert {k: illegal[0]["detail"][k] for k in ("from", "to", "where")} == {
                "from": "filled",
                "to": "rejected",
                "where": "place_retry",
            }
            # The trader keeps running: its next decision (a close of the filled entry) trades.
            closed = (await st.post(f"/api/account/{tr.tid}/trigger")).json()
            assert closed["status"] == "executed", closed
            assert closed["orders"][0]["side"] == "sell"
            acct = (await st.api.get(f"/api/account/{tr.tid}")).json()
            assert acct["status"] == "Active", acct
