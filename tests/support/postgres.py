"""A throwaway PostgreSQL cluster on a free port (initdb/pg_ctl; as user postgres when root)."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from tests.support.ports import free_port


def _bin_dir() -> str | None:
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda d: int(d.split("/")[-2]))
    if dirs:
        return dirs[-1]
    initdb = shutil.which("initdb")
    return os.path.dirname(initdb) if initdb else None


def available() -> bool:
    return _bin_dir() is not None


@contextmanager
def throwaway_cluster() -> Iterator[str]:
    """Yields a server URL `postgresql+psycopg://postgres@127.0.0.1:PORT`."""
    bindir = _bin_dir()
    assert bindir, "PostgreSQL server binaries not found"
    root = os.geteuid() == 0
    pre = ["runuser", "-u", "postgres", "--"] if root else []
    d = tempfile.mkdtemp(prefix="pgtest-")
    if root:
        pw = pwd.getpwnam("postgres")
        os.chown(d, pw.pw_uid, pw.pw_gid)
    port = free_port()
    subprocess.run(
        pre
        + [
            f"{bindir}/initdb",
            "-D",
            f"{d}/data",
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-locale",
            "--no-sync",
        ],
        check=True,
        capture_output=True,
    )
    opts = (
        f"-p {port} -k {d} -c listen_addresses=127.0.0.1 -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off -c max_connections=300"
    )
    subprocess.run(
        pre + [f"{bindir}/pg_ctl", "-D", f"{d}/data", "-l", f"{d}/log", "-w", "-o", opts, "start"],
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}"
    finally:
        subprocess.run(
            pre + [f"{bindir}/pg_ctl", "-D", f"{d}/data", "-m", "immediate", "-w", "stop"],
            capture_output=True,
        )
        shutil.rmtree(d, ignore_errors=True)


def create_database(server_url: str) -> str:
    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    plain = server_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain + "/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{server_url}/{name}"
