"""A migrated SQLite database per test, copied from one migrated once: the migrations take ~3 s
on this machine and these tests only need the candles and funding tables."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from db.migrate import upgrade


@pytest.fixture(scope="session")
def migrated_template() -> Path:
    path = Path(tempfile.mkdtemp(prefix="backtest-template-")) / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def sqlite_url(migrated_template: Path) -> str:
    """Overrides tests/conftest.py's for this package: the same fresh, migrated database."""
    path = Path(tempfile.mkdtemp(prefix="hyperoru-test-")) / "test.db"
    shutil.copyfile(migrated_template, path)
    return f"sqlite:///{path}"
