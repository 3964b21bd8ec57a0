"""Workflow code is pure orchestration; dependencies point inward.

The worker runs workflows without Temporal's sandbox (HYPERORU_WORKER_WORKFLOW_SANDBOX=off, or
shared, which passes workflows/ through its checks): this test is the static guard that they
import nothing with I/O, clocks or randomness. The suite's workers (tests/support/stack.py) and
the replay gate (tests/replay) run them under the strict sandbox.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW_FILES = sorted((ROOT / "workflows").glob("*.py"))
DOMAIN_FILES = sorted((ROOT / "domain").rglob("*.py"))  # domain/signals/ too

WORKFLOW_IMPORTS = (
    "__future__",
    "collections.abc",
    "contextlib",
    "dataclasses",
    "datetime",
    "decimal",  # money is Decimal (a budget compared in the workflow); its arithmetic is pure
    "enum",
    "typing",
    "pydantic",
    "temporalio.workflow",
    "temporalio.common",
    "temporalio.exceptions",
    "temporalio",  # `from temporalio import workflow`
    "domain",
    "workflows",
)
# Names that read the clock, draw randomness or do I/O; workflow.now()/workflow.sleep() instead.
FORBIDDEN_CALLS = {"now", "utcnow", "today", "time", "sleep", "open", "print", "uuid4", "random"}
DOMAIN_FORBIDDEN = ("activities", "api", "db", "sqlalchemy", "httpx", "openai", "socket", "os")


def _imports(tree: ast.AST) -> list[str]:
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
    return names


def _allowed(module: str, allowed: tuple[str, ...]) -> bool:
    return any(module == a or module.startswith(a + ".") for a in allowed)


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=[p.name for p in WORKFLOW_FILES])
def test_workflow_modules_import_only_pure_code(path: Path) -> None:
    tree = ast.parse(path.read_text())
    bad = [m for m in _imports(tree) if not _allowed(m, WORKFLOW_IMPORTS)]
    assert not bad, f"{path.name} imports {bad}"
    if path.name != "__init__.py":
        text = path.read_text()
        assert "from datetime import datetime" not in text and "import datetime" not in text


@pytest.mark.parametrize("path", WORKFLOW_FILES, ids=[p.name for p in WORKFLOW_FILES])
def test_workflow_modules_call_no_clock_random_or_io(path: Path) -> None:
    calls = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call):
            fn = node.func
            name = fn.attr if isinstance(fn, ast.Attribute) else getattr(fn, "id", "")
            owner = (
                fn.value.id
                if isinstance(fn, ast.Attribute) and isinstance(fn.value, ast.Name)
                else ""
            )
            if name in FORBIDDEN_CALLS and owner != "workflow":
                calls.append(f"{owner}.{name}" if owner else name)
    assert not calls, f"{path.name} calls {calls}"


@pytest.mark.parametrize(
    "path", DOMAIN_FILES, ids=[str(p.relative_to(ROOT / "domain")) for p in DOMAIN_FILES]
)
def test_domain_depends_on_nothing_outward(path: Path) -> None:
    bad = [m for m in _imports(ast.parse(path.read_text())) if _allowed(m, DOMAIN_FORBIDDEN)]
    assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


def test_the_guard_can_fail() -> None:
    tree = ast.parse("import time\nfrom sqlalchemy import select\nx = datetime.now()\n")
    assert [m for m in _imports(tree) if not _allowed(m, WORKFLOW_IMPORTS)] == [
        "time",
        "sqlalchemy",
    ]
