"""Simulate mode: a walk-forward backtest of a prompt. The backtest engine (strategies/backtest)
walks every bar (fills, TP/SL, liquidation, funding); at each sampled bar close the prompt
decider renders the template on the engine's snapshot with the live render, asks the trader's
model (through the cache) and parses the answer with the live parser. Between samples the
decider answers hold without asking: the engine still runs every bar's triggers and funding.

Samples: every bar close when there are at most `sample_count` of them, else every
`stride = ceil(n / sample_count)`-th close from the first (domain.prompt_backtest.sample_steps).
Samples run in order: the prompt shows the simulated positions and balance."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from adapters.exchanges.paper import PaperExchange
from adapters.llm.client import LLMCallConfig
from adapters.market.snapshot import snapshot_dict
from db.session import Sessions
from domain.decision import Decision, Operation
from domain.llm_output import parse_decision
from domain.market import parse_interval
from domain.paper import PaperAccount, PaperConfig
from domain.prompt_backtest import ItemStatus, prompt_hash
from domain.prompts import PromptTooLarge
from domain.risk import RiskLimits
from strategies.backtest.contract import BacktestConfig, StepInput, StepOutcome
from strategies.backtest.history import MarketHistory, first_close
from strategies.prompt import build_messages
from strategies.prompt_backtest.cached_llm import ask, remember

TRIGGER = {"type": "backtest"}  # what woke the strategy, as the engine tells it


def backtest_config(raw: dict[str, Any], limits: RiskLimits) -> BacktestConfig:
    """The engine's config from the task's stored `config.backtest` (decimal strings, ms)."""
    paper = PaperConfig(
        taker_fee_bps=Decimal(raw["taker_fee_bps"]),
        maker_fee_bps=Decimal(raw["maker_fee_bps"]),
        slippage_bps=Decimal(raw["slippage_bps"]),
    )
    return BacktestConfig(
        symbols=tuple(raw["symbols"]),
        interval=parse_interval(raw["interval"]),
        start_ms=int(raw["start_ms"]),
        end_ms=int(raw["end_ms"]),
        initial_balance=Decimal(raw["initial_balance"]),
        paper=paper,
        funding=bool(raw["funding"]),
        intrabar=raw["intrabar"],
        seed=int(raw.get("seed", 0)),
        limits=limits,
        allow_gaps=bool(raw.get("allow_gaps", False)),
    )


def step_time(config: BacktestConfig, step: int) -> int:
    return first_close(config) + step * config.interval.ms


def opening_snapshot(history: MarketHistory, config: BacktestConfig, step: int) -> dict[str, Any]:
    """The snapshot the engine builds at `step` for an account that has not traded (the
    estimate renders the prompt on a few of these before the run)."""
    c = step_time(config, step)
    symbols = history.symbols
    marks = {}
    for s in symbols:
        bar = history.bar(s, c - config.interval.ms)
        marks[s] = history.price(s, c) or (bar.close if bar is not None else Decimal(0))
    view = PaperExchange._view(PaperAccount(cash=config.initial_balance), marks)
    klines = {
        s: {iv.value: history.klines_at(s, iv, c) for iv in history.intervals} for s in symbols
    }
    return snapshot_dict(symbols, c, marks, klines, view, dict(TRIGGER))


@dataclass
class PromptDecider:
    """The engine's `Decide` for a prompt: asks the model at the sampled steps only. `last`
    holds the latest sample's outcome as prompt_backtest_items columns."""

    sessions: Sessions
    template: str
    cfg: LLMCallConfig
    provider: str | None
    max_size_usd: Decimal
    use_cache: bool
    samples: set[int]
    last: dict[str, Any] | None = field(default=None)

    async def __call__(self, step: StepInput) -> StepOutcome:
        if step.step not in self.samples:
            return StepOutcome(Decision(operation=Operation.HOLD), extra={"sampled": False})
        snapshot = step.snapshot()
        symbols = list(snapshot.get("symbols") or [])
        try:
            # The live render; {recent_trades} shows none (the simulated fills are not trades
            # of the trader).
            system, user, _ = build_messages(self.template, snapshot, [], self.max_size_usd)
        except PromptTooLarge as err:
            self.last = {"status": ItemStatus.FAILED, "error": f"PROMPT_TOO_LARGE: {err}"}
            return StepOutcome(None, "PROMPT_TOO_LARGE", str(err))
        answer = await ask(self.sessions, self.cfg, self.provider, system, user, self.use_cache)
        reply = answer.response
        parsed = parse_decision(reply.text, symbols, self.max_size_usd, reply.oversize)
        usage = {"prompt_tokens": reply.prompt_tokens, "completion_tokens": reply.completion_tokens}
        extra = {
            "prompt_hash": prompt_hash(system, user),
            "usage": usage,
            "cost": answer.cost,
            "cached": answer.cached,
        }
        if not parsed.ok or parsed.decision is None:
            error = f"{parsed.error_code}: {parsed.error}"
            self.last = {
                **extra,
                "status": ItemStatus.FAILED,
                "decision": {"raw": reply.text[:2000]},
                "error": error,
            }
            return StepOutcome(
                None, str(parsed.error_code), parsed.error, reply.latency_ms, extra=extra
            )
        if self.use_cache:
            await remember(self.sessions, answer)
        decision = parsed.decision.model_dump(mode="json")
        self.last = {**extra, "status": ItemStatus.DONE, "decision": decision}
        return StepOutcome(parsed.decision, run_ms=reply.latency_ms, extra=extra)
