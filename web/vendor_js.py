"""`make vendor` (developers only): re-fetch the web app's vendored JavaScript from the npm
registry with `npm pack`, check each tarball against the integrity hash pinned here, and copy the
files the app serves, with their licences, into web/static/vendor/<name>-<version>/.

Why pinned hashes: the committed files must be exactly what the registry published for that
version; a tarball whose sha512 differs (a registry or mirror serving something else) is refused
and nothing is written. `make run` and `make test` never run this: the files are committed.
"""

from __future__ import annotations

import base64
import hashlib
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

VENDOR = Path(__file__).resolve().parent / "static" / "vendor"


@dataclass(frozen=True)
class Package:
    name: str  # on npm
    version: str
    integrity: str  # npm's `dist.integrity` (sha512 of the tarball)
    files: tuple[str, ...]  # inside the tarball's package/ directory
    notice: str = ""  # written as NOTICE when set

    @property
    def folder(self) -> str:
        return f"{self.name.removesuffix('.org')}-{self.version}"


PACKAGES = (
    Package(
        "htmx.org",
        "2.0.11",
        "sha512-Thx/WtpeOQqSrqBCw/A1cwGJGg4UrVa3+sW0GmrM3p4gJgO89ecH4qtbnyzDDWFvBTqjnIMCgELTNt636dtamA==",
        ("dist/htmx.min.js", "LICENSE"),
    ),
    Package(
        "lightweight-charts",
        "5.2.1",
        "sha512-IVwoK1RLFiLPubaKIjNbtjWLnpPMqiABSrTay6whmNa8L1+19292VtHJ+BWyPUuLCwF0tcQlhEWd1CLB2a1nsQ==",
        ("dist/lightweight-charts.standalone.production.js", "LICENSE", "README.md"),
        # The npm tarball lacks the NOTICE its README asks users to show: its text, as in the
        # project's repository, is written next to the licence.
        notice="TradingView Lightweight Charts\u2122\n"
        "Copyright (c) 2025 TradingView, Inc. https://www.tradingview.com/\n",
    ),
    # For the browser tests' accessibility check only; no page loads it.
    Package(
        "axe-core",
        "4.14.1",
        "sha512-FHfa+lmNjQZfJz1q8wKqIDwC6DExcHt/pkjNQb09a3NPjCKg2rhu5qb2S4r76ASyFNNtuFooJpZe37OgudVGtQ==",
        ("axe.min.js", "LICENSE"),
    ),
)


def integrity_of(tarball: Path) -> str:
    digest = hashlib.sha512(tarball.read_bytes()).digest()
    return "sha512-" + base64.b64encode(digest).decode()


def fetch(pkg: Package, work: Path) -> Path:
    """`npm pack` the pinned version into `work`; the tarball's path once its hash matches."""
    out = subprocess.run(
        ["npm", "pack", f"{pkg.name}@{pkg.version}", "--silent", "--pack-destination", str(work)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    tarball = work / out.splitlines()[-1]
    got = integrity_of(tarball)
    if got != pkg.integrity:
        raise SystemExit(f"{pkg.name}@{pkg.version}: integrity {got} is not the pinned one")
    return tarball


def install(pkg: Package, tarball: Path) -> None:
    dest = VENDOR / pkg.folder
    with tempfile.TemporaryDirectory() as tmp, tarfile.open(tarball) as tar:
        tar.extractall(tmp, filter="data")
        root = Path(tmp) / "package"
        if dest.exists():
            shutil.rmtree(dest)
        dest.mkdir(parents=True)
        for name in pkg.files:
            shutil.copyfile(root / name, dest / Path(name).name)
        if pkg.notice:
            (dest / "NOTICE").write_text(pkg.notice, encoding="utf-8")
    print(f"{pkg.name}@{pkg.version} -> {dest.relative_to(VENDOR.parent.parent)}")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        fetched = [(pkg, fetch(pkg, Path(tmp))) for pkg in PACKAGES]  # all checked first
        for pkg, tarball in fetched:
            install(pkg, tarball)


if __name__ == "__main__":
    main()
