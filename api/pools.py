"""Starting and messaging signal-pool workflows (`signal-pool-<id>`)."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.service import RPCError, RPCStatusCode

from api.errors import ApiError
from domain.ids import pool_workflow_id
from domain.signal_pool import SignalPoolInput


class PoolControl:
    def __init__(self, client: Client, task_queue: str) -> None:
        self.client = client
        self.task_queue = task_queue

    async def ensure_running(self, pool_id: int) -> None:
        try:
            await self.client.start_workflow(
                "SignalPoolWorkflow",
                SignalPoolInput(pool_id=pool_id),
                id=pool_workflow_id(pool_id),
                task_queue=self.task_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
            )
        except RPCError as err:
            raise ApiError(503, "TEMPORAL_UNAVAILABLE", "Temporal is unavailable") from err

    async def _signal(self, pool_id: int, name: str) -> None:
        try:
            await self.client.get_workflow_handle(pool_workflow_id(pool_id)).signal(name)
        except RPCError as err:
            if err.status != RPCStatusCode.NOT_FOUND:
                raise ApiError(503, "TEMPORAL_UNAVAILABLE", "Temporal is unavailable") from err

    async def changed(self, pool_id: int, enabled: bool) -> None:
        if enabled:
            await self._signal(pool_id, "config_changed")
            await self.ensure_running(pool_id)
        else:
            await self._signal(pool_id, "stop")

    async def stop(self, pool_id: int) -> None:
        await self._signal(pool_id, "stop")

    async def evaluate_now(self, pool_id: int) -> int:
        await self.ensure_running(pool_id)
        handle = self.client.get_workflow_handle(pool_workflow_id(pool_id))
        return int(await handle.execute_update("evaluate_now", result_type=int))
