"""The API's only way to act on traders: messages to the workflow `trader-<account_id>`."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable
from typing import Any, TypeVar

from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import FailureError
from temporalio.service import RPCError, RPCStatusCode

from api.errors import ApiError
from domain.contracts import CancelOrderResult, DecisionOutcome
from domain.ids import trader_workflow_id
from domain.manual_orders import ManualOrder
from domain.trader import (
    CancelRequest,
    ClosePositionsRequest,
    PauseRequest,
    StopRequest,
    TraderInput,
    TraderStatusView,
    TriggerRequest,
)

T = TypeVar("T")

# How often a trigger whose update the server aborted is asked again (same update id), and the
# pause before each new attempt.
TRIGGER_ATTEMPTS = 4
TRIGGER_RETRY_S = 0.5


def _interrupted(err: RPCError) -> bool:
    """The server gave up on an update it may already have delivered: its workflow task was
    lost ("Unable to perform workflow execution update due to unexpected workflow task
    failure", FAILED_PRECONDITION) or the update was aborted ("workflow update was aborted",
    UNAVAILABLE). The decision may have been made; asking again with the same id finds it."""
    return err.status in (RPCStatusCode.FAILED_PRECONDITION, RPCStatusCode.UNAVAILABLE)


async def _guard(call: Awaitable[T]) -> T:
    try:
        return await call
    except WorkflowUpdateFailedError as err:
        cause: BaseException | None = err.cause
        while isinstance(cause, FailureError) and cause.cause is not None:
            cause = cause.cause
        raise ApiError(409, "TRADER_REJECTED", str(cause or err)) from err
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            raise ApiError(
                409, "TRADER_NOT_RUNNING", "The trader's workflow is not running"
            ) from err
        raise ApiError(503, "TEMPORAL_UNAVAILABLE", "Temporal is unavailable, try again") from err


class TraderControl:
    def __init__(
        self,
        client: Client,
        task_queue: str,
        continue_as_new_events: int,
        idle_continue_as_new_seconds: int = 60,
    ) -> None:
        self.client = client
        self.task_queue = task_queue
        self.cas_events = continue_as_new_events
        self.idle_cas_seconds = idle_continue_as_new_seconds

    async def ensure_started(self, account_id: int, paused: bool) -> None:
        """Start the trader's workflow, or leave the running one alone."""
        await _guard(
            self.client.start_workflow(
                "TraderWorkflow",
                TraderInput(
                    account_id=account_id,
                    start_paused=paused,
                    continue_as_new_events=self.cas_events,
                    idle_continue_as_new_seconds=self.idle_cas_seconds,
                ),
                id=trader_workflow_id(account_id),
                task_queue=self.task_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
            )
        )

    def _handle(self, account_id: int):  # type: ignore[no-untyped-def]
        return self.client.get_workflow_handle(trader_workflow_id(account_id))

    async def pause(self, account_id: int, reason: str = "", kill_switch: bool = False) -> None:
        req = PauseRequest(reason=reason, kill_switch=kill_switch)
        await _guard(self._handle(account_id).signal("pause", req))

    async def resume(self, account_id: int) -> None:
        await _guard(self._handle(account_id).signal("resume"))

    async def config_changed(self, account_id: int) -> None:
        await _guard(self._handle(account_id).signal("config_changed"))

    async def stop(
        self, account_id: int, left_positions: list[dict[str, Any]] | None = None
    ) -> None:
        """End a deleted trader's workflow (it checks the trader is deleted)."""
        try:
            await self._handle(account_id).signal(
                "stop", StopRequest(left_positions=left_positions or [])
            )
        except RPCError as err:
            if err.status != RPCStatusCode.NOT_FOUND:  # already gone is fine
                raise ApiError(503, "TEMPORAL_UNAVAILABLE", "Temporal is unavailable") from err

    async def trigger(
        self, account_id: int, req: TriggerRequest, idempotency_key: str | None
    ) -> DecisionOutcome:
        return await self._decide(account_id, "trigger", req, idempotency_key)

    async def place_order(
        self, account_id: int, order: ManualOrder, idempotency_key: str | None
    ) -> DecisionOutcome:
        """The owner's order, carried out by the trader's workflow as a decision of its own."""
        return await self._decide(account_id, "place_order", order, idempotency_key)

    async def _decide(
        self, account_id: int, update: str, arg: Any, idempotency_key: str | None
    ) -> DecisionOutcome:
        # Why an update id from the client's key: a retried request is answered with the
        # first request's decision instead of running a second one. The trader records each
        # decision under its trigger's key (`manual-<update id>`, decided once), so the same id
        # asked again returns the same decision, even after the server lost the first attempt.
        key = idempotency_key or f"api-{uuid.uuid4()}"
        for attempt in range(TRIGGER_ATTEMPTS):
            try:
                return await _guard(
                    self._handle(account_id).execute_update(
                        update, arg, id=key, result_type=DecisionOutcome
                    )
                )
            except ApiError as err:
                cause = err.__cause__
                if not (isinstance(cause, RPCError) and _interrupted(cause)):
                    raise
                if attempt + 1 < TRIGGER_ATTEMPTS:
                    await asyncio.sleep(TRIGGER_RETRY_S * (attempt + 1))
        raise ApiError(
            503,
            "TRIGGER_INTERRUPTED",
            "Temporal lost this trigger before its decision was confirmed; send it again with "
            f"the header Idempotency-Key: {key} to get the decision it made (or make it once)",
            headers={"Retry-After": "1", "Idempotency-Key": key},
        )

    async def close_positions(
        self, account_id: int, symbols: list[str], reason: str, update_id: str | None = None
    ) -> list[DecisionOutcome]:
        """Close these positions through the trader's workflow (each a decision of its own,
        recorded under the trigger key `close-<update id>-<symbol>`). The same `update_id`
        asked again gets the first closes' outcomes, never a second close."""
        outcomes: list[DecisionOutcome] = await _guard(
            self._handle(account_id).execute_update(
                "close_positions",
                ClosePositionsRequest(symbols=symbols, reason=reason),
                id=update_id or f"close-{uuid.uuid4()}",
                result_type=list[DecisionOutcome],
            )
        )
        return outcomes

    async def cancel(self, account_id: int, req: CancelRequest) -> CancelOrderResult:
        return await _guard(
            self._handle(account_id).execute_update(
                "cancel_order", req, result_type=CancelOrderResult
            )
        )

    async def status(self, account_id: int) -> TraderStatusView:
        return await _guard(self._handle(account_id).query("status", result_type=TraderStatusView))
