"""Prompt strategies, one decision: render the template on the decision's snapshot, ask the
trader's model, parse its answer. The model is asked once per decision (see db/decisions.py).
A failed call raises LLMError (the caller decides whether to retry)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from sqlalchemy.orm import Session

from adapters.llm.client import LLMCallConfig, LLMError, LLMResponse, complete
from adapters.llm.providers import estimate_cost_usd, supports_json_mode
from db.decisions import llm_exchange, record_output, recorded_output
from db.models import Account
from db.prompt_inputs import prompt_inputs
from db.session import Sessions
from db.transactions import read, write
from domain.contracts import RunPromptInput, StrategyOutput
from domain.llm_output import parse_decision
from domain.prompts import PromptTooLarge
from strategies.prompt import MAX_TOKENS, build_messages, recent_trades
from vault import KeyWrapper, SealedSecret, SecretError, open_secret

# How the caller waits for the model's answer (an activity heartbeats meanwhile).
WhileAsking = Callable[[Coroutine[Any, Any, LLMResponse]], Awaitable[LLMResponse]]


async def _plainly(work: Coroutine[Any, Any, LLMResponse]) -> LLMResponse:
    return await work


class PromptRunner:
    def __init__(
        self,
        sessions: Sessions,
        vault: KeyWrapper,
        timeout_s: float,
        allow_private_hosts: bool = False,
    ) -> None:
        self.sessions = sessions
        self.vault = vault
        self.timeout_s = timeout_s
        self.allow_private_hosts = allow_private_hosts  # HYPERORU_LLM_ALLOW_PRIVATE_HOSTS

    async def run(
        self, req: RunPromptInput, while_asking: WhileAsking = _plainly
    ) -> StrategyOutput:
        # Decided once: the model is asked once per decision. An answer recorded by an earlier
        # attempt (the activity retried after the answer, a lost workflow task) stands.
        recorded = await read(self.sessions, lambda s: recorded_output(s, req.decision_id))
        if recorded is not None:
            return StrategyOutput.model_validate(recorded)
        out = await self._ask(req, while_asking)
        return await self._record(req.decision_id, out)

    async def _record(self, decision_id: str, out: StrategyOutput) -> StrategyOutput:
        def record(s: Session) -> Any:
            exchange = llm_exchange(s, decision_id)
            values: dict[str, Any] = {}
            if out.llm:
                values["llm_exchange"] = {**(exchange or {}), **out.llm}
            if out.decision is not None:
                values["output"] = {"decision": out.decision.model_dump(mode="json")}
            return record_output(s, decision_id, out.model_dump(mode="json"), **values)

        earlier = await write(self.sessions, record)
        return out if earlier is None else StrategyOutput.model_validate(earlier)

    async def _ask(self, req: RunPromptInput, while_asking: WhileAsking) -> StrategyOutput:
        async with self.sessions() as s, s.begin():
            inputs = await prompt_inputs(s, req.decision_id, req.binding_id)
            rec, acct, prompt = inputs.decision, inputs.account, inputs.prompt
            if prompt is None:
                return StrategyOutput(
                    ok=False,
                    error_code="NO_STRATEGY_BOUND",
                    error=f"binding {req.binding_id} has no prompt",
                )
            problem = config_problem(acct)
            if problem:
                return StrategyOutput(ok=False, error_code="LLM_NOT_CONFIGURED", error=problem)
            trades = await recent_trades(s, acct.id)
            try:
                system, user, _ = build_messages(
                    prompt.content, inputs.snapshot, trades, acct.max_position_notional_usd
                )
            except PromptTooLarge as err:  # the model is not called
                return StrategyOutput(ok=False, error_code="PROMPT_TOO_LARGE", error=str(err))
            # The exact text is recorded before the call, so it is kept whatever happens next.
            rec.llm_exchange = {
                "prompt_id": prompt.id,
                "provider": acct.llm_provider,
                "model": acct.llm_model,
                "system": system,
                "user": user,
            }
            symbols, max_size = list(acct.symbols), acct.max_position_notional_usd
            cfg = self._call_config(acct)
        answer = await while_asking(complete(cfg, system, user))
        parsed = parse_decision(answer.text, symbols, max_size, answer.oversize)
        llm = {
            "raw": answer.text,
            "response_model": answer.model,
            "finish_reason": answer.finish_reason,
            "prompt_tokens": answer.prompt_tokens,
            "completion_tokens": answer.completion_tokens,
            "latency_ms": answer.latency_ms,
            "cost_usd": _cost(acct_model=cfg.model, provider=acct.llm_provider, answer=answer),
            "reasoning": parsed.decision.reasoning if parsed.decision else None,
        }
        if not parsed.ok or parsed.decision is None:
            return StrategyOutput(
                ok=False,
                invalid=True,
                error_code=str(parsed.error_code),
                error=parsed.error,
                llm=llm,
            )
        return StrategyOutput(ok=True, decision=parsed.decision, llm=llm)

    def _call_config(self, acct: Account) -> LLMCallConfig:
        return call_config(acct, self.vault, self.timeout_s, self.allow_private_hosts)


def call_config(
    acct: Account,
    vault: KeyWrapper,
    timeout_s: float,
    allow_private_hosts: bool,
    temperature: float | None = None,
) -> LLMCallConfig:
    """How to call the trader's model, its key opened here (inside the activity that calls)."""
    api_key = ""
    if acct.llm_api_key_sealed:
        try:
            sealed = SealedSecret.from_json(acct.llm_api_key_sealed)
            api_key = open_secret(vault, sealed, acct.id, "llm_api_key")
        except SecretError as err:
            raise LLMError(
                "LLM_CONFIG", False, f"the stored LLM key cannot be read: {err}"
            ) from None
    return LLMCallConfig(
        base_url=acct.llm_base_url or "",
        api_key=api_key or "not-needed",
        model=acct.llm_model or "",
        json_mode=supports_json_mode(acct.llm_provider or "custom"),
        timeout_s=timeout_s,
        max_tokens=MAX_TOKENS,
        temperature=temperature,
        allow_private_hosts=allow_private_hosts,
    )


def config_problem(acct: Account) -> str | None:
    """Why the trader's model cannot be called (None: it can)."""
    if not acct.llm_model:
        return "set llm_model (and llm_provider / llm_api_key) on the trader"
    if not acct.llm_base_url:
        return "set llm_provider or llm_base_url on the trader"
    return None


def _cost(acct_model: str, provider: str | None, answer: Any) -> str | None:
    cost = estimate_cost_usd(acct_model, answer.prompt_tokens, answer.completion_tokens, provider)
    return None if cost is None else str(cost)
