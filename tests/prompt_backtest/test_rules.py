"""The pure rules of prompt backtests: how a change is classified, the cache key, the cutoff
warning (domain/prompt_backtest.py, adapters/llm/cutoffs.py)."""

from __future__ import annotations

from datetime import date

from adapters.llm.cutoffs import knowledge_cutoff
from domain.prompt_backtest import Change, cache_key, classify, lookahead


def test_classify() -> None:
    assert classify("long", "BTC", "long", "BTC") is Change.UNCHANGED
    assert classify("hold", None, "hold", None) is Change.UNCHANGED
    assert classify("long", "BTC", "short", "BTC") is Change.FLIPPED_DIRECTION
    assert classify("short", "BTC", "hold", None) is Change.ENTRY_TO_HOLD
    assert classify("hold", None, "long", "ETH") is Change.HOLD_TO_ENTRY
    assert classify("long", "BTC", "long", "ETH") is Change.OTHER
    assert classify("close", "BTC", "hold", None) is Change.OTHER
    assert classify(None, None, "hold", None) is Change.OTHER  # no valid recorded answer


def test_cache_key_covers_every_request_part() -> None:
    """Why: two requests that could be answered differently must never share an answer."""
    parts = ["http://h/v1", "m", 0.0, None, 1200, "json_object", "sys", "user"]
    key = cache_key(*parts)  # type: ignore[arg-type]
    changed = [
        ["http://other/v1", *parts[1:]],
        [parts[0], "m2", *parts[2:]],
        [*parts[:2], 0.7, *parts[3:]],
        [*parts[:3], 7, *parts[4:]],
        [*parts[:4], 100, *parts[5:]],
        [*parts[:5], None, *parts[6:]],
        [*parts[:6], "sys2", parts[7]],
        [*parts[:7], "user2"],
    ]
    keys = {cache_key(*p) for p in changed}  # type: ignore[arg-type]
    assert key not in keys and len(keys) == len(changed)


def test_lookahead_risk() -> None:
    cutoff = date(2024, 6, 1)
    assert lookahead(cutoff, date(2024, 1, 1))[0] == "high"
    assert "2024-06-01" in (lookahead(cutoff, date(2024, 1, 1))[1] or "")
    assert lookahead(cutoff, date(2024, 6, 1)) == ("low", None)
    risk, warning = lookahead(None, date(2026, 1, 1))
    assert risk == "unknown" and (warning or "").startswith("unknown cutoff")


def test_knowledge_cutoff_names() -> None:
    assert knowledge_cutoff("gpt-4o-mini") == date(2023, 10, 1)
    assert knowledge_cutoff("openai/gpt-4o-2024-08-06") == date(2023, 10, 1)
    assert knowledge_cutoff("house-model-7b") is None
