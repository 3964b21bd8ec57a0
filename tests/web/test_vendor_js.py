"""`make vendor` writes nothing from a tarball whose sha512 is not the pinned npm `integrity`
(a fake `npm` on PATH stands in for the registry: no network here), and installs the listed
files, licences included, from one that matches."""

from __future__ import annotations

import io
import os
import stat
import tarfile
from pathlib import Path

import pytest

from web import vendor_js


def _tarball(folder: Path) -> Path:
    path = folder / "demo-1.0.0.tgz"
    with tarfile.open(path, "w:gz") as tar:
        for name, text in (("package/dist/demo.min.js", "x=1"), ("package/LICENSE", "MIT")):
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def _fake_npm(bin_dir: Path, tarball: Path) -> None:
    """`npm pack <spec> --silent --pack-destination <dir>`: copies the tarball, prints its name."""
    npm = bin_dir / "npm"
    npm.write_text(f'#!/bin/sh\ncp "{tarball}" "$5/"\necho "{tarball.name}"\n')
    npm.chmod(npm.stat().st_mode | stat.S_IEXEC)


@pytest.fixture
def demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    source = tmp_path / "src"
    source.mkdir()
    tarball = _tarball(source)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _fake_npm(bin_dir, tarball)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setattr(vendor_js, "VENDOR", tmp_path / "vendor")
    return tarball


def test_a_tarball_with_another_hash_is_refused(demo: Path, tmp_path: Path) -> None:
    pkg = vendor_js.Package("demo", "1.0.0", "sha512-" + "A" * 86 + "==", ("dist/demo.min.js",))
    work = tmp_path / "work"
    work.mkdir()
    with pytest.raises(SystemExit, match="integrity"):
        vendor_js.fetch(pkg, work)
    assert not (tmp_path / "vendor").exists()


def test_a_matching_tarball_is_installed_with_its_licence(demo: Path, tmp_path: Path) -> None:
    pkg = vendor_js.Package(
        "demo", "1.0.0", vendor_js.integrity_of(demo), ("dist/demo.min.js", "LICENSE"),
        notice="Demo notice\n",
    )  # fmt: skip
    work = tmp_path / "work"
    work.mkdir()
    vendor_js.install(pkg, vendor_js.fetch(pkg, work))
    dest = tmp_path / "vendor" / "demo-1.0.0"
    assert sorted(p.name for p in dest.iterdir()) == ["LICENSE", "NOTICE", "demo.min.js"]
    assert (dest / "NOTICE").read_text() == "Demo notice\n"


def test_every_pinned_package_is_committed_with_its_licence() -> None:
    for pkg in vendor_js.PACKAGES:
        folder = Path(vendor_js.__file__).parent / "static" / "vendor" / pkg.folder
        names = {Path(f).name for f in pkg.files}
        assert names <= {p.name for p in folder.iterdir()}, pkg
        assert "LICENSE" in names and pkg.integrity.startswith("sha512-")
