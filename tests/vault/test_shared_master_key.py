"""Processes that do not share the master key refuse to start (issue 19's compose stack).

The compose stack used to give `migrate`, `api` and `worker` a data dir each, so each generated
its own master key: the API sealed a trader's LLM key with one, the worker could not open it
and put the trader in Error. Reproduced here the same way, with real processes: migrate and
the API on data dir A (the API seals the key), then the worker, the API and migrate on data
dir B. Each of the B processes must exit at once with one line naming the missing key.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.support.ports import free_port
from vault import MasterKey, read_key_file, replace_key_file

ROOT = Path(__file__).resolve().parents[2]
KEY = "sk-test-sealed-by-the-api-0a1b2c3d"


def _env(data_dir: Path, db_url: str, temporal_address: str, api_port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HYPERORU_")}
    return env | {
        "PYTHONUNBUFFERED": "1",
        "HYPERORU_DATA_DIR": str(data_dir),
        "HYPERORU_DATABASE_URL": db_url,
        "HYPERORU_TEMPORAL_ADDRESS": temporal_address,
        "HYPERORU_API_HOST": "127.0.0.1",
        "HYPERORU_API_PORT": str(api_port),
        "HYPERORU_TASK_QUEUE": f"shared-key-{api_port}",
    }


def _run(
    args: list[str], env: dict[str, str], timeout: float = 90
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )


def _seal_a_key_through_the_api(env: dict[str, str], port: int) -> None:
    api = subprocess.Popen([sys.executable, "-m", "runtime.cli", "api"], cwd=ROOT, env=env)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30, trust_env=False) as http:
            deadline = time.monotonic() + 60
            while True:
                assert api.poll() is None, "the API on data dir A exited"
                try:
                    if http.get("/api/health").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "the API did not come up"
                time.sleep(0.2)
            login = {"email": "keys@example.com", "password": "keys-password-1"}
            assert http.post("/api/users/register", json=login).status_code == 201
            token = http.post("/api/users/login", json=login).json()["session_token"]
            body = {"name": "t", "account_type": "prompt", "llm_provider": "openai"}
            body |= {"llm_model": "gpt-4o-mini", "llm_api_key": KEY}
            r = http.post("/api/account/", json=body, headers={"Authorization": f"Bearer {token}"})
            assert r.status_code == 201, r.text
    finally:
        api.terminate()
        api.wait(30)


def _assert_refuses(done: subprocess.CompletedProcess[str], key_id: str, process: str) -> None:
    assert done.returncode != 0, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert lines, done.stdout
    last = lines[-1]
    assert last.startswith(f"hyperoru {process}: refusing to start:"), done.stderr
    assert key_id in last and "1 stored secret(s)" in last and "README" in last
    assert "Traceback" not in done.stderr
    assert KEY not in done.stdout + done.stderr


def test_worker_api_and_migrate_refuse_a_key_that_cannot_open_the_stored_secrets(
    tmp_path: Path, temporal_address: str
) -> None:
    dir_a, dir_b = tmp_path / "a", tmp_path / "b"
    db_url = f"sqlite:///{tmp_path}/hyperoru.db"
    port = free_port()
    env_a = _env(dir_a, db_url, temporal_address, port)
    env_b = _env(dir_b, db_url, temporal_address, port)
    assert _run(["-m", "runtime.cli", "migrate"], env_a).returncode == 0
    _seal_a_key_through_the_api(env_a, port)
    key_a = read_key_file(dir_a / "master.key")[0].key_id

    # Old code: this worker generated key B, started and ran until killed (timeout here).
    _assert_refuses(_run([str(ROOT / "worker.py")], env_b, timeout=60), key_a, "worker")
    assert not (dir_b / "master.key").exists()  # no useless key is generated either
    dir_b.mkdir()
    replace_key_file(dir_b / "master.key", [MasterKey.generate()])  # as each container had
    _assert_refuses(_run([str(ROOT / "worker.py")], env_b, timeout=60), key_a, "worker")
    _assert_refuses(_run(["-m", "runtime.cli", "worker"], env_b, timeout=60), key_a, "worker")
    _assert_refuses(_run(["-m", "runtime.cli", "api"], env_b, timeout=60), key_a, "api")
    _assert_refuses(_run(["-m", "runtime.cli", "migrate"], env_b, timeout=60), key_a, "migrate")
    _assert_starts_worker(env_a, tmp_path / "worker-a.log")  # the right key: starts as before


def _assert_starts_worker(env: dict[str, str], log: Path) -> None:
    with log.open("wb") as out:
        worker = subprocess.Popen(
            [sys.executable, str(ROOT / "worker.py")], cwd=ROOT, env=env, stderr=out
        )
    try:
        deadline = time.monotonic() + 60
        while "worker polling" not in log.read_text():
            assert worker.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
    finally:
        worker.terminate()
        worker.wait(30)


def test_drop_unreadable_secrets_lets_a_stack_whose_key_is_lost_start_again(
    tmp_path: Path, temporal_address: str
) -> None:
    """The way out when the key is gone for good: clear what it sealed, with --yes only."""
    dir_a, dir_b = tmp_path / "a", tmp_path / "b"
    db_url = f"sqlite:///{tmp_path}/hyperoru.db"
    port = free_port()
    env_a = _env(dir_a, db_url, temporal_address, port)
    env_b = _env(dir_b, db_url, temporal_address, port)
    assert _run(["-m", "runtime.cli", "migrate"], env_a).returncode == 0
    _seal_a_key_through_the_api(env_a, port)

    counted = _run(["-m", "runtime.cli", "drop-unreadable-secrets"], env_b)
    assert counted.returncode == 0 and "1 under key" in counted.stdout, counted.stderr
    assert _run(["-m", "runtime.cli", "migrate"], env_b).returncode != 0  # nothing was cleared yet
    dropped = _run(["-m", "runtime.cli", "drop-unreadable-secrets", "--yes"], env_b)
    assert dropped.returncode == 0 and "cleared 1 under key" in dropped.stdout, dropped.stderr
    migrated = _run(["-m", "runtime.cli", "migrate"], env_b)
    assert migrated.returncode == 0, migrated.stderr
