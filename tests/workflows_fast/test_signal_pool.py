"""The signal pool fires on the edge (false to true), not while the condition stays true; not
again within its cooldown, and at most once per candle. Its fires go out through fan-out."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio.client import WorkflowHandle
from temporalio.exceptions import ApplicationError

from domain.contracts import Activity, EvaluatePoolInput, EvaluatePoolResult, PoolConfig
from domain.signals import PoolResult, SignalPool, fire_id
from tests.workflows_fast.conftest import Harness
from workflows.signal_pool import SignalPoolWorkflow

POOL = 5
MINUTE_MS = 60_000


class Market:
    """What evaluating the pool reports for BTC: the condition, on the candle given (or the
    last closed one, from the evaluation's time)."""

    def __init__(self) -> None:
        self.condition = False
        self.candle_ms: int | None = None

    def __call__(self, req: EvaluatePoolInput) -> EvaluatePoolResult:
        candle = self.candle_ms if self.candle_ms is not None else _last_closed(req.now_ms)
        result = PoolResult(symbol="BTC", condition=self.condition, candle_time_ms=candle)
        return EvaluatePoolResult(results={"BTC": result})


def _last_closed(now_ms: int) -> int:
    return (now_ms // MINUTE_MS - 1) * MINUTE_MS


async def _pool(
    fast: Harness, cooldown_seconds: int = 0, **start: Any
) -> tuple[WorkflowHandle[Any, Any], Market]:
    market = Market()
    pool = SignalPool(name="p", symbols=["BTC"], signal_ids=[1], cooldown_seconds=cooldown_seconds)
    fast.fakes.pool = lambda req: PoolConfig(
        pool_id=req.pool_id, found=True, enabled=True, pool=pool
    )
    fast.fakes.evaluate = market
    return await fast.start_pool(POOL, **start), market


async def _evaluate(
    handle: WorkflowHandle[Any, Any], market: Market, cond: bool, candle: int
) -> int:
    market.condition, market.candle_ms = cond, candle
    return await handle.execute_update(SignalPoolWorkflow.evaluate_now, result_type=int)


def _fired(fast: Harness) -> list[str]:
    return [f.fire.fire_id for f in fast.fakes.inputs(Activity.FAN_OUT_FIRE)]


async def test_a_pool_fires_on_the_edge_not_while_true(fast: Harness) -> None:
    h, market = await _pool(fast)
    steps = [(False, 1), (True, 2), (True, 3), (False, 4), (True, 5)]
    fires = [await _evaluate(h, market, cond, n * MINUTE_MS) for cond, n in steps]
    assert fires == [0, 1, 0, 0, 1]
    assert _fired(fast) == [
        fire_id(POOL, "BTC", 2 * MINUTE_MS),
        fire_id(POOL, "BTC", 5 * MINUTE_MS),
    ]


async def test_a_pool_does_not_fire_again_within_its_cooldown(fast: Harness) -> None:
    h, market = await _pool(fast, cooldown_seconds=600)
    assert await _evaluate(h, market, True, 1 * MINUTE_MS) == 1
    assert await _evaluate(h, market, False, 2 * MINUTE_MS) == 0
    assert await _evaluate(h, market, True, 3 * MINUTE_MS) == 0  # an edge, but too soon
    assert await _evaluate(h, market, False, 4 * MINUTE_MS) == 0
    await fast.skip(timedelta(minutes=11))
    assert await _evaluate(h, market, True, 15 * MINUTE_MS) == 1
    assert len(_fired(fast)) == 2


async def test_a_pool_fires_at_most_once_per_candle(fast: Harness) -> None:
    h, market = await _pool(fast)
    assert await _evaluate(h, market, True, 1 * MINUTE_MS) == 1
    assert await _evaluate(h, market, False, 1 * MINUTE_MS) == 0
    assert await _evaluate(h, market, True, 1 * MINUTE_MS) == 0  # same candle: not again
    assert await _evaluate(h, market, False, 2 * MINUTE_MS) == 0
    assert await _evaluate(h, market, True, 3 * MINUTE_MS) == 1  # a later candle fires
    assert len(_fired(fast)) == 2


async def test_a_pool_evaluates_just_after_each_candle_close(fast: Harness) -> None:
    h, market = await _pool(fast)
    market.condition = True
    await fast.skip(timedelta(minutes=3))
    evaluations = fast.fakes.inputs(Activity.EVALUATE_POOL)
    assert len(evaluations) == 3
    assert all(2_000 <= e.now_ms % MINUTE_MS < 3_000 for e in evaluations)  # settled closes
    assert len(_fired(fast)) == 1  # true all along: one edge


async def test_a_failed_evaluation_skips_that_candle_only(fast: Harness) -> None:
    def unavailable(_: EvaluatePoolInput) -> EvaluatePoolResult:
        raise ApplicationError("candles unavailable", non_retryable=True)

    h, market = await _pool(fast)
    fast.fakes.evaluate = unavailable
    assert await h.execute_update(SignalPoolWorkflow.evaluate_now, result_type=int) == 0
    fast.fakes.evaluate = market
    assert await _evaluate(h, market, True, 1 * MINUTE_MS) == 1


async def test_edges_carry_over_continue_as_new(fast: Harness) -> None:
    h, market = await _pool(fast, continue_as_new_events=10)
    assert await _evaluate(h, market, True, 1 * MINUTE_MS) == 1
    first = await fast.run_id(h)
    assert await _evaluate(h, market, True, 2 * MINUTE_MS) == 0  # still true after the hop
    assert await fast.run_id(h) != first
    assert len(_fired(fast)) == 1


async def test_a_disabled_pool_ends_its_workflow(fast: Harness) -> None:
    h, _ = await _pool(fast)
    await fast.fakes.called(Activity.LOAD_POOL)
    fast.fakes.pool = lambda req: PoolConfig(pool_id=req.pool_id, found=True, enabled=False)
    await h.signal(SignalPoolWorkflow.config_changed)
    await h.result()
    assert len(fast.fakes.inputs(Activity.LOAD_POOL)) == 2
