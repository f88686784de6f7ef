"""The synthetic tree generator: deterministic, well-formed, CLI usable."""

from __future__ import annotations

import filecmp
import os
import re

import pytest

from zako.devtools import gentree
from zako.project.discovery import discover
from zako.project.labels import Label
from zako.project.manifest import read_manifest


def test_layout_and_determinism(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    summary = gentree.generate(str(a), 30, libraries=4, seed=7)
    gentree.generate(str(b), 30, libraries=4, seed=7)
    assert summary["packages"] == 30
    cmp = filecmp.dircmp(a, b)
    assert not cmp.diff_files and not cmp.left_only and not cmp.right_only

    layout = discover(str(a))
    assert [p.path for p in layout.packages] == sorted(gentree.package_path(i) for i in range(30))
    assert layout.package_script == "zako.ts"
    assert not layout.problems
    assert read_manifest(str(a)).artifact == "tree-30"
    kinds = {p.build_file.rsplit("/", 1)[1] for p in layout.packages}
    assert kinds == {"BUILD.ts", "BUILD.js"}


def test_deps_point_at_earlier_packages_and_imports_follow_the_rule(tmp_path):
    gentree.generate(str(tmp_path), 40, libraries=5, seed=1)
    known = {gentree.package_path(i) for i in range(40)}
    for i in range(40):
        pkg = gentree.package_path(i)
        ext = "ts" if i % 2 == 0 else "js"
        text = (tmp_path / pkg / f"BUILD.{ext}").read_text()
        for dep in re.findall(r'"(//[^"]+)"', text):
            label = Label.parse(dep)
            assert label.package in known and label.package < pkg or label.package == pkg
        imported = re.search(r'from "(\.\./[^"]+)"', text).group(1)
        target = os.path.normpath(os.path.join(tmp_path, pkg, imported))
        assert target == os.path.normpath(os.path.join(tmp_path, gentree.library_file(i % 5)))
    assert gentree.packages_importing(40, 2, 5) == [gentree.package_path(i) for i in (2, 7, 12, 17, 22, 27, 32, 37)]


def test_cli(tmp_path, capsys):
    out = tmp_path / "t"
    assert gentree.main(["--packages", "3", str(out)]) == 0
    assert "wrote 3 packages" in capsys.readouterr().out
    assert gentree.main(["--packages", "3", str(out)]) == 2  # refuses to overwrite
    assert "already holds" in capsys.readouterr().err
    assert gentree.main(["--packages", "0", str(tmp_path / "u")]) == 2


def test_rejects_bad_sizes(tmp_path):
    with pytest.raises(ValueError):
        gentree.generate(str(tmp_path), 0)
    with pytest.raises(ValueError):
        gentree.generate(str(tmp_path), 5, libraries=0)
