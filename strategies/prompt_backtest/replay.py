"""Replay mode: one recorded decision asked again. The prompt is rebuilt from the decision's
recorded input snapshot with the edited template and the live render (strategies.prompt.
build_messages, with the fills the live run saw), or the recorded prompt text with find/replace
rules applied; the trader's model answers (through the cache) and the live parser reads the
answer; the item records how the decision changed (domain.prompt_backtest.classify)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from adapters.llm.client import LLMCallConfig
from db.prompt_backtests import PromptBacktestItem
from db.prompt_replay import ReplaySource, replay_source
from db.session import Sessions
from db.transactions import read
from domain.llm_output import parse_decision
from domain.prompt_backtest import ItemStatus, classify, prompt_hash
from domain.prompts import MAX_PROMPT_CHARS, PromptTooLarge
from strategies.prompt import SYSTEM_PROMPT, build_messages, recent_trades
from strategies.prompt_backtest.cached_llm import ask, remember


@dataclass(frozen=True)
class Rule:
    find: str
    replace: str


@dataclass(frozen=True)
class ReplayTask:
    """What every item of a replay task shares (loaded once per chunk)."""

    task_id: int
    account_id: int
    provider: str | None
    symbols: list[str]
    max_size_usd: Decimal
    template: str | None  # the edited template (prompt_id), or None: find/replace rules
    rules: list[Rule]
    cfg: LLMCallConfig
    use_cache: bool
    concurrency: int = 4


class ReplayProblem(Exception):
    """The item cannot be asked (its prompt cannot be rebuilt): recorded as failed."""


async def messages(sessions: Sessions, task: ReplayTask, decision_id: str) -> tuple[str, str]:
    """(system, user) for the recorded decision under the task's template or rules."""
    try:
        src = await read(sessions, lambda s: replay_source(s, task.account_id, decision_id))
    except LookupError as err:
        raise ReplayProblem(str(err)) from None
    return await rebuild(
        sessions, task.account_id, src, task.template, task.rules, task.max_size_usd
    )


async def rebuild(
    sessions: Sessions,
    account_id: int,
    src: ReplaySource,
    template: str | None,
    rules: list[Rule],
    max_size_usd: Decimal | None,
) -> tuple[str, str]:
    """The prompt of a recorded decision under `template` (the live render on its snapshot),
    or its recorded text with `rules` applied. Raises ReplayProblem."""
    if template is None:
        if src.recorded_user is None:
            raise ReplayProblem("the decision recorded no prompt text to edit")
        user = src.recorded_user
        for rule in rules:
            user = user.replace(rule.find, rule.replace)
        if len(user) > MAX_PROMPT_CHARS:
            raise ReplayProblem(
                f"PROMPT_TOO_LARGE: the edited prompt is {len(user):,} characters, over "
                f"{MAX_PROMPT_CHARS:,}"
            )
        return src.recorded_system or SYSTEM_PROMPT, user
    async with sessions() as s:
        trades = await recent_trades(s, account_id, before=src.created_at)
    try:
        system, user, _ = build_messages(template, src.snapshot, trades, max_size_usd)
    except PromptTooLarge as err:
        raise ReplayProblem(f"PROMPT_TOO_LARGE: {err}") from None
    return system, user


async def run_item(
    sessions: Sessions, task: ReplayTask, item: PromptBacktestItem
) -> dict[str, Any]:
    """The item's outcome, as columns of prompt_backtest_items. Raises LLMError when the call
    fails (the chunk is retried, or the task fails, as the error says)."""
    if item.source_decision_id is None:
        return {"status": ItemStatus.FAILED, "error": "the item names no recorded decision"}
    try:
        system, user = await messages(sessions, task, item.source_decision_id)
    except ReplayProblem as err:
        return {"status": ItemStatus.FAILED, "error": str(err)}
    answer = await ask(sessions, task.cfg, task.provider, system, user, task.use_cache)
    reply = answer.response
    parsed = parse_decision(reply.text, task.symbols, task.max_size_usd, reply.oversize)
    usage = {"prompt_tokens": reply.prompt_tokens, "completion_tokens": reply.completion_tokens}
    common: dict[str, Any] = {
        "prompt_hash": prompt_hash(system, user),
        "usage": usage,
        "cost": answer.cost,
        "cached": answer.cached,
    }
    if not parsed.ok or parsed.decision is None:
        return {
            **common,
            "status": ItemStatus.FAILED,
            "decision": {"raw": reply.text[:2000]},
            "error": f"{parsed.error_code}: {parsed.error}",
        }
    if task.use_cache:
        await remember(sessions, answer)
    new = parsed.decision.model_dump(mode="json")
    original = item.original or {}
    change = classify(
        original.get("operation"), original.get("symbol"), new["operation"], new.get("symbol")
    )
    return {**common, "status": ItemStatus.DONE, "decision": {**new, "change": change.value}}
