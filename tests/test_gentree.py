"""The synthetic tree generator: deterministic, well-formed, CLI usable."""

from __future__ import annotations

import filecmp
import os
import pathlib
import re
import shutil
import subprocess
import types
import xml.etree.ElementTree as ET

import pytest

from zako.devtools import gentree
from zako.global_state import GlobalState
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


# --- the Bazel twin ----------------------------------------------------------------


class _Rule:
    """A rule class from ``rule()``; named after the variable that holds it, as in Bazel."""

    def __init__(self, reader, test):
        self.reader, self.test, self.kind = reader, test, None

    def __call__(self, *, name, srcs=(), deps=(), visibility=None, **attrs):
        self.reader.instantiate(self.kind, name, list(srcs), list(deps), attrs)


class StarlarkTree:
    """Reads a generated Bazel workspace without Bazel.

    The Starlark gentree writes is also valid Python, so each ``BUILD`` and
    ``.bzl`` file is executed as Python with stand-ins for the few Bazel
    built-ins it calls (``load``, ``rule``, ``attr``, ``glob``, ``package``,
    ``struct``). The macros in the ``.bzl`` files really run, so a wrong
    merge in ``with_defaults`` or a wrong rule class shows up here.
    ``graph`` is ``{package: {name: {kind, srcs, deps, attrs}}}`` with srcs
    as root-relative paths and deps as full labels, like ``zako load --json``.
    """

    def __init__(self, root):
        self.root = str(root)
        self.modules = {}
        self.graph = {}
        self.package = None

    def read(self):
        for dirpath, dirnames, filenames in os.walk(self.root):
            dirnames.sort()
            if "BUILD" in filenames:
                rel = os.path.relpath(dirpath, self.root).replace(os.sep, "/")
                self.package = "" if rel == "." else rel
                self.graph[self.package] = {}
                self._exec(os.path.join(dirpath, "BUILD"), self._env(self.package))
        return self.graph

    def _exec(self, path, env):
        with open(path, encoding="utf-8") as f:
            exec(compile(f.read(), path, "exec"), env)

    def _env(self, pkg):
        env = {
            "__builtins__": {"dict": dict, "list": list, "len": len},
            "struct": lambda **kw: types.SimpleNamespace(**kw),
            "attr": types.SimpleNamespace(**{n: (lambda **kw: None) for n in ("label_list", "bool", "string", "int")}),
            "rule": lambda implementation, attrs, test=False: _Rule(self, test),
            "package": lambda **kw: None,
            "glob": self._glob,
        }

        def load(label, *names):
            module = self._module(label, pkg)
            for n in names:
                assert not n.startswith("_"), f"load of private symbol {n!r} from {label}"
                env[n] = module[n]

        env["load"] = load
        return env

    def _module(self, label, pkg):
        mod_pkg, name = (pkg, label[1:]) if label.startswith(":") else label[2:].split(":")
        key = f"{mod_pkg}/{name}"
        if key not in self.modules:
            env = self._env(mod_pkg)
            self._exec(os.path.join(self.root, *key.split("/")), env)
            for var, value in env.items():
                if isinstance(value, _Rule) and value.kind is None:
                    value.kind = var
            self.modules[key] = env
        return self.modules[key]

    def _glob(self, include, exclude=()):
        base = pathlib.Path(self.root, *self.package.split("/"))

        def match(patterns):
            return {p.relative_to(base).as_posix() for pat in patterns for p in base.glob(pat) if p.is_file()}

        return sorted(match(include) - match(exclude))

    def instantiate(self, kind, name, srcs, deps, attrs):
        targets = self.graph[self.package]
        assert name not in targets, f"duplicate target //{self.package}:{name}"
        full = [f"//{self.package}{d}" if d.startswith(":") else d for d in deps]
        paths = [f"{self.package}/{s}" for s in srcs]
        targets[name] = {"kind": kind, "srcs": paths, "deps": full, "attrs": attrs}


def zako_graph(root, tmp_path):
    with GlobalState(cache_dir=tmp_path / "cache", jobs=2) as state:
        result = state.load(str(root), use_cache=False)
        packages = result.to_json(state.interner)["packages"]
    return {
        p["path"]: {
            t["label"].rsplit(":", 1)[1]: {k: t[k] for k in ("kind", "srcs", "deps", "attrs")} for t in p["targets"]
        }
        for p in packages
    }


def bazel_graph(root):
    graph = StarlarkTree(root).read()
    # build_defs is a package only so its .bzl files can be loaded.
    assert graph.pop("build_defs") == {}
    return graph


def test_bazel_twin_has_the_zako_graph(tmp_path):
    zako_root, bazel_root = tmp_path / "zako", tmp_path / "bazel"
    gentree.generate(str(zako_root), 30, libraries=4, seed=2)
    summary = gentree.generate_bazel(str(bazel_root), 30, libraries=4, seed=2)
    assert summary["packages"] == 30

    expected = zako_graph(zako_root, tmp_path)
    got = bazel_graph(bazel_root)
    assert sorted(got) == sorted(expected) == sorted(gentree.package_path(i) for i in range(30))
    for pkg in expected:
        assert {n: t["deps"] for n, t in got[pkg].items()} == {n: t["deps"] for n, t in expected[pkg].items()}, pkg
    # Kinds, glob results and attributes too: the two tools load equal work.
    assert got == expected
    edges = sum(len(t["deps"]) for targets in got.values() for t in targets.values())
    assert edges > 60  # the graph is not trivially empty


def test_bazel_loads_mirror_imports(tmp_path):
    gentree.generate(str(tmp_path / "z"), 12, libraries=3, seed=0)
    gentree.generate_bazel(str(tmp_path / "b"), 12, libraries=3, seed=0)
    for i in range(12):
        pkg = gentree.package_path(i)
        ext = "ts" if i % 2 == 0 else "js"
        imported = re.search(r'from "(\.\./[^"]+)"', (tmp_path / "z" / pkg / f"BUILD.{ext}").read_text()).group(1)
        loaded = re.search(r'^load\("//([^:]+):([^"]+)"', (tmp_path / "b" / pkg / "BUILD").read_text(), re.M)
        assert f"{loaded.group(1)}/{loaded.group(2)}" == gentree.bazel_library_file(i % 3)
        assert os.path.basename(imported).rsplit(".", 1)[0] == loaded.group(2).rsplit(".", 1)[0]
    # Source files are the same bytes in both trees.
    cmp = filecmp.dircmp(tmp_path / "z" / "pkgs", tmp_path / "b" / "pkgs")
    assert not cmp.left_only and not cmp.right_only and not cmp.diff_files


def test_bazel_twin_can_share_the_zako_tree(tmp_path, capsys):
    out = tmp_path / "both"
    assert gentree.main(["--packages", "8", "--bazel", str(out), str(out)]) == 0
    text = capsys.readouterr().out
    assert "wrote 8 packages" in text and "Bazel workspace" in text
    layout = discover(str(out))
    assert [p.path for p in layout.packages] == sorted(gentree.package_path(i) for i in range(8))
    assert not layout.problems
    assert bazel_graph(out) == zako_graph(out, tmp_path)


def test_bazel_cli_refuses_existing_workspace_before_writing(tmp_path, capsys):
    bazel = tmp_path / "b"
    gentree.generate_bazel(str(bazel), 2)
    assert gentree.main(["--packages", "2", "--bazel", str(bazel), str(tmp_path / "z")]) == 2
    assert "already holds a WORKSPACE" in capsys.readouterr().err
    assert not (tmp_path / "z").exists()
    with pytest.raises(ValueError):
        gentree.generate_bazel(str(tmp_path / "c"), 0)


def _bazel_query_graph(workspace, output_user_root):
    """``bazel query //... --output=xml`` as the same graph shape, then the server stopped."""
    bazel = ["bazel", f"--output_user_root={output_user_root}", "--max_idle_secs=60"]
    try:
        proc = subprocess.run(
            [*bazel, "query", "//...", "--output=xml"],
            cwd=workspace, capture_output=True, text=True, timeout=600,
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
    finally:
        subprocess.run([*bazel, "shutdown"], cwd=workspace, capture_output=True, timeout=120)
    graph = {}
    for rule in ET.fromstring(proc.stdout).iter("rule"):
        pkg, name = rule.get("name")[2:].split(":")
        lists = {
            lst.get("name"): [lab.get("value") for lab in lst.iter("label")] for lst in rule.findall("list")
        }
        graph.setdefault(pkg, {})[name] = {
            "kind": rule.get("class"),
            "srcs": [label[2:].replace(":", "/") for label in lists.get("srcs", [])],
            "deps": lists.get("deps", []),
        }
    return graph


@pytest.mark.slow
@pytest.mark.skipif(
    shutil.which("bazel") is None,
    reason="bazel is not installed (apt-get install bazel-bootstrap); CI does not install it",
)
def test_bazel_query_matches_zako_load(tmp_path):
    zako_root, bazel_root = tmp_path / "zako", tmp_path / "bazel"
    gentree.generate(str(zako_root), 25, libraries=4, seed=5)
    gentree.generate_bazel(str(bazel_root), 25, libraries=4, seed=5)
    user_root = tmp_path / "bazel-out"
    try:
        got = _bazel_query_graph(bazel_root, user_root)
    finally:
        # Bazel leaves read-only directories in its output base.
        shutil.rmtree(user_root, onerror=lambda f, p, e: (os.chmod(os.path.dirname(p), 0o755), f(p)))
    expected = zako_graph(zako_root, tmp_path)
    for targets in expected.values():
        for t in targets.values():
            del t["attrs"]
    assert got == expected
