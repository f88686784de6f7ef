"""``load_project`` in-process: the graph, every error kind with file:line,
--keep-going, caching with precise invalidation, and GlobalState."""

from __future__ import annotations

import os

import pytest

from zako.devtools import gentree
from zako.global_state import GlobalState, default_cache_dir
from zako.project.errors import LoadFailed

from project_tree import make_project




@pytest.fixture
def state(tmp_path):
    with GlobalState(cache_dir=tmp_path / "cache", jobs=2, timeout_s=5.0) as s:
        yield s


def graph(result, interner):
    return {p["path"]: {t["label"]: t for t in p["targets"]} for p in result.to_json(interner)["packages"]}


def load_fail(state, root, **kw):
    with pytest.raises(LoadFailed) as info:
        state.load(root, **kw)
    assert len(info.value.problems) == 1
    return info.value.problems[0]


# --- the graph -------------------------------------------------------------------


def test_small_project_graph(tmp_path, state):
    root = make_project(
        tmp_path / "p",
        {
            "zako.ts": """
                import { project } from "zako:project";
                project({ version: project.version + ".0" });
            """,
            "BUILD.ts": """
                import { target } from "zako:build";
                target({ name: "all", kind: "group", deps: ["//lib:lib", ":docs"] });
                target({ name: "docs", kind: "files", srcs: ["README.md"] });
            """,
            "README.md": "hi",
            "lib/BUILD.js": """
                import { target, glob } from "zako:build";
                import { kind } from "../defs/kinds.ts";
                target({ name: "lib", kind, srcs: glob(["**/*.js"], { exclude: ["**/*_test.js"] }),
                         deps: [":helper"], attrs: { opt: 2 } });
                target({ name: "helper", kind, srcs: ["a.js"] });
            """,
            "lib/a.js": "",
            "lib/b/c.js": "",
            "lib/b/c_test.js": "",
            "lib/sub/BUILD.ts": 'import { target } from "zako:build";\ntarget({ name: "s", kind: "x", srcs: ["s.js"] });\n',
            "lib/sub/s.js": "",
            "defs/kinds.ts": 'export const kind: string = "js_library";\n',
        },
    )
    result = state.load(root)
    assert result.ok
    g = graph(result, state.interner)
    assert list(g) == [".", "lib", "lib/sub"]
    assert list(g["."]) == ["//:all", "//:docs"]
    assert g["."]["//:all"]["deps"] == ["//lib:lib", "//:docs"]
    assert g["."]["//:docs"]["srcs"] == ["README.md"]
    lib = g["lib"]["//lib:lib"]
    assert lib["kind"] == "js_library"
    assert lib["srcs"] == ["lib/BUILD.js", "lib/a.js", "lib/b/c.js"]  # the build file is a file like any other
    assert lib["deps"] == ["//lib:helper"]
    assert lib["attrs"] == {"opt": 2}
    assert g["lib/sub"]["//lib/sub:s"]["srcs"] == ["lib/sub/s.js"]
    # srcs are interned neutral paths of the global interner
    lib_pkg = next(p for p in result.packages if state.interner.resolve(p.path) == "lib")
    lib_target = next(t for t in lib_pkg.targets if state.interner.resolve(t.label) == "//lib:lib")
    assert [str(p.unintern(state.interner)) for p in lib_target.src_paths()] == lib["srcs"]
    assert result.project["version"] == "1.0"
    assert result.stats["packages"] == 3 and result.stats["targets"] == 5
    assert result.stats["evaluated"] == 4 and result.stats["cache_hits"] == 0


# --- errors ------------------------------------------------------------------------


def test_script_throw_reports_file_line_and_stack(tmp_path, state):
    root = make_project(
        tmp_path / "p",
        {
            "BUILD.ts": 'import { target } from "zako:build";\nimport { boom } from "./lib/boom.ts";\n\nboom();\n',
            "lib/boom.ts": "export function boom(): void {\n  throw new Error('kaboom');\n}\n",
        },
    )
    p = load_fail(state, root)
    assert p.kind == "script-error"
    assert (p.file, p.line) == ("lib/boom.ts", 2)
    assert "kaboom" in p.message
    assert "BUILD.ts:4" in p.stack
    assert p.format().startswith("lib/boom.ts:2: error[script-error]")


def test_timeout(tmp_path):
    root = make_project(tmp_path / "p", {"BUILD.js": "for (;;) {}\n"})
    with GlobalState(cache_dir=tmp_path / "c", jobs=1, timeout_s=0.5) as s:
        p = load_fail(s, root)
    assert p.kind == "timeout"
    assert p.file == "BUILD.js"


def test_missing_dep_points_at_the_dep_line(tmp_path, state):
    root = make_project(
        tmp_path / "p",
        {
            "a/BUILD.ts": """
                import { target } from "zako:build";
                target({
                  name: "a",
                  kind: "x",
                  deps: [
                    "//b:b",
                    "//b:nope",
                  ],
                });
            """,
            "b/BUILD.ts": 'import { target } from "zako:build";\ntarget({ name: "b", kind: "x" });\n',
        },
    )
    p = load_fail(state, root)
    assert p.kind == "missing-dep"
    assert (p.file, p.line) == ("a/BUILD.ts", 7)
    assert "//a:a depends on //b:nope" in p.message and "no target 'nope'" in p.message


def test_missing_package(tmp_path, state):
    root = make_project(tmp_path / "p", {"BUILD.ts": 'import { target } from "zako:build";\ntarget({ name: "a", kind: "x", deps: ["//ghost:g"] });\n'})
    p = load_fail(state, root)
    assert p.kind == "missing-dep" and "no package 'ghost'" in p.message and p.line == 2


def test_duplicate_target(tmp_path, state):
    root = make_project(
        tmp_path / "p",
        {"BUILD.ts": 'import { target } from "zako:build";\ntarget({ name: "a", kind: "x" });\n\ntarget({ name: "a", kind: "y" });\n'},
    )
    p = load_fail(state, root)
    assert p.kind == "duplicate-target"
    assert (p.file, p.line) == ("BUILD.ts", 4)
    assert '"a"' in p.message


@pytest.mark.parametrize(
    "srcs, fragment",
    [
        ('["../outside.txt"]', "leaves its package"),
        ('["missing.txt"]', "does not exist"),
        ('glob(["../*"])', "leaves its package"),
        ('["/etc/passwd"]', "absolute"),
        ('glob(["a{b"])', "unbalanced"),
    ],
)
def test_bad_paths(tmp_path, state, srcs, fragment):
    root = make_project(
        tmp_path / "p",
        {
            "outside.txt": "",
            "pkg/BUILD.ts": f'import {{ target, glob }} from "zako:build";\n\ntarget({{ name: "t", kind: "x", srcs: {srcs} }});\n',
        },
    )
    p = load_fail(state, root)
    assert p.kind == "bad-path"
    assert (p.file, p.line) == ("pkg/BUILD.ts", 3)
    assert fragment in p.message and "//pkg:t" in p.message


def test_bad_dep_label(tmp_path, state):
    root = make_project(tmp_path / "p", {"BUILD.ts": 'import { target } from "zako:build";\ntarget({ name: "a", kind: "x", deps: ["no-slashes"] });\n'})
    p = load_fail(state, root)
    assert p.kind == "bad-label" and "'no-slashes'" in p.message and p.line == 2


def test_module_errors(tmp_path, state):
    root = make_project(tmp_path / "p", {"BUILD.ts": 'import { target } from "zako:build";\nimport { x } from "./nope.ts";\ntarget(x);\n'})
    p = load_fail(state, root)
    assert p.kind == "module" and (p.file, p.line) == ("BUILD.ts", 2) and "nope" in p.message
    # a library may not import zako:build: refused, naming the library's line
    root = make_project(
        tmp_path / "q",
        {
            "BUILD.ts": 'import { f } from "./lib.ts";\nf();\n',
            "lib.ts": '// helpers\nimport { target } from "zako:build";\nexport function f() { target({ name: "x", kind: "y" }); }\n',
        },
    )
    p = load_fail(state, root)
    assert p.kind == "module" and (p.file, p.line) == ("lib.ts", 2) and "zako:build" in p.message


def test_manifest_errors(tmp_path, state):
    root = make_project(tmp_path / "p", {"BUILD.ts": ""}, manifest='group = "g"\nartifact = "a"\nversoin = "1"\n')
    p = load_fail(state, root)
    assert p.kind == "manifest" and (p.file, p.line) == ("zako.toml", 3) and "'versoin'" in p.message
    root = make_project(tmp_path / "q", {"zako.json": '{"group": "g",\n "artifact": "a",\n "version": 1}\n'}, manifest=None)
    p = load_fail(state, root)
    assert p.kind == "manifest" and (p.file, p.line) == ("zako.json", 3)
    empty = tmp_path / "empty"
    empty.mkdir()
    p = load_fail(state, str(empty))
    assert p.kind == "manifest" and "no zako.toml or zako.json" in p.message


def test_two_build_files_in_one_directory(tmp_path, state):
    root = make_project(tmp_path / "p", {"a/BUILD.ts": "", "a/BUILD.js": ""})
    p = load_fail(state, root)
    assert p.kind == "layout" and "both BUILD.ts and BUILD.js" in p.message


def test_keep_going_reports_every_error(tmp_path, state):
    root = make_project(
        tmp_path / "p",
        {
            "a/BUILD.ts": "throw new Error('a broke');\n",
            "b/BUILD.ts": 'import { target } from "zako:build";\ntarget({ name: "b", kind: "x", deps: ["//c:missing"] });\n',
            "c/BUILD.ts": 'import { target } from "zako:build";\ntarget({ name: "c", kind: "x", srcs: ["nope.txt"] });\n',
            "d/BUILD.ts": 'import { target } from "zako:build";\ntarget({ name: "d", kind: "x" });\n',
        },
    )
    result = state.load(root, keep_going=True)
    kinds = sorted((p.kind, p.file) for p in result.problems)
    assert kinds == [("bad-path", "c/BUILD.ts"), ("missing-dep", "b/BUILD.ts"), ("script-error", "a/BUILD.ts")]
    # the healthy package still loaded
    assert "d" in graph(result, state.interner)
    with pytest.raises(LoadFailed):
        state.load(root)


# --- caching ---------------------------------------------------------------------------


def test_cache_hits_and_precise_invalidation(tmp_path):
    root = tmp_path / "tree"
    n, libs = 12, 4
    gentree.generate(str(root), n, libraries=libs)
    all_paths = sorted(gentree.package_path(i) for i in range(n))
    with GlobalState(cache_dir=tmp_path / "cache", jobs=2) as s:
        first = s.load(str(root))
        assert first.evaluated == sorted([".", *all_paths])
        second = s.load(str(root))
        assert second.evaluated == [] and second.stats["cache_hits"] == n + 1
        assert graph(second, s.interner) == graph(first, s.interner)

        lib = root / gentree.library_file(1)
        lib.write_text(lib.read_text() + "\nexport const EDITED = 1;\n")
        third = s.load(str(root))
        assert third.evaluated == gentree.packages_importing(n, 1, libs)
        assert third.stats["cache_hits"] == n + 1 - len(third.evaluated)

        # a file every library imports: every package, not the package script
        common = root / "build_defs" / "common.ts"
        common.write_text(common.read_text() + "\n// touched\n")
        assert s.load(str(root)).evaluated == all_paths

        # one build file: exactly that package
        build = root / gentree.package_path(5) / "BUILD.js"
        build.write_text(build.read_text() + "\n// touched\n")
        assert s.load(str(root)).evaluated == [gentree.package_path(5)]

        # the manifest feeds every key
        manifest = root / "zako.toml"
        manifest.write_text(manifest.read_text().replace('version = "1.0.0"', 'version = "1.0.1"'))
        assert len(s.load(str(root)).evaluated) == n + 1

        # --no-cache evaluates everything and reads nothing
        assert len(s.load(str(root), use_cache=False).evaluated) == n + 1


def test_cache_survives_a_new_process_state(tmp_path):
    root = tmp_path / "tree"
    gentree.generate(str(root), 5, libraries=2)
    with GlobalState(cache_dir=tmp_path / "cache", jobs=1) as s:
        assert len(s.load(str(root)).evaluated) == 6
    with GlobalState(cache_dir=tmp_path / "cache", jobs=1) as s:
        r = s.load(str(root))
        assert r.evaluated == [] and r.stats["cache_hits"] == 6


def test_damaged_cache_entry_is_a_miss(tmp_path, monkeypatch):
    # Result blobs are read only when results are not inline in graph entries
    # (tests/test_cache_inline.py covers damaged inline results).
    monkeypatch.setenv("ZAKO_CACHE_INLINE_MAX", "0")
    root = tmp_path / "tree"
    gentree.generate(str(root), 3, libraries=1)
    cache = tmp_path / "cache"
    with GlobalState(cache_dir=cache, jobs=1) as s:
        s.load(str(root))
    for dirpath, _, names in os.walk(cache / "cas"):
        for name in names:
            if len(name) == 64:
                os.chmod(os.path.join(dirpath, name), 0o644)
                with open(os.path.join(dirpath, name), "wb") as f:
                    f.write(b"garbage")
    with GlobalState(cache_dir=cache, jobs=1) as s:
        r = s.load(str(root))
        assert r.ok and len(r.evaluated) == 4


# --- GlobalState ------------------------------------------------------------------------


def test_global_state_memory_report_and_close(tmp_path):
    root = tmp_path / "tree"
    gentree.generate(str(root), 4, libraries=2)
    s = GlobalState(cache_dir=tmp_path / "cache", jobs=1)
    with s:
        s.load(str(root))
        report = s.memory_report()
        assert report["interner"]["strings"] == len(s.interner) > 10
        assert report["interner"]["total_bytes"] > 0
        assert report["v8"]["peak_heap_bytes"] > 0
        assert report["pools"]["v8"]["jobs_done"] == 5
        assert report["process"]["rss_bytes"] > 0 and report["process"]["peak_rss_bytes"] > 0
        assert report["resources"]["in_use"]["cpu"] == 0
        assert report["cas_cache"]["entries"] > 0
    assert s.closed
    assert s.v8_pool.stats().live_workers == 0
    s.close()  # idempotent


def test_default_cache_dir(monkeypatch, tmp_path):
    monkeypatch.delenv("ZAKO_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == str(tmp_path / "xdg" / "zako")
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_cache_dir() == str(tmp_path / "home" / ".cache" / "zako")
    monkeypatch.setenv("ZAKO_CACHE_DIR", str(tmp_path / "explicit"))
    assert default_cache_dir() == str(tmp_path / "explicit")


def test_bad_jobs(tmp_path):
    with pytest.raises(ValueError, match="jobs"):
        GlobalState(cache_dir=tmp_path, jobs=0)


@pytest.mark.parametrize("directory", ["bad:dir", "docs/con", "trail "])
def test_bad_package_directory(tmp_path, state, directory):
    root = make_project(tmp_path / "p", {f"{directory}/BUILD.ts": 'import { target } from "zako:build";\ntarget({ name: "x", kind: "y" });\n'})
    p = load_fail(state, root)
    assert p.kind == "bad-path" and p.file == f"{directory}/BUILD.ts"
    assert repr(directory) in p.message


def test_bad_src_characters(tmp_path, state):
    root = make_project(tmp_path / "p", {"BUILD.ts": 'import { target } from "zako:build";\ntarget({ name: "x", kind: "y", srcs: ["a|b.txt"] });\n'})
    p = load_fail(state, root)
    assert p.kind == "bad-path" and p.line == 2 and "a|b.txt" in p.message


def test_keep_going_problems_come_in_a_fixed_order(tmp_path):
    files = {}
    for i in range(12):
        # Uneven work, so evaluations finish out of order on two workers.
        spin = "for (let i = 0; i < %d; i++) {}\n" % ((12 - i) * 20000)
        files[f"p{i:02d}/BUILD.ts"] = spin + f'throw new Error("fail {i}");\n'
    root = make_project(tmp_path / "proj", files)
    seen = []
    for jobs in (2, 1, 2):
        with GlobalState(cache_dir=str(tmp_path / f"cache{jobs}{len(seen)}"), jobs=jobs) as st:
            result = st.load(root, keep_going=True, use_cache=False)
        seen.append([(p.file, p.message) for p in result.problems])
    assert [f for f, _ in seen[0]] == [f"p{i:02d}/BUILD.ts" for i in range(12)]
    assert seen[0] == seen[1] == seen[2]
