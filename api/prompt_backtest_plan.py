"""Planning a prompt backtest before it starts (POST /api/prompt-backtest/tasks): which trader,
template and recorded decisions, the cost estimate, the budget check and the knowledge-cutoff
warning. Nothing is stored here; the route stores the task only once all of it passed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from adapters.llm.cutoffs import knowledge_cutoff
from api.errors import ApiError
from api.queries import MAX_ID, get_owned
from api.schemas import Money
from db.models import Account, PromptTemplate
from db.prompt_replay import (
    Recorded,
    ReplaySource,
    recent_chars_per_token,
    recent_completion_tokens,
    recorded_decisions,
    replay_source,
)
from db.session import Sessions
from db.transactions import read
from domain.prompt_backtest import DEFAULT_CONCURRENCY, MAX_ITEMS, lookahead
from domain.prompts import validate_template
from domain.vocabulary import AccountType
from strategies.prompt import MAX_TOKENS
from strategies.prompt_backtest.estimate import Estimate, estimate, sample_indexes
from strategies.prompt_backtest.replay import ReplayProblem, Rule, rebuild
from strategies.prompt_run import config_problem

MAX_RULES = 50
MAX_RULE_CHARS = 10_000


class ReplaceRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    find: str = Field(min_length=1, max_length=MAX_RULE_CHARS)
    replace: str = Field(max_length=MAX_RULE_CHARS)


class TaskWindow(BaseModel):
    """Replay mode's window (recorded decisions made in [start_date, end_date)), when no
    `decision_ids` are given. Simulate mode's config is the program backtest's."""

    model_config = ConfigDict(extra="allow")

    start_date: datetime | None = None
    end_date: datetime | None = None


class TaskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    account_id: int
    mode: Literal["replay", "simulate"] = "replay"
    prompt_id: int | None = None
    decision_ids: list[Annotated[str, Field(min_length=1, max_length=64)]] | None = Field(
        default=None, min_length=1, max_length=MAX_ITEMS
    )
    replace_rules: list[ReplaceRule] | None = Field(
        default=None, min_length=1, max_length=MAX_RULES
    )
    config: TaskWindow = Field(default_factory=TaskWindow)
    sample_count: int | None = Field(default=None, ge=1, le=MAX_ITEMS)
    temperature: float = Field(default=0.0, ge=0, le=2)
    max_cost_usd: Money | None = Field(default=None, gt=0)
    cache: StrictBool = True
    concurrency: int = Field(default=DEFAULT_CONCURRENCY, ge=1, le=16)
    name: str | None = Field(default=None, max_length=200)
    # The spec's anonymised runs (symbols and dates masked) are not built yet: only false.
    anonymize: StrictBool = False


@dataclass
class Plan:
    account: Account
    prompt: PromptTemplate | None
    items: list[dict[str, Any]]  # prompt_backtest_items rows (without task_id)
    config: dict[str, Any]
    estimate: Estimate
    lookahead_risk: str
    cutoff_warning: str | None

    def estimate_json(self) -> dict[str, Any]:
        return {
            **self.estimate.as_json(),
            "cutoff_warning": self.cutoff_warning,
            "lookahead_risk": self.lookahead_risk,
            "knowledge_cutoff": _cutoff_text(self.account),
        }


def _cutoff_text(acct: Account) -> str | None:
    cutoff = knowledge_cutoff(acct.llm_model or "")
    return cutoff.isoformat() if cutoff else None


def refuse_anonymize(body: TaskRequest) -> None:
    if body.anonymize:
        raise ApiError(
            422, "ANONYMIZE_NOT_AVAILABLE", "anonymize: anonymised runs are not available yet"
        )


async def prompt_trader(s: AsyncSession, account_id: int, owner: int) -> Account:
    """The caller's prompt trader (not deleted); anything else is 404 ACCOUNT_NOT_FOUND."""
    acct = await get_owned(s, Account, account_id, owner, "account")
    if acct.is_deleted or acct.account_type != AccountType.PROMPT:
        raise ApiError(404, "ACCOUNT_NOT_FOUND", f"Prompt trader {account_id} not found")
    problem = config_problem(acct)
    if problem:
        raise ApiError(422, "LLM_NOT_CONFIGURED", f"account_id: {problem}")
    return acct


async def owned_prompt(s: AsyncSession, prompt_id: int, owner: int) -> PromptTemplate:
    """The caller's prompt template; another user's is answered like a missing one."""
    row = await s.get(PromptTemplate, prompt_id) if 0 < prompt_id <= MAX_ID else None
    if row is None or row.owner_id != owner:
        raise ApiError(404, "PROMPT_NOT_FOUND", f"Prompt {prompt_id} not found")
    return row


def _evenly(rows: list[Recorded], n: int | None) -> list[Recorded]:
    if n is None or len(rows) <= n:
        return rows
    return [rows[(i * len(rows)) // n] for i in range(n)]


def _utc(value: datetime | None) -> datetime | None:
    return None if value is None else _as_utc(value)


def _as_utc(value: datetime) -> datetime:
    # SQLite hands back naive datetimes; every stored time is UTC.
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


async def plan_replay(s: AsyncSession, sessions: Sessions, body: TaskRequest, owner: int) -> Plan:
    acct = await prompt_trader(s, body.account_id, owner)
    if body.config.model_extra:
        names = ", ".join(sorted(body.config.model_extra))
        raise ApiError(
            422,
            "VALIDATION_ERROR",
            f"config: replay mode takes start_date and end_date, not {names}",
        )
    if (body.prompt_id is None) == (body.replace_rules is None):
        raise ApiError(
            422, "VALIDATION_ERROR", "prompt_id or replace_rules: give exactly one of them"
        )
    prompt = None
    if body.prompt_id is not None:
        prompt = await owned_prompt(s, body.prompt_id, owner)
        errors = validate_template(prompt.content)
        if errors:
            raise ApiError(422, "INVALID_TEMPLATE", "; ".join(errors))
    start, end = _utc(body.config.start_date), _utc(body.config.end_date)
    if start is not None and end is not None and start >= end:
        raise ApiError(422, "INVALID_RANGE", "config.start_date must be before end_date")
    ids = list(dict.fromkeys(body.decision_ids)) if body.decision_ids is not None else None
    rows = await recorded_decisions(s, acct.id, ids, start, end, MAX_ITEMS)
    if ids is not None:
        missing = sorted(set(ids) - {r.decision_id for r in rows})
        if missing:
            shown = ", ".join(missing[:20])
            raise ApiError(
                404,
                "DECISION_NOT_FOUND",
                f"decision_ids: not prompt decisions of trader {acct.id}: {shown}",
            )
    if len(rows) > MAX_ITEMS:
        raise ApiError(
            422, "RANGE_TOO_LARGE", f"A replay covers at most {MAX_ITEMS} decisions; narrow it"
        )
    rows = _evenly(rows, body.sample_count)
    if not rows:
        raise ApiError(422, "NO_DECISIONS", "The trader has no recorded prompt decisions there")
    rules = [Rule(r.find, r.replace) for r in body.replace_rules or []]
    template = prompt.content if prompt is not None else None
    chars = []
    for i in sample_indexes(len(rows)):
        decision_id = rows[i].decision_id
        try:
            src = await read(sessions, _source(acct.id, decision_id))
            system, user = await rebuild(
                sessions, acct.id, src, template, rules, acct.max_position_notional_usd
            )
        except (LookupError, ReplayProblem) as err:
            raise ApiError(422, "REPLAY_IMPOSSIBLE", f"decision {decision_id}: {err}") from None
        chars.append(len(system) + len(user))
    ratios = await read(sessions, lambda x: recent_chars_per_token(x, acct.id))
    outs = await read(sessions, lambda x: recent_completion_tokens(x, acct.id))
    est = estimate(
        len(rows), chars, ratios, outs, MAX_TOKENS, acct.llm_model or "", acct.llm_provider
    )
    risk, warning = lookahead(
        knowledge_cutoff(acct.llm_model or ""), _as_utc(rows[0].created_at).date()
    )
    items = [
        {
            "seq": n,
            "ts": int(_as_utc(r.created_at).timestamp() * 1000),
            "source_decision_id": r.decision_id,
            "original": {
                "decision_id": r.decision_id,
                "operation": r.operation,
                "symbol": r.symbol,
                "pnl": None if r.round_trip_pnl is None else str(r.round_trip_pnl),
            },
        }
        for n, r in enumerate(rows)
    ]
    config: dict[str, Any] = {
        "template": template,
        "replace_rules": [{"find": r.find, "replace": r.replace} for r in rules],
        "window": {
            "start_date": start.isoformat() if start else None,
            "end_date": end.isoformat() if end else None,
        },
        "name": body.name,
    }
    return Plan(acct, prompt, items, config, est, risk, warning)


def _source(account_id: int, decision_id: str) -> Callable[[Session], ReplaySource]:
    return lambda s: replay_source(s, account_id, decision_id)


def check_budget(plan: Plan, max_cost_usd: Decimal | None) -> None:
    cost = plan.estimate.cost_usd
    if max_cost_usd is not None and cost is not None and cost > max_cost_usd:
        raise ApiError(
            422,
            "BUDGET_TOO_LOW",
            f"max_cost_usd: the estimate is {cost} USD ({plan.estimate.calls} calls, "
            f"{plan.estimate.input_tokens} input and {plan.estimate.output_tokens} output "
            f"tokens), over the budget of {max_cost_usd} USD",
        )
