"""The developer guide says where the funding and open-interest histories come from and when
their factors are None. Why: before, it said they were None until the snapshot carried a
history, which it now does; a program's author needs to know what to expect on paper and live."""

from __future__ import annotations

from api.dev_guide import dev_guide
from sandbox.runner import SandboxLimits


def _row(text: str, name: str) -> str:
    (row,) = [line for line in text.splitlines() if line.startswith(f"| `{name}` |")]
    return row


def test_the_guide_says_where_the_factor_histories_come_from() -> None:
    dev_guide.cache_clear()
    text = dev_guide(SandboxLimits())
    funding, oi = _row(text, "funding_zscore"), _row(text, "oi_change")
    assert "market-history refresh" in funding and "HYPERORU_MARKET_SOURCE" in funding
    assert "None where none is stored yet" in funding
    assert "earlier decisions" in oi and "None on paper" in oi
