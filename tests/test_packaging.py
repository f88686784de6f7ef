"""MANIFEST.in and setup.py as release packaging relies on them.

CI builds every wheel from the sdist (.ci/steps/20-wheels.sh), so a file that
MANIFEST.in misses is missing from the wheels. These tests catch that sooner:
they apply MANIFEST.in with setuptools' own template engine to the git-tracked
files, in milliseconds and without building anything.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(
    shutil.which("git") is None or not (REPO / ".git").exists(),
    reason="needs the git checkout (the tracked files are the reference)",
)


def _tracked(*tops: str) -> list[str]:
    out = subprocess.run(
        ["git", "ls-files", "-z", "--", *tops], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout
    # A tracked file deleted in the work tree but not yet in git is no one's to ship.
    return [f for f in out.split("\0") if f and (REPO / f).is_file()]


def _manifest_files(monkeypatch, root: Path = REPO) -> set[str]:
    """The files under ``root`` that the repository's MANIFEST.in selects."""
    from setuptools.command.egg_info import FileList

    monkeypatch.chdir(root)
    files = FileList()
    files.findall(os.curdir)
    for line in (REPO / "MANIFEST.in").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            files.process_template_line(line)
    return {Path(f).as_posix() for f in files.files}


def test_manifest_covers_every_tracked_package_file(monkeypatch):
    # .py files reach the sdist through the package list; everything else
    # under zako/ (.pyx, .pyi, .js, .d.ts, py.typed, ...) only through MANIFEST.in.
    included = _manifest_files(monkeypatch)
    data = [f for f in _tracked("zako") if not f.endswith(".py")]
    assert data, "no non-Python file tracked under zako/: the check would be empty"
    missing = sorted(f for f in data if f not in included)
    assert not missing, f"MANIFEST.in does not include {missing}"


def test_manifest_covers_tests_examples_and_docs(monkeypatch):
    included = _manifest_files(monkeypatch)
    tracked = _tracked("tests", "examples", "docs")
    missing = sorted(f for f in tracked if f not in included)
    assert not missing, f"MANIFEST.in does not include {missing}"


def test_manifest_leaves_out_build_products(monkeypatch, tmp_path):
    # An in-place build leaves these next to the sources; a generated .c from
    # another Cython, or a .so for another Python, must never reach an sdist.
    sources = ["zako/_core/probe.pyx", "zako/_core/probe.pyi", "zako/v8/builtins/probe.js",
               "zako/v8/builtins/probe.d.ts", "zako/py.typed", "tests/test_probe.py",
               "tests/fixtures/probe/src/main.c", "examples/probe/index.html"]
    products = ["zako/_core/probe.c", "zako/_core/probe.cpython-311-x86_64-linux-gnu.so",
                "zako/_core/probe.html", "zako/__pycache__/probe.cpython-311.pyc",
                "tests/__pycache__/test_probe.cpython-311.pyc"]
    for rel in sources + products:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"")
    included = _manifest_files(monkeypatch, tmp_path)
    assert set(sources) <= included
    assert not included & set(products)


def _setup_keywords(monkeypatch, zako_pure: str) -> dict:
    """What setup.py passes to setup(), read by running it with setup() stubbed."""
    import setuptools

    captured: dict = {}
    monkeypatch.setattr(setuptools, "setup", lambda **kw: captured.update(kw))
    monkeypatch.setenv("ZAKO_PURE", zako_pure)
    monkeypatch.chdir(REPO)
    code = compile((REPO / "setup.py").read_text(), str(REPO / "setup.py"), "exec")
    exec(code, {"__name__": "__main__", "__file__": str(REPO / "setup.py")})
    return captured


def test_every_kernel_compiles_without_debug_info(monkeypatch):
    from zako._impl import KERNEL_NAMES

    exts = _setup_keywords(monkeypatch, "")["ext_modules"]
    assert sorted(e.name for e in exts) == sorted(f"zako._core.{k}" for k in KERNEL_NAMES)
    for ext in exts:
        # Last, so it overrides the -g in Python's own CFLAGS.
        assert ext.extra_compile_args[-1] == "-g0", ext.name
        assert ext.sources == [f"zako/_core/{ext.name.rsplit('.', 1)[1]}.pyx"]


def test_zako_pure_at_build_time_compiles_nothing(monkeypatch):
    assert _setup_keywords(monkeypatch, "1")["ext_modules"] == []
