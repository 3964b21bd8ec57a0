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
WORDS = {member.value: enum.__name__ for enum in ENUMS for member in enum}

# (file, word): why that file's literal is not the platform's vocabulary.
ALLOWED: dict[tuple[str, str], str] = {
    ("adapters/exchanges/binance/schemas.py", "close"): "a Binance kline column",
    ("api/limits.py", "close"): "the HTTP `Connection: close` header",
    ("api/routes/klines.py", "close"): "a candle's close price in the klines response",
    ("domain/market.py", "close"): "a candle's close price (Candle's JSON form)",
    ("domain/signals/series.py", "close"): "the candles' close price column",
    ("sandbox/market_data.py", "close"): "a kline column a program reads",
    ("db/sqlite_writes.py", "close"): "SQLAlchemy's connection pool event",
    ("workflows/trader.py", "close"): "the trigger context of an owner's close (its JSON key)",
    ("api/routes/programs.py", "failed"): "a dry run's own status (ok | failed), not a decision",
    ("api/routes/prompts.py", "prompt"): "what get_owned names in its not-found error",
    ("api/routes/programs.py", "program"): "what get_owned names in its not-found error",
    ("api/routes/bindings.py", "program"): "what get_owned names in its not-found error",
    ("api/routes/bindings.py", "prompt"): "what get_owned names in its not-found error",
    ("adapters/exchanges/hyperliquid/errors.py", "filled"): "a Hyperliquid order status",
    ("adapters/exchanges/hyperliquid/errors.py", "rejected"): "a Hyperliquid order status",
    ("adapters/exchanges/hyperliquid/adapter.py", "filled"): "a Hyperliquid order status",
    ("api/limits.py", "unknown"): "the rate limit's key for a client without an address",
    ("strategies/prompt_context.py", "unknown"): "prompt text for a value not known",
    ("domain/prompts.py", "invalid"): "a template token's problem (unclosed | stray_close | ...)",
    # Settings are outside the vocabulary change so far: MARKET_SOURCES spells out MarketSource's
    # values (test_vocabulary.py keeps the two equal).
    ("config/settings.py", "simulated"): "MARKET_SOURCES: MarketSource's values",
    ("config/settings.py", "hyperliquid"): "MARKET_SOURCES: MarketSource's values",
    ("config/settings.py", "binance"): "MARKET_SOURCES: MarketSource's values",
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
    found = [f for f in raw_literals() if (f[0], f[2]) not in ALLOWED]
    listing = "\n".join(f"  {path}:{line}: {word!r} -> {WORDS[word]}" for path, line, word in found)
    assert not found, f"name these by their enum member:\n{listing}"


def test_every_allowance_is_still_needed() -> None:
    """A stale allowance would let the word back into that file unnoticed."""
    used = {(path, word) for path, _, word in raw_literals()}
    assert set(ALLOWED) <= used, sorted(set(ALLOWED) - used)
