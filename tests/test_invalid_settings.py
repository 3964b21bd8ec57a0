"""An invalid setting stops every entry point with one line naming it, not a traceback.

`make run` with `HYPERORU_API_PORT=abc` used to print pydantic's 50-line traceback. Each entry
point (the supervisor behind `make run`, the API, the worker both ways, migrations) now prints
one line per invalid variable, saying what is allowed, and exits with EX_CONFIG (78).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from config.settings import EXIT_CONFIG

ROOT = Path(__file__).resolve().parent.parent
ENTRY_POINTS = {
    "cli run": ["-m", "runtime.cli", "run"],
    "cli api": ["-m", "runtime.cli", "api"],
    "cli worker": ["-m", "runtime.cli", "worker"],
    "cli migrate": ["-m", "runtime.cli", "migrate"],
    "worker.py": [str(ROOT / "worker.py")],
}


def _run(cmd: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("HYPERORU_")}
    base |= {"HYPERORU_DATA_DIR": str(tmp_path / "data")}
    return subprocess.run(
        cmd, cwd=ROOT, env=base | env, capture_output=True, text=True, timeout=60, check=False
    )


def _one_line(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == EXIT_CONFIG, done.stdout + done.stderr
    assert "Traceback" not in done.stderr and "Error" not in done.stderr, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


@pytest.mark.parametrize("entry", list(ENTRY_POINTS))
def test_a_port_that_is_not_a_number(entry: str, tmp_path: Path) -> None:
    done = _run([sys.executable, *ENTRY_POINTS[entry]], tmp_path, HYPERORU_API_PORT="abc")
    assert _one_line(done) == "invalid setting HYPERORU_API_PORT='abc': must be a whole number"


@pytest.mark.parametrize("entry", ["cli run", "worker.py"])
def test_a_choice_outside_its_list_says_what_is_allowed(entry: str, tmp_path: Path) -> None:
    done = _run([sys.executable, *ENTRY_POINTS[entry]], tmp_path, HYPERORU_SANDBOX_MODE="bogus")
    line = _one_line(done)
    assert line == "invalid setting HYPERORU_SANDBOX_MODE='bogus': must be 'fork' or 'spawn'"


def test_make_run(tmp_path: Path) -> None:
    done = _run(["make", "--no-print-directory", "run"], tmp_path, HYPERORU_API_PORT="abc")
    assert done.returncode != 0
    assert "invalid setting HYPERORU_API_PORT='abc': must be a whole number" in done.stderr
    assert "Traceback" not in done.stdout + done.stderr


def test_every_invalid_setting_gets_its_line(tmp_path: Path) -> None:
    """Checked at start instead of failing later in a library: log level, market source,
    a boolean, a bound; several at once give one line each."""
    done = _run(
        [sys.executable, "-m", "runtime.cli", "run"],
        tmp_path,
        HYPERORU_LOG_LEVEL="loud",
        HYPERORU_MARKET_SOURCE="nyse",
        HYPERORU_ALLOW_REGISTRATION="maybe",
        HYPERORU_CONTINUE_AS_NEW_EVENTS="3",
    )
    assert done.returncode == EXIT_CONFIG and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [
        "invalid setting HYPERORU_MARKET_SOURCE='nyse': "
        "must be one of simulated, hyperliquid, binance",
        "invalid setting HYPERORU_CONTINUE_AS_NEW_EVENTS='3': must be greater than or equal to 50",
        "invalid setting HYPERORU_LOG_LEVEL='loud': must be one of CRITICAL, ERROR, WARNING, "
        "INFO, DEBUG",
        "invalid setting HYPERORU_ALLOW_REGISTRATION='maybe': "
        "must be true or false (or 1/0, yes/no, on/off)",
    ]


def test_secret_values_are_named_but_never_shown(tmp_path: Path) -> None:
    done = _run(
        [sys.executable, "-m", "runtime.cli", "api"],
        tmp_path,
        HYPERORU_DATABASE_URL="mysql://app:pw-NOT-SHOWN@db/app",
        HYPERORU_MASTER_KEY="key-NOT-SHOWN",
    )
    assert done.returncode == EXIT_CONFIG and "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert [line.split(":", 1)[0] for line in lines] == [
        "invalid setting HYPERORU_DATABASE_URL",
        "invalid setting HYPERORU_MASTER_KEY",
    ]
    assert "NOT-SHOWN" not in done.stdout + done.stderr
    assert "'mysql'" in lines[0]


def test_run_with_an_unusable_data_dir_or_api_host(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    cmd = [sys.executable, "-m", "runtime.cli", "run"]
    done = _run(cmd, tmp_path, HYPERORU_DATA_DIR=str(tmp_path / "file" / "data"))
    assert _one_line(done).startswith("invalid setting HYPERORU_DATA_DIR=")
    done = _run(cmd, tmp_path, HYPERORU_API_HOST="no-such-host.invalid")
    assert _one_line(done).startswith("invalid setting HYPERORU_API_HOST='no-such-host.invalid'")
