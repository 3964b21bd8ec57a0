"""The developer guide is read from the code, not kept beside it: a method added to the `data`
class, or a factor added to the registry, is in the next guide without anyone editing it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from api.dev_guide import dev_guide
from domain import factors
from sandbox.market_data import MarketData
from sandbox.runner import SandboxLimits


@pytest.fixture(autouse=True)
def fresh_guide() -> Iterator[None]:
    dev_guide.cache_clear()
    yield
    dev_guide.cache_clear()


def test_a_method_added_to_data_is_in_the_guide(monkeypatch: pytest.MonkeyPatch) -> None:
    def get_spread(self: MarketData, symbol: str, depth: int = 5) -> float:
        """The bid-ask spread of `symbol` (a test's own method)."""
        return 0.0

    monkeypatch.setattr(MarketData, "get_spread", get_spread, raising=False)
    text = dev_guide(SandboxLimits())
    assert "### `data.get_spread(symbol: str, depth: int = 5) -> float`" in text
    assert "The bid-ask spread of `symbol` (a test's own method)." in text


def test_a_factor_added_to_the_registry_is_in_the_guide(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = replace(factors.FACTORS["momentum"], name="carry", definition="a test's own formula")
    monkeypatch.setitem(factors.FACTORS, "carry", spec)
    assert "| `carry` | a test's own formula |" in dev_guide(SandboxLimits())
