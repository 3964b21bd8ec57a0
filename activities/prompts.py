"""Prompt strategies: render the template, ask the trader's model, parse its decision."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session, undefer
from temporalio import activity

from activities.heartbeat import with_heartbeats
from adapters.llm.client import LLMCallConfig, LLMError, complete
from adapters.llm.providers import estimate_cost_usd, supports_json_mode
from db.decisions import record_output, recorded_output
from db.models import Account, Binding, DecisionRecord, PromptTemplate
from db.tables import DECISIONS
from db.transactions import read, write
from domain.contracts import Activity, RunPromptInput, StrategyOutput
from domain.llm_output import parse_decision
from domain.prompts import PromptTooLarge
from strategies.prompt import MAX_TOKENS, build_messages, recent_trades
from vault import KeyWrapper, SealedSecret, SecretError, open_secret

_LLM_EXCHANGE = select(DECISIONS.c.llm_exchange).where(DECISIONS.c.id == bindparam("b_id"))


class PromptActivities:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        vault: KeyWrapper,
        timeout_s: float,
        allow_private_hosts: bool = False,
    ) -> None:
        self.sessions = sessions
        self.vault = vault
        self.timeout_s = timeout_s
        self.allow_private_hosts = allow_private_hosts  # HYPERORU_LLM_ALLOW_PRIVATE_HOSTS

    @activity.defn(name=Activity.RUN_PROMPT)
    async def run_prompt(self, req: RunPromptInput) -> StrategyOutput:
        # Decided once: the model is asked once per decision. An answer recorded by an earlier
        # attempt (the activity retried after the answer, a lost workflow task) stands.
        recorded = await read(self.sessions, lambda s: recorded_output(s, req.decision_id))
        if recorded is not None:
            return StrategyOutput.model_validate(recorded)
        out = await self._ask(req)
        return await self._record(req.decision_id, out)

    async def _record(self, decision_id: str, out: StrategyOutput) -> StrategyOutput:
        def record(s: Session) -> Any:
            exchange = s.connection().execute(_LLM_EXCHANGE, {"b_id": decision_id}).scalar()
            values: dict[str, Any] = {}
            if out.llm:
                values["llm_exchange"] = {**(exchange or {}), **out.llm}
            if out.decision is not None:
                values["output"] = {"decision": out.decision.model_dump(mode="json")}
            return record_output(s, decision_id, out.model_dump(mode="json"), **values)

        earlier = await write(self.sessions, record)
        return out if earlier is None else StrategyOutput.model_validate(earlier)

    async def _ask(self, req: RunPromptInput) -> StrategyOutput:
        async with self.sessions() as s, s.begin():
            rec = await s.get(
                DecisionRecord, req.decision_id, options=[undefer(DecisionRecord.input_snapshot)]
            )
            binding = await s.get(Binding, req.binding_id)
            acct = await s.get(Account, rec.account_id) if rec else None
            prompt = (
                await s.get(PromptTemplate, binding.prompt_id)
                if binding and binding.prompt_id
                else None
            )
            if rec is None or rec.input_snapshot is None or acct is None:
                raise LookupError(f"decision {req.decision_id} has no input snapshot")
            if prompt is None:
                return StrategyOutput(
                    ok=False,
                    error_code="NO_STRATEGY_BOUND",
                    error=f"binding {req.binding_id} has no prompt",
                )
            problem = _config_problem(acct)
            if problem:
                return StrategyOutput(ok=False, error_code="LLM_NOT_CONFIGURED", error=problem)
            trades = await recent_trades(s, acct.id)
            try:
                system, user, _ = build_messages(
                    prompt.content, rec.input_snapshot, trades, acct.max_position_notional_usd
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
        try:
            answer = await with_heartbeats(complete(cfg, system, user))
        except LLMError as err:
            raise err.to_application_error() from None  # Temporal retries 429/5xx/timeouts
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
        api_key = ""
        if acct.llm_api_key_sealed:
            try:
                sealed = SealedSecret.from_json(acct.llm_api_key_sealed)
                api_key = open_secret(self.vault, sealed, acct.id, "llm_api_key")
            except SecretError as err:
                raise LLMError(
                    "LLM_CONFIG", False, f"the stored LLM key cannot be read: {err}"
                ).to_application_error() from None
        return LLMCallConfig(
            base_url=acct.llm_base_url or "",
            api_key=api_key or "not-needed",
            model=acct.llm_model or "",
            json_mode=supports_json_mode(acct.llm_provider or "custom"),
            timeout_s=self.timeout_s,
            max_tokens=MAX_TOKENS,
            allow_private_hosts=self.allow_private_hosts,
        )


def _config_problem(acct: Account) -> str | None:
    if not acct.llm_model:
        return "set llm_model (and llm_provider / llm_api_key) on the trader"
    if not acct.llm_base_url:
        return "set llm_provider or llm_base_url on the trader"
    return None


def _cost(acct_model: str, provider: str | None, answer: Any) -> str | None:
    cost = estimate_cost_usd(acct_model, answer.prompt_tokens, answer.completion_tokens, provider)
    return None if cost is None else str(cost)
