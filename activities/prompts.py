"""Prompt strategies (strategies/prompt_run.py): render the template, ask the trader's model,
parse its decision."""

from __future__ import annotations

from temporalio import activity

from activities.heartbeat import with_heartbeats
from adapters.llm.client import LLMError
from db.session import Sessions
from domain.contracts import Activity, RunPromptInput, StrategyOutput
from strategies.prompt_run import PromptRunner
from vault import KeyWrapper


class PromptActivities:
    def __init__(
        self,
        sessions: Sessions,
        vault: KeyWrapper,
        timeout_s: float,
        allow_private_hosts: bool = False,
    ) -> None:
        self.prompts = PromptRunner(sessions, vault, timeout_s, allow_private_hosts)

    @activity.defn(name=Activity.RUN_PROMPT)
    async def run_prompt(self, req: RunPromptInput) -> StrategyOutput:
        try:
            # Heartbeats while the model answers.
            return await self.prompts.run(req, while_asking=with_heartbeats)
        except LLMError as err:
            # Temporal retries 429/5xx/timeouts; an unreadable stored key is not retried.
            raise err.to_application_error() from None
