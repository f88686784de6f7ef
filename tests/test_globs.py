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


# --- the listing discovery makes stands in for the package's own walk ------------

from zako.project.discovery import discover  # noqa: E402
from zako.project.globs import PackageListing  # noqa: E402

_name = st.sampled_from(["a.ts", "b.js", "c.test.ts", ".h.ts", "BUILD.ts", "BUILD.js", "x", "node_modules", ".git", "d"])
_rel_path = st.lists(_name, min_size=1, max_size=4).map("/".join)


def _walk_listing(root):
    """Every package's files, the way the package's own walk sees them."""
    layout = discover(str(root), list_files=True)
    out = {}
    for entry in layout.packages:
        pkg_dir = str(root) if entry.path == "." else os.path.join(str(root), *entry.path.split("/"))
        listing = layout.take_listing(entry.path)
        own = PackageFiles(pkg_dir, project_root=str(root))
        if listing is None:
            out[entry.path] = None
            continue
        given_ = PackageFiles(pkg_dir, project_root=str(root), listing=listing)
        assert given_.files == own.files, entry.path
        for rel in own.files:
            assert given_.outside_link(rel) == own.outside_link(rel)
        out[entry.path] = given_.files
    assert not layout.listings, "every listing is handed out once"
    return out


@settings(max_examples=60, deadline=None)
@given(st.lists(_rel_path, min_size=1, max_size=25, unique=True))
def test_discovery_listing_equals_package_walk(tmp_path_factory, paths):
    root = tmp_path_factory.mktemp("tree")
    (root / "zako.toml").write_text('group = "g"\nartifact = "a"\nversion = "1.0.0"\n')
    made = []
    for rel in sorted(paths, key=len):
        path = root.joinpath(*rel.split("/"))
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if not path.exists():
                path.write_text("x")
                made.append(rel)
        except (FileExistsError, NotADirectoryError):
            pass  # a prefix of this path is already a file
    _walk_listing(root)


def test_listing_with_links_and_odd_directories(tmp_path):
    root = tmp_path / "proj"
    outside = tmp_path / "outside"
    _tree(outside, ["secret.ts"])
    _tree(root, ["zako.toml", "p/BUILD.ts", "p/own.ts", "p/sub/x.ts", "p/q/BUILD.js", "p/q/y.ts",
                 "p/BUILD.js/inner.ts", "r/BUILD.ts", "r/in.ts"])
    os.symlink(outside / "secret.ts", root / "p" / "leak.ts")
    os.symlink(root / "p" / "own.ts", root / "p" / "alias.ts")
    os.symlink(outside, root / "p" / "dirlink")
    got = _walk_listing(root)
    # a directory named like a build file: the walk hands that package back to its own listing
    assert got["p"] is None
    assert got["p/q"] == ["BUILD.js", "y.ts"]
    assert got["r"] == ["BUILD.ts", "in.ts"]
    layout = discover(str(root), list_files=True)
    listing = layout.take_listing("r")
    files = PackageFiles(str(root / "r"), project_root=str(root), listing=listing)
    assert files.expand(["*.ts"]) == ["BUILD.ts", "in.ts"]
    _tree(root, ["q2/BUILD.ts"])
    os.symlink(outside / "secret.ts", root / "q2" / "leak.ts")
    layout = discover(str(root), list_files=True)
    files = PackageFiles(str(root / "q2"), project_root=str(root), listing=layout.take_listing("q2"))
    with pytest.raises(GlobError, match="outside the project root"):
        files.expand(["*.ts"])


def test_listing_not_kept_without_list_files(tmp_path):
    _tree(tmp_path, ["zako.toml", "p/BUILD.ts", "p/a.ts"])
    assert discover(str(tmp_path)).listings == {}
    assert isinstance(discover(str(tmp_path), list_files=True).listings["p"], PackageListing)


# --- one regex per pattern set equals each pattern on its own -------------------

_comp = st.sampled_from(["*", "**", "*.ts", "a*", "?", "[ab]*", "[!a]*", "{a,b}", "x.{ts,js}", "src", "a", ".h*", "*.test.ts"])
_pattern = st.lists(_comp, min_size=1, max_size=3).map("/".join)
_file = st.lists(st.sampled_from(["a", "b", "src", "x.ts", "x.js", "a.test.ts", ".h.ts", "ab"]), min_size=1, max_size=4).map("/".join)


@settings(max_examples=300, deadline=None)
@given(st.lists(_pattern, min_size=0, max_size=3), st.lists(_pattern, max_size=3), st.lists(_file, max_size=12, unique=True))
def test_pattern_set_matches_each_pattern(include, exclude, files):
    """The combined matcher against the plain rule: any include matches and
    no exclude does, each pattern compiled alone."""
    pkg = PackageFiles("/nonexistent")
    pkg._files = sorted(files)
    expected = [f for f in sorted(files)
                if any(compile_pattern(p).match(f) for p in include) and not any(compile_pattern(p).match(f) for p in exclude)]
    assert pkg.expand(include, exclude) == expected


def test_first_bad_pattern_is_reported(pkg):
    with pytest.raises(GlobError, match="unclosed"):
        pkg.expand(["*.ts", "[ab"], ["{x"])
    with pytest.raises(GlobError, match="unbalanced"):
        pkg.expand(["*.ts"], ["{x"])
    with pytest.raises(GlobError, match="unbalanced"):
        pkg.expand([], ["{x"])  # an exclude is checked even with nothing to include
    with pytest.raises(GlobError, match="must be a string"):
        pkg.expand(["*.ts", ["nested"]])
