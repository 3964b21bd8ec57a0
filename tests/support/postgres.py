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


class Cluster:
    """A throwaway cluster that a test can stop (a database outage) and start again."""

    def __init__(self, durable: bool = False) -> None:
        self.durable = durable  # fsync + synchronous commit: a crash loses no committed write
        bindir = _bin_dir()
        assert bindir, "PostgreSQL server binaries not found"
        self.bindir = bindir
        root = os.geteuid() == 0
        self.pre = ["runuser", "-u", "postgres", "--"] if root else []
        self.dir = tempfile.mkdtemp(prefix="pgtest-")
        if root:
            pw = pwd.getpwnam("postgres")
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        self.port = free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}"
        subprocess.run(
            self.pre
            + [
                f"{bindir}/initdb",
                "-D",
                f"{self.dir}/data",
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

    def start(self) -> None:
        fast = "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
        opts = (
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 "
            f"{'' if self.durable else fast}-c max_connections=300"
        )
        subprocess.run(
            self.pre
            + [
                f"{self.bindir}/pg_ctl",
                "-D",
                f"{self.dir}/data",
                "-l",
                f"{self.dir}/log",
                "-w",
                "-o",
                opts,
                "start",
            ],
            check=True,
            capture_output=True,
        )

    def stop(self) -> None:
        """Immediate shutdown: open connections are cut, as in a crash."""
        subprocess.run(
            self.pre
            + [f"{self.bindir}/pg_ctl", "-D", f"{self.dir}/data", "-m", "immediate", "-w", "stop"],
            capture_output=True,
        )

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


@contextmanager
def throwaway_cluster() -> Iterator[str]:
    """Yields a server URL `postgresql+psycopg://postgres@127.0.0.1:PORT`."""
    with controllable_cluster() as cluster:
        yield cluster.url


@contextmanager
def controllable_cluster(durable: bool = False) -> Iterator[Cluster]:
    cluster = Cluster(durable)
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.remove()


def create_database(server_url: str) -> str:
    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    plain = server_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain + "/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{server_url}/{name}"
