"""Host-side glob expansion: **, classes, braces, excludes, never leaving the package."""

from __future__ import annotations

import fnmatch
import os

import pytest
from hypothesis import given, settings, strategies as st

from zako.project.globs import GlobError, PackageFiles, compile_pattern, expand_braces


def _tree(root, files):
    for rel in files:
        path = os.path.join(root, *rel.split("/"))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write("x")


@pytest.fixture
def pkg(tmp_path):
    _tree(
        tmp_path,
        [
            "BUILD.ts",
            "a.ts",
            "b.js",
            ".hidden.ts",
            "src/x.ts",
            "src/x.test.ts",
            "src/deep/y.ts",
            "src/deep/deeper/z.ts",
            "src/.cache/skip.ts",
            "node_modules/dep/index.ts",
            ".git/config",
            "sub/BUILD.js",
            "sub/inner.ts",
            "docs/readme.md",
        ],
    )
    return PackageFiles(str(tmp_path))


def test_listing_skips_hidden_dirs_node_modules_and_subpackages(pkg):
    assert pkg.files == [
        ".hidden.ts",
        "BUILD.ts",
        "a.ts",
        "b.js",
        "docs/readme.md",
        "src/deep/deeper/z.ts",
        "src/deep/y.ts",
        "src/x.test.ts",
        "src/x.ts",
    ]


@pytest.mark.parametrize(
    "include, exclude, expected",
    [
        (["*.ts"], [], ["BUILD.ts", "a.ts"]),
        (["**/*.ts"], [], ["BUILD.ts", "a.ts", "src/deep/deeper/z.ts", "src/deep/y.ts", "src/x.test.ts", "src/x.ts"]),
        (["src/**/*.ts"], ["**/*.test.ts"], ["src/deep/deeper/z.ts", "src/deep/y.ts", "src/x.ts"]),
        (["src/**"], ["src/deep/**"], ["src/x.test.ts", "src/x.ts"]),
        (["src/*.ts"], [], ["src/x.test.ts", "src/x.ts"]),
        (["?.{ts,js}"], [], ["a.ts", "b.js"]),
        (["[ab].*"], [], ["a.ts", "b.js"]),
        (["[!a].*"], [], ["b.js"]),
        ([".hidden.ts"], [], [".hidden.ts"]),
        (["a.ts", "a.ts", "*.ts"], [], ["BUILD.ts", "a.ts"]),
        (["src/deep/**/*.ts"], [], ["src/deep/deeper/z.ts", "src/deep/y.ts"]),
        (["nothing/*"], [], []),
        (["sub/*.ts"], [], []),  # a glob never reaches into a subpackage
        (["./a.ts"], [], ["a.ts"]),
    ],
)
def test_expand(pkg, include, exclude, expected):
    assert pkg.expand(include, exclude) == expected


@pytest.mark.parametrize(
    "pattern, fragment",
    [
        ("../x/*.ts", "leaves its package"),
        ("src/../../x", "leaves its package"),
        ("/etc/*", "absolute"),
        ("C:/x", "absolute"),
        ("src\\x.ts", "'/'"),
        ("", "empty"),
        ("a{b", "unbalanced"),
        ("a}b", "unbalanced"),
        ("[abc", "unclosed"),
        (".", "package directory itself"),
    ],
)
def test_bad_patterns(pattern, fragment):
    with pytest.raises(GlobError) as info:
        compile_pattern(pattern)
    assert fragment in str(info.value)
    assert repr(pattern) in str(info.value) or pattern == ""


def test_non_string_pattern(pkg):
    with pytest.raises(GlobError, match="must be a string"):
        pkg.expand([3])


def test_braces_nest():
    assert expand_braces("a{b,c{d,e}}f") == ["abf", "acdf", "acef"]
    assert expand_braces("plain") == ["plain"]


def test_symlinked_directory_is_not_followed(tmp_path):
    outside = tmp_path / "outside"
    _tree(outside, ["secret.ts"])
    pkg_dir = tmp_path / "pkg"
    _tree(pkg_dir, ["BUILD.ts", "own.ts"])
    os.symlink(outside, pkg_dir / "link")
    assert PackageFiles(str(pkg_dir)).expand(["**/*.ts"]) == ["BUILD.ts", "own.ts"]


_seg = st.sampled_from(["a", "b", "ab", "x.ts", "y.js", "c.d.ts"])


@settings(max_examples=200, deadline=None)
@given(st.lists(_seg, min_size=1, max_size=3), st.sampled_from(["*", "*.ts", "a*", "?", "*.*", "[ab]*"]))
def test_single_component_wildcards_agree_with_fnmatch(parts, pattern):
    """Within one component our matcher agrees with fnmatchcase for names
    without a leading dot; across components '*' never matches '/'."""
    path = "/".join(parts)
    ours = compile_pattern(pattern).match(path) is not None
    theirs = len(parts) == 1 and fnmatch.fnmatchcase(path, pattern)
    assert ours == theirs
