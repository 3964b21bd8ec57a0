"""Prompt backtest activities (strategies/prompt_backtest): start a task, run a chunk of its
items, record how it ended. Run on the backtest task queue."""

from __future__ import annotations

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.heartbeat import with_heartbeats
from adapters.llm.client import LLMError
from db.session import Sessions
from domain.prompt_backtest import (
    FINISH_TASK,
    RUN_CHUNK,
    START_TASK,
    ChunkInput,
    FinishInput,
    Progress,
)
from strategies.prompt_backtest import TaskProblem
from strategies.prompt_backtest.tasks import PromptBacktestRunner
from vault import KeyWrapper


class PromptBacktestActivities:
    def __init__(
        self, sessions: Sessions, vault: KeyWrapper, timeout_s: float, allow_private_hosts: bool
    ) -> None:
        self.runner = PromptBacktestRunner(sessions, vault, timeout_s, allow_private_hosts)

    @activity.defn(name=START_TASK)
    async def start(self, task_id: int) -> None:
        await self.runner.start(task_id)

    @activity.defn(name=RUN_CHUNK)
    async def run_chunk(self, req: ChunkInput) -> Progress:
        def item_done(seq: int) -> None:
            # Why a heartbeat per item: a dead worker is noticed at once, and a cancellation
            # reaches the chunk between items.
            activity.heartbeat({"seq": seq})

        try:
            return await with_heartbeats(self.runner.run_chunk(req, item_done))
        except LLMError as err:
            # 429/5xx/timeouts: Temporal retries the chunk (its stored items are not asked
            # again); a refused key, an unknown model or a bad request fail the task.
            raise err.to_application_error() from None
        except TaskProblem as err:
            raise ApplicationError(str(err), type="PROMPT_BACKTEST", non_retryable=True) from None

    @activity.defn(name=FINISH_TASK)
    async def finish(self, req: FinishInput) -> None:
        await self.runner.finish(req)
