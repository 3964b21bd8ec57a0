"""Models' knowledge cutoffs, for the prompt backtests' lookahead warning (README "Prompt
backtests").

A backtest window before a model's training cutoff measures what the model remembers rather
than what it can foresee. These are the training-data cutoffs the providers published for each
model (a month: the first of that month is used); a model not listed has an unknown cutoff, and
its backtests say so. Names are matched as in adapters.llm.providers.price_for (a routing prefix
and a date or "latest" suffix are ignored).
"""

from __future__ import annotations

from datetime import date

from adapters.llm.providers import normalized_model, undated_model

KNOWLEDGE_CUTOFFS: dict[str, date] = {
    # OpenAI
    "gpt-4o": date(2023, 10, 1),
    "gpt-4o-mini": date(2023, 10, 1),
    "gpt-4.1": date(2024, 6, 1),
    "gpt-4.1-mini": date(2024, 6, 1),
    "gpt-4.1-nano": date(2024, 6, 1),
    "o3": date(2024, 6, 1),
    "o4-mini": date(2024, 6, 1),
    "gpt-5": date(2024, 9, 30),
    # Anthropic
    "claude-3-5-haiku": date(2024, 7, 1),
    "claude-3-7-sonnet": date(2024, 11, 1),
    "claude-sonnet-4": date(2025, 3, 1),
    "claude-opus-4": date(2025, 3, 1),
    "claude-opus-4-1": date(2025, 3, 1),
    "claude-sonnet-4-5": date(2025, 7, 1),
    # Google
    "gemini-2.5-pro": date(2025, 1, 1),
    "gemini-2.5-flash": date(2025, 1, 1),
}


def knowledge_cutoff(model: str) -> date | None:
    """The model's training-data cutoff, or None when it is not known."""
    found = KNOWLEDGE_CUTOFFS.get(normalized_model(model))
    return found if found is not None else KNOWLEDGE_CUTOFFS.get(undated_model(model))
