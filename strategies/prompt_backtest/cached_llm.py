"""The trader's model behind the LLM cache: the same request (endpoint, model, temperature,
seed, max tokens, response format, system and user text; never the key) is answered from the
`llm_cache` table, at no cost, without a call. A miss calls the model once through the live
client (adapters.llm.client.complete); the caller stores the answer (`remember`) once it has
parsed it, so an unusable answer is asked again by a retry rather than replayed from the cache."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from adapters.llm.client import LLMCallConfig, LLMResponse, complete
from adapters.llm.providers import estimate_cost_usd
from db.prompt_backtests import cached_answer, store_answer
from db.session import Sessions
from db.transactions import read, write
from domain.prompt_backtest import cache_key


@dataclass(frozen=True)
class Answer:
    response: LLMResponse
    cached: bool
    cost: Decimal | None  # 0 when cached; None when the model's price is unknown
    key: str  # the request's cache key


def request_key(cfg: LLMCallConfig, system: str, user: str) -> str:
    return cache_key(
        cfg.base_url,
        cfg.model,
        cfg.temperature,
        None,  # no seed is sent (not every OpenAI-compatible server takes one)
        cfg.max_tokens,
        "json_object" if cfg.json_mode else None,
        system,
        user,
    )


async def ask(
    sessions: Sessions,
    cfg: LLMCallConfig,
    provider: str | None,
    system: str,
    user: str,
    use_cache: bool = True,
) -> Answer:
    """One answer; raises adapters.llm.client.LLMError when the call fails."""
    key = request_key(cfg, system, user)
    if use_cache:
        hit = await read(sessions, lambda s: _load(s, key))
        if hit is not None:
            return Answer(LLMResponse.model_validate(hit), cached=True, cost=Decimal(0), key=key)
    answer = await complete(cfg, system, user)
    cost = estimate_cost_usd(cfg.model, answer.prompt_tokens, answer.completion_tokens, provider)
    return Answer(answer, cached=False, cost=cost, key=key)


async def remember(sessions: Sessions, answer: Answer) -> None:
    """Keep a fresh answer for the next identical request."""
    if answer.cached or answer.response.oversize is not None:
        return
    reply = answer.response
    usage = {"prompt_tokens": reply.prompt_tokens, "completion_tokens": reply.completion_tokens}
    response = reply.model_dump(mode="json")
    await write(sessions, lambda s: store_answer(s, answer.key, reply.model, response, usage))


def _load(s: Session, key: str) -> dict[str, Any] | None:
    hit = cached_answer(s, key)
    return dict(hit.response) if hit is not None else None
