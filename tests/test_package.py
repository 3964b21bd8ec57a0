"""`pip install .` gives a complete, working install, independent of the source tree.

The wheel is built and installed into an empty virtual environment (its third-party dependencies
borrowed from this one, so nothing is downloaded); from a directory outside the checkout every
module of the package is imported, each from the installed copy, the `hyperoru` command runs,
and its migrations (which ship in the wheel) build a database.
"""

from __future__ import annotations

import json
import os
import shutil
import site
import sqlite3
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("activities", "adapters", "api", "config", "db", "domain", "runtime", "sandbox",
            "strategies", "vault", "workflows", "web")  # fmt: skip

SKIP = (".venv", ".git", ".data", "build", "*.egg-info", "__pycache__", ".mypy_cache",
        ".ruff_cache", ".pytest_cache", "bench", "test-artifacts")  # fmt: skip

IMPORT_ALL = """
import importlib, json, pkgutil, sys
found, bad = [], {}
for top in sys.argv[1].split(","):
    pkg = importlib.import_module(top)
    found.append(pkg.__file__)
    for info in pkgutil.walk_packages(pkg.__path__, top + "."):
        if info.name.rsplit(".", 1)[-1] in ("zygote", "boot", "compile_helper"):
            continue  # the sandbox's scripts run as processes of their own (checked below)
        try:
            found.append(importlib.import_module(info.name).__file__)
        except Exception as exc:
            bad[info.name] = repr(exc)
print(json.dumps({"files": found, "bad": bad}))
"""


# The web app's templates and static files ship in the wheel: listed from the installed copy.
WEB_FILES = """
import json, web
from api.web.render import Pages
files = sorted(p.relative_to(web.ROOT).as_posix() for p in web.ROOT.rglob("*")
               if p.is_file() and p.suffix in (".html", ".js", ".css", "") )
print(json.dumps({"version": Pages().version, "files": files}))
"""


RUN_PROGRAM = """
import asyncio, json
from sandbox.runner import run_program
from sandbox import zygote_client
code = (
    "class Strategy:\\n    def should_trade(self, data):\\n"
    "        return Decision(operation='hold')"
)
result = asyncio.run(run_program(code, {}))
zygote_client.shutdown()
print(json.dumps({"ok": result.ok, "operation": (result.decision or {}).get("operation")}))
"""


def _run(cmd: list[str], cwd: Path, env: dict[str, str]) -> str:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def test_the_wheel_is_a_complete_install(tmp_path: Path) -> None:
    # Built from a copy: setuptools leaves build/ and *.egg-info in the tree it builds.
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*SKIP))
    wheels = tmp_path / "wheels"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(source)],
         tmp_path, dict(os.environ))  # fmt: skip
    (wheel,) = wheels.glob("hyperoru-*.whl")
    env_dir = tmp_path / "clean"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    # Third-party dependencies from this environment; not this checkout or its editable hook.
    (Path(purelib) / "borrowed_deps.pth").write_text(site.getsitepackages()[0] + "\n")
    env = {"PATH": f"{env_dir / 'bin'}:/usr/bin:/bin", "HOME": str(tmp_path)}
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q",
          str(wheel)], tmp_path, env)  # fmt: skip

    out = json.loads(_run([str(python), "-c", IMPORT_ALL, ",".join(PACKAGES)], tmp_path, env))
    assert out["bad"] == {}, out["bad"]
    assert all(f.startswith(purelib) for f in out["files"]), [
        f for f in out["files"] if not f.startswith(purelib)
    ][:5]
    assert not any(str(ROOT) in f for f in out["files"])

    assert "migrate" in _run([str(env_dir / "bin" / "hyperoru"), "--help"], tmp_path, env)
    db = tmp_path / "installed.db"
    _run([str(env_dir / "bin" / "hyperoru"), "migrate"], tmp_path,
         {**env, "HYPERORU_DATABASE_URL": f"sqlite:///{db}",
          "HYPERORU_DATA_DIR": str(tmp_path / "data")})  # fmt: skip
    tables = {r[0] for r in sqlite3.connect(db).execute("SELECT name FROM sqlite_master")}
    assert {"accounts", "decisions", "orders"} <= tables
    installed = json.loads(_run([str(python), "-c", WEB_FILES], tmp_path, env))
    source_web = ROOT / "web"
    expected = sorted(
        p.relative_to(source_web).as_posix() for p in source_web.rglob("*")
        if p.is_file() and p.suffix in (".html", ".js", ".css", "")
    )  # fmt: skip
    assert installed["files"] == expected
    # The sandbox's processes (zygote, child) start from the installed copy too.
    decided = _run([str(python), "-c", RUN_PROGRAM], tmp_path, env)
    assert json.loads(decided) == {"ok": True, "operation": "hold"}, decided
