"""The product's own source, parsed, for guard tests that keep a rule over every module (one
writer of a table, one place for a word)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("activities", "adapters", "api", "db", "domain", "runtime", "strategies", "workflows")


def product_modules() -> Iterator[tuple[Path, ast.Module]]:
    """(path relative to the repository, parsed module) for every product module but the
    migrations."""
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            rel = path.relative_to(ROOT)
            if "migrations" not in rel.parts:
                yield rel, ast.parse(path.read_text(), str(rel))
