"""Product code names the closed vocabularies by their enum members, never by bare strings.

`"buy" == Side.BUY` holds, so a bare literal works today; but it is invisible to mypy, to a
search for the member, and to the test that keeps each enum equal to what storage and the API
accept (test_vocabulary.py): a value renamed or dropped in the enum would leave it behind. So
every string constant in the product packages equal to a value of one of these enums is
flagged, except inside an enum's own definition and in the explicit allow-list below (text
that belongs to someone else's vocabulary and only happens to spell the same word: a venue's
or a library's wire text, a candle field, an HTTP header). SQL migrations are not scanned: they
are history.
"""

from __future__ import annotations

import ast
from collections import Counter
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path

from domain.ids import OrderLeg
from domain.orders import OrderStatus
from domain.trader import TraderStatus
from domain.vocabulary import (
    AccountType,
    DecisionStatus,
    Exchange,
    ExchangeEnvironment,
    MarketSource,
    PositionSide,
    Side,
)

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = (
    "activities",
    "adapters",
    "api",
    "config",
    "db",
    "domain",
    "runtime",
    "sandbox",
    "strategies",
    "vault",
    "workflows",
)
SKIPPED = ("db/migrations/",)
ENUMS: tuple[type[StrEnum], ...] = (
    Side,
    PositionSide,
    DecisionStatus,
    Exchange,
    ExchangeEnvironment,
    AccountType,
    MarketSource,
    OrderLeg,
    OrderStatus,
    TraderStatus,
)
# word -> the enums it is a value of, e.g. "hyperliquid" -> "Exchange or MarketSource"
WORDS = {
    word: " or ".join(e.__name__ for e in ENUMS if word in {m.value for m in e})
    for word in {m.value for e in ENUMS for m in e}
}

# (file, word): how many times that file may spell the word, and why it is not the platform's
# vocabulary there. A count, not a blanket pass: one more `"program"` in bindings.py (a
# comparison with an account type, say) fails like anywhere else.
ALLOWED: dict[tuple[str, str], tuple[int, str]] = {
    ("adapters/exchanges/binance/schemas.py", "close"): (1, "a Binance kline column"),
    ("adapters/exchanges/hyperliquid/adapter.py", "filled"): (1, "a Hyperliquid order status"),
    ("adapters/exchanges/hyperliquid/errors.py", "filled"): (1, "a Hyperliquid order status"),
    ("adapters/exchanges/hyperliquid/errors.py", "rejected"): (1, "a Hyperliquid order status"),
    ("api/limits.py", "close"): (2, "the HTTP `Connection: close` header"),
    ("api/limits.py", "unknown"): (1, "the rate limit's key for a client without an address"),
    ("api/routes/bindings.py", "program"): (1, "what get_owned names in its not-found error"),
    ("api/routes/bindings.py", "prompt"): (1, "what get_owned names in its not-found error"),
    ("api/routes/klines.py", "close"): (1, "a candle's close price in the klines response"),
    ("api/routes/programs.py", "failed"): (1, "a dry run's own status (ok | failed)"),
    ("api/routes/programs.py", "program"): (1, "what get_owned names in its not-found error"),
    ("api/routes/prompts.py", "prompt"): (1, "what get_owned names in its not-found error"),
    ("db/sqlite_writes.py", "close"): (1, "SQLAlchemy's connection pool event"),
    ("domain/market.py", "close"): (2, "a candle's close price (Candle's JSON form)"),
    ("domain/prompts.py", "invalid"): (2, "a template token's problem (unclosed | ...)"),
    ("domain/signals/series.py", "close"): (1, "the candles' close price column"),
    ("sandbox/market_data.py", "close"): (1, "a kline column a program reads"),
    ("strategies/prompt_context.py", "unknown"): (1, "prompt text for a value not known"),
    ("workflows/trader.py", "close"): (1, "the trigger context of an owner's close (a JSON key)"),
    ("workflows/trader_breakers.py", "close"): (1, "the trigger context of a breaker's close"),
    ("api/position_closes.py", "close"): (1, "that JSON key, read back from a close's context"),
    # Settings are outside the vocabulary change so far: MARKET_SOURCES and the default spell out
    # MarketSource's values (test_vocabulary.py keeps the two equal).
    ("config/settings.py", "simulated"): (2, "MARKET_SOURCES and the default market source"),
    ("config/settings.py", "hyperliquid"): (1, "MARKET_SOURCES: MarketSource's values"),
    ("config/settings.py", "binance"): (1, "MARKET_SOURCES: MarketSource's values"),
    # A backtest's own records: an order waiting for the next bar's open (no venue status), the
    # checkpoint's key for those orders, and the metrics' decision counters (section 8.8 names).
    ("strategies/backtest/engine.py", "pending"): (1, "a backtest order waiting for the next open"),
    # The backtest decisions' filter values (the API's query vocabulary), a candle's close price
    # as a chart's JSON key, a health state, a chart line's kind, a default validation message.
    ("api/routes/backtest_results.py", "denied"): (1, "the decisions filter's values"),
    ("api/routes/backtest_results.py", "failed"): (1, "the decisions filter's values"),
    ("api/routes/backtests.py", "program"): (1, "what get_owned names in its not-found error"),
    ("api/web/backtests.py", "denied"): (2, "the decisions filter's values"),
    ("api/web/backtests.py", "failed"): (2, "the decisions filter's values"),
    ("api/web/backtests.py", "close"): (1, "a candle's close price (the chart's JSON)"),
    ("api/web/backtests.py", "invalid"): (1, "a validation error's default message"),
    ("api/web/trader_form_data.py", "invalid"): (1, "a validation error's default message"),
    ("api/web/system.py", "unknown"): (1, "a health check's state"),
    ("api/web/trader_charts.py", "entry"): (1, "the entry price line's kind (the chart's JSON)"),
    ("api/web/trader_charts.py", "close"): (2, "a candle's close price (the chart's JSON)"),
    ("strategies/backtest/state.py", "pending"): (2, "the checkpoint's key for those orders"),
    ("strategies/backtest/steps.py", "denied"): (1, "the metrics' decision counter names"),
    ("strategies/backtest/steps.py", "failed"): (1, "the metrics' decision counter names"),
    ("strategies/backtest/steps.py", "rejected"): (1, "the metrics' decision counter names"),
}


def _enum_bodies(tree: ast.AST) -> set[int]:
    """ids of the constants that define an enum's members (`BUY = "buy"` in its class)."""
    out: set[int] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.ClassDef):
            continue
        bases = {b.id if isinstance(b, ast.Name) else getattr(b, "attr", "") for b in node.bases}
        if not bases & {"StrEnum", "Enum"}:
            continue
        for stmt in node.body:
            if isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Constant):
                out.add(id(stmt.value))
    return out


def raw_literals(root: Path = ROOT) -> Iterator[tuple[str, int, str]]:
    """(file, line, word) of every bare vocabulary string in the product packages."""
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            rel = path.relative_to(root).as_posix()
            if rel.startswith(SKIPPED):
                continue
            tree = ast.parse(path.read_text(), rel)
            definitions = _enum_bodies(tree)
            for node in ast.walk(tree):
                if (
                    isinstance(node, ast.Constant)
                    and isinstance(node.value, str)
                    and node.value in WORDS
                    and id(node) not in definitions
                ):
                    yield rel, node.lineno, node.value


def test_no_bare_vocabulary_strings_in_product_code() -> None:
    found = list(raw_literals())
    spelt = Counter((path, word) for path, _, word in found)
    over = {key for key, n in spelt.items() if n > ALLOWED.get(key, (0, ""))[0]}
    listing = "\n".join(
        f"  {path}:{line}: {word!r} -> {WORDS[word]}"
        for path, line, word in found
        if (path, word) in over
    )
    assert not over, f"name these by their enum member:\n{listing}"


def test_every_allowance_is_still_needed() -> None:
    """A loose allowance would let the word back into that file unnoticed."""
    spelt = Counter((path, word) for path, _, word in raw_literals())
    loose = {key: (spelt[key], n) for key, (n, _) in ALLOWED.items() if spelt[key] < n}
    assert not loose, f"(file, word): (spelt, allowed) {loose}"
