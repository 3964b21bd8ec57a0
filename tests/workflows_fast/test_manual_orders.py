"""The owner's order through the trader's workflow (`place_order`): the live venue gets the
shared-contract limit intent as the owner gave it, a resting (submitted) limit order is a
successful placement, a paused trader executes only reduce-only orders, and the trader syncs its
account at the position pace while orders rest."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError

from domain.contracts import Activity, DecisionOutcome, SyncAccountResult
from domain.manual_orders import ManualOrder
from domain.orders import OrderStatus, OrderType, TimeInForce
from domain.trader import POSITION_SYNC_SECONDS
from tests.workflows_fast.conftest import Harness
from tests.workflows_fast.fakes import holding_btc, with_status
from workflows.trader import TraderWorkflow

D = Decimal
LIMIT_BUY = ManualOrder(
    symbol="BTC", side="buy", order_type="limit", quantity=D("0.01"), price=D(49000),
    time_in_force="post_only", name="dip",
)  # fmt: skip


async def _place(fast: Harness, h: WorkflowHandle[Any, Any], order: ManualOrder) -> DecisionOutcome:
    return await h.execute_update(TraderWorkflow.place_order, order, result_type=DecisionOutcome)


async def test_the_venue_gets_the_limit_intent_and_a_resting_order_is_executed(
    fast: Harness,
) -> None:
    fast.fakes.place = with_status(OrderStatus.SUBMITTED, "")
    h = await fast.start_trader()
    out = await _place(fast, h, LIMIT_BUY)
    assert out.status == "executed" and out.orders[0].status is OrderStatus.SUBMITTED, out
    (intent,) = fast.fakes.inputs(Activity.PLACE_ORDER)
    assert (intent.order_type, intent.limit_price, intent.time_in_force, intent.size_base) == (
        OrderType.LIMIT, D(49000), TimeInForce.POST_ONLY, D("0.01")
    )  # fmt: skip
    assert intent.size_usd is None and not intent.reduce_only
    (finished,) = fast.fakes.finished
    assert finished.trigger_type == "manual" and finished.trigger_context["order"]["name"] == "dip"


async def test_a_paused_trader_denies_an_opening_order_and_executes_a_reduce_only_one(
    fast: Harness,
) -> None:
    fast.fakes.gather = holding_btc
    h = await fast.start_trader(paused=True)
    out = await _place(fast, h, LIMIT_BUY)
    assert out.status == "denied" and out.risk_verdict is not None, out
    assert out.risk_verdict.code == "TRADING_HALTED"
    reduce = ManualOrder(
        symbol="BTC", side="sell", order_type="market", quantity=D("0.001"), reduce_only=True
    )
    out = await _place(fast, h, reduce)
    assert out.status == "executed", out
    (intent,) = fast.fakes.inputs(Activity.PLACE_ORDER)
    assert intent.reduce_only and intent.size_base == D("0.001") and intent.leg == "close"


async def test_the_trader_syncs_at_the_position_pace_while_orders_rest(fast: Harness) -> None:
    fast.fakes.sync = lambda _: SyncAccountResult(open_positions=0, resting_orders=1)
    await fast.start_trader()
    await fast.fakes.called(Activity.SYNC_ACCOUNT)  # the start's sync
    await fast.skip(timedelta(seconds=2 * POSITION_SYNC_SECONDS + 5))
    assert len(fast.fakes.inputs(Activity.SYNC_ACCOUNT)) >= 3


async def test_a_malformed_order_update_is_refused_and_the_trader_keeps_running(
    fast: Harness,
) -> None:
    """From the CLI, say: an order with a price on a market order, or no side at all."""
    h = await fast.start_trader()
    for bad in (
        {"symbol": "BTC", "side": "buy", "order_type": "market", "quantity": "1", "price": "1"},
        {"symbol": "BTC", "order_type": "market", "quantity": "1"},
    ):
        with pytest.raises(WorkflowUpdateFailedError):
            await h.execute_update("place_order", bad, result_type=DecisionOutcome)
    assert fast.fakes.inputs(Activity.GATHER_CONTEXT) == []
    assert (await fast.status(h)).pending_triggers == 0
