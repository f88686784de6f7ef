"""Cache keys and action-cache entries: what resolution looked at is part of
the key, and an entry is served only for the key, script and context it
was computed for."""

from __future__ import annotations

import json
import logging
import os
import textwrap
import uuid

import pytest

from nginx_server import nginx_server  # noqa: F401  (pytest fixture)
from zako.global_state import GlobalState
from zako.project.cache_key import KEY_SCHEMA, FileDigests, graph_key, result_key
from zako.project.errors import LoadFailed
from zako.project.import_map import IMPORT_MAP_NAME
from zako.v8 import ModuleLoader
from zako.v8.loader import observe_path as _observe_path

MANIFEST = 'group = "t"\nartifact = "t"\nversion = "1"\n'
LOG = "zako.project.load"


def write(root, rel, text=""):
    path = os.path.join(str(root), *rel.split("/"))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(textwrap.dedent(text).lstrip("\n"))
    return path


# --- observations ------------------------------------------------------------------


@pytest.mark.parametrize("memo", [False, True], ids=["plain", "memoized-dirs"])
def test_observe_path_kinds(tmp_path, memo):
    root = str(tmp_path)
    dirs = {} if memo else None

    def observe_path(path, root):
        return _observe_path(path, root, dirs)

    write(root, "d/real.ts", "x")
    os.symlink("real.ts", tmp_path / "d" / "link.ts")
    os.symlink("nowhere.ts", tmp_path / "d" / "dangling.ts")
    os.symlink("d", tmp_path / "dlink")
    assert observe_path(str(tmp_path / "d" / "nope.ts"), root) == "missing"
    assert observe_path(str(tmp_path / "d" / "real.ts" / "index.ts"), root) == "missing"  # a file used as a dir
    assert observe_path(str(tmp_path / "d"), root) == "dir"
    assert observe_path(str(tmp_path / "d" / "real.ts"), root) == "file:d/real.ts"
    assert observe_path(str(tmp_path / "d" / "link.ts"), root) == "file:d/real.ts"
    assert observe_path(str(tmp_path / "dlink" / "link.ts"), root) == "file:d/real.ts"
    assert observe_path(str(tmp_path / "d" / "dangling.ts"), root) == "missing"
    # re-pointing a link changes what is observed, though no file's content changed
    write(root, "d/other.ts", "x")
    os.unlink(tmp_path / "d" / "link.ts")
    os.symlink("other.ts", tmp_path / "d" / "link.ts")
    assert observe_path(str(tmp_path / "d" / "link.ts"), root) == "file:d/other.ts"
    # a file reached through a directory link shows where it really is
    write(root, "e/f.ts", "x")
    assert observe_path(str(tmp_path / "dlink" / "real.ts"), root) == "file:d/real.ts"
    assert observe_path(str(tmp_path / "e" / "f.ts"), root) == "file:e/f.ts"


def test_file_digests_observe_is_memoized_per_run(tmp_path):
    digests = FileDigests(str(tmp_path))
    assert digests.observe("a.ts") == "missing"
    write(tmp_path, "a.ts", "x")
    assert digests.observe("a.ts") == "missing"  # one run sees one state of the tree
    assert FileDigests(str(tmp_path)).observe("a.ts") == "file:a.ts"


def test_observations_are_relative_to_the_real_root(tmp_path):
    write(tmp_path, "real/a.ts", "x")
    os.symlink("real", tmp_path / "via-link")
    assert FileDigests(str(tmp_path / "via-link")).observe("a.ts") == "file:a.ts"


# --- the loader's probes -------------------------------------------------------------


def test_graph_probes_name_the_candidates_that_lost(tmp_path):
    write(tmp_path, "BUILD.ts", """
        import { MOD } from "./defs/mod";
        import { UTIL } from "./defs/util.js";
        import { LINKED } from "./defs/link.ts";
        import cfg from "@cfg" with { type: "json" };
        export default [MOD, UTIL, LINKED, cfg];
    """)
    write(tmp_path, "defs/mod/index.ts", "export const MOD = 1;\n")
    write(tmp_path, "defs/util.ts", "export const UTIL = 2;\n")
    write(tmp_path, "defs/real.ts", "export const LINKED = 3;\n")
    write(tmp_path, "defs/c.json", "{}")
    os.symlink("real.ts", tmp_path / "defs" / "link.ts")
    loader = ModuleLoader(tmp_path, import_map={"@cfg": "defs/c.json"})
    graph = loader.load_graph("BUILD.ts", context_type="build")
    probes = dict(graph.probes)
    assert len(probes) == len(graph.probes)  # each path once
    assert probes["BUILD.ts"] == "file:BUILD.ts"
    # "./defs/mod": the path, then .ts and .js, then the index file that won
    assert probes["defs/mod"] == "dir"
    assert probes["defs/mod.ts"] == "missing" and probes["defs/mod.js"] == "missing"
    assert probes["defs/mod/index.ts"] == "file:defs/mod/index.ts"
    assert "defs/mod/index.js" not in probes  # never looked at: the winner came first
    # "./defs/util.js" fell back to util.ts: the util.js that did not exist is a probe
    assert probes["defs/util.js"] == "missing" and probes["defs/util.ts"] == "file:defs/util.ts"
    assert probes["defs/link.ts"] == "file:defs/real.ts"
    assert probes["defs/c.json"] == "file:defs/c.json"  # reached through the import map
    # the probes agree with a later observation of the same tree
    digests = FileDigests(str(tmp_path))
    assert all(digests.observe(path) == seen for path, seen in graph.probes)


def test_resolution_without_a_graph_is_unchanged(tmp_path):
    write(tmp_path, "defs/mod/index.ts", "export const MOD = 1;\n")
    loader = ModuleLoader(tmp_path)
    spec = loader.resolve("./defs/mod")
    assert loader.display_name(spec) == "defs/mod/index.ts"
    write(tmp_path, "defs/mod.ts", "export const MOD = 2;\n")
    assert loader.display_name(loader.resolve("./defs/mod")) == "defs/mod.ts"


# --- keys -----------------------------------------------------------------------------


BASE = dict(script="p/BUILD.ts", script_digest="d0", context_type="build", imports=[("lib.ts", "d1")],
            manifest_digest="zako.toml:m", inputs_json="{}", probes=[("lib.ts", "file:lib.ts")], import_map_digest="")


def test_result_key_covers_every_input():
    base = result_key(**BASE)
    changes = {
        "script": "q/BUILD.ts",
        "script_digest": "d9",
        "context_type": "package",
        "imports": [("lib.ts", "d2")],
        "manifest_digest": "zako.toml:n",
        "inputs_json": '{"x":1}',
        "probes": [("lib.ts", "file:other.ts")],
        "import_map_digest": "im",
    }
    for name, value in changes.items():
        assert result_key(**{**BASE, name: value}) != base, name
    assert result_key(**{**BASE, "probes": [*BASE["probes"], ("lib.js", "missing")]}) != base
    assert result_key(**BASE) == base


def test_result_key_does_not_confuse_imports_with_probes():
    a = result_key(**{**BASE, "imports": [("x", "y")], "probes": []})
    b = result_key(**{**BASE, "imports": [], "probes": [("x", "y")]})
    assert a != b


def test_keys_cover_the_evaluator_code(monkeypatch):
    from zako.project import cache_key

    assert len(cache_key.evaluator_digest()) == 64
    before = (graph_key("BUILD.ts", "d", "build"), result_key(**BASE))
    monkeypatch.setattr(cache_key, "evaluator_digest", lambda: "0" * 64)  # as if a builtin were edited
    after = (graph_key("BUILD.ts", "d", "build"), result_key(**BASE))
    assert before[0] != after[0] and before[1] != after[1]


def test_graph_key_covers_the_import_map():
    assert graph_key("BUILD.ts", "d", "build", "") != graph_key("BUILD.ts", "d", "build", "m")
    assert graph_key("BUILD.ts", "d", "build") == graph_key("BUILD.ts", "d", "build", "")
    assert KEY_SCHEMA.endswith("v3")


# --- entries that are not what their key names -----------------------------------------


N = 6


def make_tree(root):
    write(root, "zako.toml", MANIFEST)
    for i in range(N):
        write(root, f"p{i}/BUILD.ts", f"""
            import {{ target }} from "zako:build";
            target({{ name: "t{i}", kind: "k{i}" }});
        """)
    return str(root)


def graph_of(state, root, **kw):
    result = state.load(root, **kw)
    return result, {p["path"]: p["targets"] for p in result.to_json(state.interner)["packages"]}


def entries(ac_dir):
    """{key: parsed entry} of every local action-cache entry."""
    out = {}
    for dirpath, _, names in os.walk(ac_dir):
        for name in names:
            with open(os.path.join(dirpath, name), "rb") as f:
                out[name] = json.loads(f.read())
    return out


def swap(path_a, path_b):
    with open(path_a, "rb") as f:
        a = f.read()
    with open(path_b, "rb") as f:
        b = f.read()
    with open(path_a, "wb") as f:
        f.write(b)
    with open(path_b, "wb") as f:
        f.write(a)


def ac_path(ac_dir, key):
    return os.path.join(str(ac_dir), key[:2], key)


def bad_entry_warnings(caplog):
    return [r.getMessage() for r in caplog.records if r.name == LOG and "action-cache entry" in r.getMessage()]


@pytest.mark.parametrize("kind", ["result", "graph"])
def test_swapped_local_entries_are_misses_with_one_warning_each(tmp_path, caplog, kind, monkeypatch):
    # Results inline in graph entries are never read from result entries:
    # this checks the two-entry path (tests/test_cache_inline.py the inline one).
    monkeypatch.setenv("ZAKO_CACHE_INLINE_MAX", "0")
    root = make_tree(tmp_path / "tree")
    cache = tmp_path / "cache"
    with GlobalState(cache_dir=cache, jobs=2) as s:
        _, want = graph_of(s, root)
    stored = entries(cache / "ac")
    keys = sorted(k for k, e in stored.items() if ("result" in e) == (kind == "result"))
    assert len(keys) == N and all(stored[k]["key"] == k for k in keys)
    # swap entries of different packages pairwise: every package's entry is wrong
    for a, b in zip(keys[0::2], keys[1::2]):
        swap(ac_path(cache / "ac", a), ac_path(cache / "ac", b))
    with caplog.at_level(logging.WARNING, logger=LOG), GlobalState(cache_dir=cache, jobs=2) as s:
        result, got = graph_of(s, root)
    assert got == want  # never another package's targets
    assert result.stats["evaluated"] == N
    warnings = bad_entry_warnings(caplog)
    assert len(warnings) == N, warnings
    assert sorted(w.split("ac/")[1].split()[0] for w in warnings) == keys  # each names its entry
    # the fresh evaluations replaced them: all hits now, no more warnings
    caplog.clear()
    assert all(e["key"] == k for k, e in entries(cache / "ac").items())
    with caplog.at_level(logging.WARNING, logger=LOG), GlobalState(cache_dir=cache, jobs=2) as s:
        result, got = graph_of(s, root)
    assert got == want and result.stats["evaluated"] == 0 and result.stats["cache_hits"] == N
    assert bad_entry_warnings(caplog) == []


def test_an_entry_warns_once_per_load_however_often_it_is_read(tmp_path, caplog):
    root = make_tree(tmp_path / "tree")
    cache = tmp_path / "cache"
    with GlobalState(cache_dir=cache, jobs=2) as s:
        s.load(root)
    stored = entries(cache / "ac")
    key = next(k for k, e in stored.items() if e.get("script") == "p0/BUILD.ts" and "files" in e)
    # an entry that is valid JSON but names no key at all (damaged, or from a foreign writer)
    with open(ac_path(cache / "ac", key), "w") as f:
        json.dump({"files": [], "probes": []}, f)
    with caplog.at_level(logging.WARNING, logger=LOG), GlobalState(cache_dir=cache, jobs=2) as s:
        s.load(root)
        s.load(root)  # rewritten by the first load: the second load reads a good entry
    assert len(bad_entry_warnings(caplog)) == 1


def test_entries_name_what_they_were_computed_from(tmp_path):
    root = make_tree(tmp_path / "tree")
    cache = tmp_path / "cache"
    with GlobalState(cache_dir=cache, jobs=2) as s:
        s.load(root)
    stored = entries(cache / "ac")
    assert len(stored) == 2 * N
    for key, e in stored.items():
        assert e["key"] == key and e["context"] == "build"
        assert e["script"].endswith("/BUILD.ts") and len(e["script_digest"]) == 64
    graphs = [e for e in stored.values() if "files" in e]
    assert all(["p0/BUILD.ts" == e["script"] or e["probes"] for e in graphs])
    p0 = next(e for e in graphs if e["script"] == "p0/BUILD.ts")
    assert p0["probes"] == [["p0/BUILD.ts", "file:p0/BUILD.ts"]] and p0["files"] == []


@pytest.fixture
def remote(nginx_server):  # noqa: F811
    prefix = uuid.uuid4().hex  # the session's server is shared with other tests
    return f"{nginx_server.url}/{prefix}", nginx_server.data_dir / prefix


def test_swapped_remote_entries_are_misses_and_get_replaced(tmp_path, caplog, remote, monkeypatch):
    monkeypatch.setenv("ZAKO_CACHE_INLINE_MAX", "0")  # the two-entry path, as above
    url, data_dir = remote
    root = make_tree(tmp_path / "tree")
    with GlobalState(cache_dir=tmp_path / "machine-a", jobs=2, remote_cache=url) as s:
        _, want = graph_of(s, root)
    remote_entries = {name: json.loads((data_dir / "ac" / name).read_bytes()) for name in os.listdir(data_dir / "ac")}
    results = sorted(k for k, e in remote_entries.items() if "result" in e)
    a, b = results[:2]
    swap(data_dir / "ac" / a, data_dir / "ac" / b)
    with caplog.at_level(logging.WARNING, logger=LOG), GlobalState(cache_dir=tmp_path / "machine-b", jobs=2, remote_cache=url) as s:
        result, got = graph_of(s, root)
    assert got == want
    assert result.stats["evaluated"] == 2 and result.stats["cache_hits"] == N - 2
    warnings = bad_entry_warnings(caplog)
    assert len(warnings) == 2 and {w.split("ac/")[1].split()[0] for w in warnings} == {a, b}
    # the fresh stores went to the remote too: a third machine gets only good hits
    assert json.loads((data_dir / "ac" / a).read_bytes())["key"] == a
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger=LOG), GlobalState(cache_dir=tmp_path / "machine-c", jobs=2, remote_cache=url) as s:
        result, got = graph_of(s, root)
    assert got == want and result.stats["evaluated"] == 0
    assert bad_entry_warnings(caplog) == []


# --- the import map ----------------------------------------------------------------------


def test_import_map_reaches_build_files_and_its_edits_invalidate(tmp_path):
    root = str(tmp_path / "tree")
    write(root, "zako.toml", MANIFEST)
    write(root, IMPORT_MAP_NAME, '{"imports": {"@defs/": "defs/"}}')
    write(root, "defs/a.ts", 'export const K = "a";\n')
    write(root, "defs2/a.ts", 'export const K = "b";\n')
    write(root, "p/BUILD.ts", """
        import { target } from "zako:build";
        import { K } from "@defs/a.ts";
        target({ name: "t", kind: K });
    """)
    with GlobalState(cache_dir=tmp_path / "cache", jobs=1) as s:
        _, g = graph_of(s, root)
        assert g["p"][0]["kind"] == "a"
        write(root, IMPORT_MAP_NAME, '{"imports": {"@defs/": "defs2/"}}')
        result, g = graph_of(s, root)
        assert g["p"][0]["kind"] == "b" and result.stats["evaluated"] == 1


@pytest.mark.parametrize(
    "text, line, words",
    [
        ('{"imports": {"@a": "x.ts",\n "b": "y.ts"}}', 2, "must start with '@'"),
        ('{"imports": {\n"@a": 1}}', None, "strings"),
        ('{"imports": {}, "scopes": {}}', None, '"imports"'),
        ('{"imports": \n[}', 2, "invalid JSON"),
    ],
)
def test_bad_import_maps_are_errors_naming_the_file(tmp_path, text, line, words):
    root = str(tmp_path / "tree")
    write(root, "zako.toml", MANIFEST)
    write(root, IMPORT_MAP_NAME, text)
    with GlobalState(cache_dir=tmp_path / "cache", jobs=1) as s, pytest.raises(LoadFailed) as info:
        s.load(root)
    problem = info.value.problems[0]
    assert problem.file == IMPORT_MAP_NAME and problem.line == line and words in problem.message
