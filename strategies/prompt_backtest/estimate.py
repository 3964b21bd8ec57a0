"""What a prompt backtest will cost, before it starts (README "Prompt backtests").

Input tokens: the prompts rendered on a few of the task's own inputs (the same render as live),
their characters divided by the characters per token this trader's provider counted on its
latest calls (the median; 4 when it has none: English text averages about 4 per token).
Output tokens: the median of the trader's latest answers, else the answer limit (max_tokens).
Cost: the model's list price (adapters.llm.providers), None when the price is unknown. The
estimate assumes no cache hits: a rerun costs less than it says, never more."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from decimal import Decimal

from adapters.llm.providers import estimate_cost_usd

DEFAULT_CHARS_PER_TOKEN = 4.0
SAMPLE_RENDERS = 3  # prompts rendered for the estimate


@dataclass(frozen=True)
class Estimate:
    calls: int
    input_tokens: int
    output_tokens: int
    cost_usd: Decimal | None

    def as_json(self) -> dict[str, object]:
        return {
            "estimated_calls": self.calls,
            "estimated_input_tokens": self.input_tokens,
            "estimated_output_tokens": self.output_tokens,
            "estimated_cost_usd": None if self.cost_usd is None else str(self.cost_usd),
        }


def sample_indexes(n: int, k: int = SAMPLE_RENDERS) -> list[int]:
    """Up to k indexes spread over [0, n): first, middle, last."""
    if n <= k:
        return list(range(n))
    return sorted({round(i * (n - 1) / (k - 1)) for i in range(k)})


def estimate(
    calls: int,
    sample_chars: list[int],
    chars_per_token: list[float],
    completion_tokens: list[int],
    max_tokens: int,
    model: str,
    provider: str | None,
) -> Estimate:
    ratio = statistics.median(chars_per_token) if chars_per_token else DEFAULT_CHARS_PER_TOKEN
    per_call_in = statistics.fmean(sample_chars) / ratio if sample_chars else 0.0
    per_call_out = statistics.median(completion_tokens) if completion_tokens else max_tokens
    input_tokens = math.ceil(per_call_in * calls)
    output_tokens = math.ceil(per_call_out * calls)
    cost = estimate_cost_usd(model, input_tokens, output_tokens, provider)
    return Estimate(calls, input_tokens, output_tokens, cost)
