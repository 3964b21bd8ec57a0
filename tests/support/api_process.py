"""The real API process (`python -m runtime.cli api`, as `make run` and the container start it)
for tests of what only the process shows: its logs, its shutdown."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent.parent
COMMAND = [sys.executable, "-m", "runtime.cli", "api"]


def api_env(data_dir: str, database_url: str, temporal_address: str, port: int,
            **extra: str) -> dict[str, str]:  # fmt: skip
    """This environment without any HYPERORU_ setting, plus the API's own."""
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("HYPERORU_")},
        "HYPERORU_DATA_DIR": data_dir,
        "HYPERORU_DATABASE_URL": database_url,
        "HYPERORU_TEMPORAL_ADDRESS": temporal_address,
        "HYPERORU_API_PORT": str(port),
        **extra,
    }


def wait_listening(proc: subprocess.Popen[bytes], url: str, timeout: float = 60) -> None:
    """Until `url`'s health check answers; AssertionError if the process exits or never does."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"the API exited with {proc.returncode}")
        try:
            if httpx.get(f"{url}/api/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError("the API did not start")
