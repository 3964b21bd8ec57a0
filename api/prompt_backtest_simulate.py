"""Planning a simulate-mode prompt backtest: the backtest config (the program backtest's fields),
the stored history's coverage, the sampled decision times, and the estimate rendered on the
opening snapshots of three samples."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool
from sqlalchemy.ext.asyncio import AsyncSession

from adapters.llm.cutoffs import knowledge_cutoff
from api.errors import ApiError
from api.prompt_backtest_plan import Plan, TaskRequest, owned_prompt, prompt_trader
from api.schemas import Money
from config.settings import Settings
from db.prompt_replay import recent_chars_per_token, recent_completion_tokens
from db.session import Sessions
from db.transactions import read
from domain.market import parse_interval
from domain.prompt_backtest import lookahead, sample_steps
from domain.prompts import PromptTooLarge, validate_template
from strategies.backtest.contract import MAX_STEPS, CoverageError
from strategies.backtest.history import first_close, last_close, load_history
from strategies.prompt import MAX_TOKENS, build_messages
from strategies.prompt_backtest.estimate import estimate, sample_indexes
from strategies.prompt_backtest.sim_run import trader_limits
from strategies.prompt_backtest.simulate import backtest_config, opening_snapshot, step_time

DEFAULT_SAMPLES = 200
MAX_MISSING_SHOWN = 20


class SimulateConfig(BaseModel):
    """The program backtest's config (spec 8.2); fees and slippage default to the instance's
    paper config."""

    model_config = ConfigDict(extra="forbid")

    symbols: list[str] = Field(min_length=1, max_length=10)
    start_date: datetime
    end_date: datetime
    interval: str = "1h"
    initial_balance: Money = Field(default=Decimal(10000), gt=0, le=Decimal(1_000_000_000))
    slippage_pct: Money | None = Field(default=None, ge=0, le=10)
    maker_fee_pct: Money | None = Field(default=None, ge=0, le=10)
    taker_fee_pct: Money | None = Field(default=None, ge=0, le=10)
    funding: StrictBool = True
    intrabar: Literal["auto", "bar", "1m"] = "auto"
    seed: int = Field(default=0, ge=0, le=2**31 - 1)
    allow_gaps: StrictBool = False


def _ms(value: datetime) -> int:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return int(value.timestamp() * 1000)


def _bps(pct: Decimal | None, default_bps: str) -> str:
    return str(pct * 100) if pct is not None else default_bps


async def plan_simulate(
    s: AsyncSession, sessions: Sessions, body: TaskRequest, owner: int, settings: Settings
) -> Plan:
    acct = await prompt_trader(s, body.account_id, owner)
    if body.prompt_id is None or body.replace_rules is not None or body.decision_ids:
        raise ApiError(
            422, "VALIDATION_ERROR", "prompt_id: simulate mode takes a prompt_id, and no "
            "replace_rules or decision_ids",
        )  # fmt: skip
    prompt = await owned_prompt(s, body.prompt_id, owner)
    errors = validate_template(prompt.content)
    if errors:
        raise ApiError(422, "INVALID_TEMPLATE", "; ".join(errors))
    try:
        cfg_in = SimulateConfig.model_validate(body.config.model_dump())
        interval = parse_interval(cfg_in.interval)
    except ValueError as err:  # pydantic's ValidationError is a ValueError
        raise ApiError(422, "VALIDATION_ERROR", f"config: {err}") from None
    raw = {
        "symbols": sorted({x.strip().upper() for x in cfg_in.symbols}),
        "interval": interval.value,
        "start_ms": _ms(cfg_in.start_date),
        "end_ms": _ms(cfg_in.end_date),
        "initial_balance": str(cfg_in.initial_balance),
        "taker_fee_bps": _bps(cfg_in.taker_fee_pct, settings.paper_taker_fee_bps),
        "maker_fee_bps": _bps(cfg_in.maker_fee_pct, settings.paper_maker_fee_bps),
        "slippage_bps": _bps(cfg_in.slippage_pct, settings.paper_slippage_bps),
        "funding": cfg_in.funding,
        "intrabar": cfg_in.intrabar,
        "seed": cfg_in.seed,
        "allow_gaps": cfg_in.allow_gaps,
    }
    config = backtest_config(raw, trader_limits(acct))
    c0, ck = first_close(config), last_close(config)
    if ck < c0:
        raise ApiError(422, "INVALID_RANGE", "config: start_date must be before end_date")
    n = (ck - c0) // interval.ms + 1
    if n > MAX_STEPS:
        raise ApiError(422, "RANGE_TOO_LARGE", f"config: {n} bars, more than {MAX_STEPS}")
    try:
        history = await load_history(sessions, config)
    except CoverageError as err:
        shown = "; ".join(
            f"{sym} {iv} {_iso(a)}..{_iso(b)}" for sym, iv, a, b in err.missing[:MAX_MISSING_SHOWN]
        )
        raise ApiError(
            422, "DATA_COVERAGE", f"config: no stored candles for {len(err.missing)} "
            f"range(s): {shown}",
        ) from None  # fmt: skip
    steps = sample_steps(n, body.sample_count or DEFAULT_SAMPLES)
    chars = []
    for i in sample_indexes(len(steps)):
        snapshot = opening_snapshot(history, config, steps[i])
        try:
            system, user, _ = build_messages(
                prompt.content, snapshot, [], acct.max_position_notional_usd
            )
        except PromptTooLarge as err:
            raise ApiError(422, "PROMPT_TOO_LARGE", f"prompt_id: {err}") from None
        chars.append(len(system) + len(user))
    ratios = await read(sessions, lambda x: recent_chars_per_token(x, acct.id))
    outs = await read(sessions, lambda x: recent_completion_tokens(x, acct.id))
    est = estimate(
        len(steps), chars, ratios, outs, MAX_TOKENS, acct.llm_model or "", acct.llm_provider
    )
    start_day = datetime.fromtimestamp(c0 / 1000, UTC).date()
    risk, warning = lookahead(knowledge_cutoff(acct.llm_model or ""), start_day)
    items: list[dict[str, Any]] = [
        {"seq": seq, "ts": step_time(config, k), "original": {"step": k}}
        for seq, k in enumerate(steps)
    ]
    stored = {"template": prompt.content, "backtest": raw, "name": body.name}
    return Plan(acct, prompt, items, stored, est, risk, warning)


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat()
