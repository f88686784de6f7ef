"""Differential incremental test: after every edit, a load served from the
cache must give exactly what a load with ``--no-cache`` gives.

The tree exercises everything an evaluation's result can depend on: the
build file, TypeScript and JavaScript helpers, JSON imports, an import map,
the manifest, a directory symlink and a file symlink, globs, and imports
whose resolution can change without any read file changing (``defs/mod``
that means ``mod/index.ts`` until ``mod.ts`` appears; ``util.js`` that falls
back to ``util.ts`` until ``util.js`` appears). The sequence runs against
the local cache, then against a real nginx remote with some steps on an
empty local cache so their hits come from the remote.
"""

from __future__ import annotations

import json
import os
import shutil
import textwrap
import uuid

import pytest

from nginx_server import nginx_server  # noqa: F401  (pytest fixture)
from zako.cli import main
from zako.global_state import GlobalState
from zako.project.import_map import IMPORT_MAP_NAME

MANIFEST = """\
group = "com.example.inc"
artifact = "inc"
version = "1.0.0"

[options]
level = 1
"""

FILES = {
    "zako.toml": MANIFEST,
    IMPORT_MAP_NAME: json.dumps({"imports": {"@defs/": "defs/", "@cfg": "defs/config.json"}}, indent=2),
    "zako.ts": """
        import { project } from "zako:project";
        import versions from "./defs/versions.json" with { type: "json" };
        project({ description: `node ${versions.node}` });
    """,
    "defs/common.ts": """
        export function make(name: string, attrs: object): { name: string; kind: string; attrs: object } {
          return { name, kind: "lib", attrs: { ...attrs, common: 1 } };
        }
    """,
    "defs/mod/index.ts": 'export const MOD: string = "mod/index.ts";\n',
    "defs/util.ts": 'export const UTIL = "util.ts";\n',
    "defs/config.json": '{"level": 1}\n',
    "defs/config2.json": '{"level": 2}\n',
    "defs/versions.json": '{"node": "20"}\n',
    "defs/v1/flavor.ts": 'export const FLAVOR = "v1";\n',
    "defs/v2/flavor.ts": 'export const FLAVOR = "v2";\n',
    "defs/choices/a.ts": 'export const CHOICE = "a";\n',
    "defs/choices/b.ts": 'export const CHOICE = "b";\n',
    "pkgs/a/BUILD.ts": """
        import { target, glob } from "zako:build";
        import { make } from "../../defs/common.ts";
        import { MOD } from "../../defs/mod";
        import { UTIL } from "../../defs/util.js";
        target({ ...make("a", { mod: MOD, util: UTIL }), srcs: glob(["src/**/*.txt"], { exclude: ["src/skip/**"] }) });
    """,
    "pkgs/a/src/one.txt": "one\n",
    "pkgs/a/src/skip/no.txt": "no\n",
    "pkgs/b/BUILD.js": """
        import { target } from "zako:build";
        import { FLAVOR } from "@defs/current/flavor.ts";
        import cfg from "@cfg" with { type: "json" };
        target({ name: "b", kind: "cfg", deps: ["//pkgs/a:a"], attrs: { flavor: FLAVOR, level: cfg.level } });
    """,
    "pkgs/c/BUILD.ts": """
        import { target } from "zako:build";
        import { CHOICE } from "../../defs/chosen.ts";
        import { MOD } from "@defs/mod";
        target({ name: "c", kind: "pick", srcs: ["data.txt"], attrs: { choice: CHOICE, mod: MOD } });
    """,
    "pkgs/c/data.txt": "data\n",
    "pkgs/d/BUILD.ts": """
        import { target } from "zako:build";
        const ctx = (globalThis as any).executionContext;
        target({ name: "d", kind: "meta", attrs: { version: ctx.project.version, options: ctx.project.options, d: ctx.project.description } });
    """,
}


def write(root: str, rel: str, text: str) -> None:
    path = os.path.join(root, *rel.split("/"))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(textwrap.dedent(text).lstrip("\n"))


def make_tree(root: str) -> str:
    for rel, text in FILES.items():
        write(root, rel, text)
    os.symlink("v1", os.path.join(root, "defs", "current"))  # a directory symlink
    os.symlink("choices/a.ts", os.path.join(root, "defs", "chosen.ts"))  # a file symlink
    return root


# --- edits ---------------------------------------------------------------------


def _p(root, rel):
    return os.path.join(root, *rel.split("/"))


def edit_text(rel, old, new):
    def run(root):
        path = _p(root, rel)
        with open(path, encoding="utf-8") as f:
            text = f.read()
        assert old in text, (rel, old)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text.replace(old, new, 1))

    return run


def same_size_keep_mtime(rel, old, new):
    """An edit a stat-based cache cannot see: same size, same mtime."""
    assert len(old.encode()) == len(new.encode())

    def run(root):
        path = _p(root, rel)
        st = os.stat(path)
        edit_text(rel, old, new)(root)
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
        assert os.stat(path).st_size == st.st_size

    return run


def add(rel, text):
    return lambda root: write(root, rel, text)


def remove(rel):
    def run(root):
        path = _p(root, rel)
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        else:
            os.unlink(path)

    return run


def rename(old, new):
    return lambda root: os.rename(_p(root, old), _p(root, new))


def relink(rel, target):
    """``ln -sfn target rel``: a new link renamed over the old one."""

    def run(root):
        path = _p(root, rel)
        tmp = path + ".tmp-link"
        os.symlink(target, tmp)
        os.replace(tmp, path)

    return run


def file_to_dir(rel, index_text):
    """Replace the file ``rel`` by a directory holding ``index.ts``."""

    def run(root):
        path = _p(root, rel)
        os.unlink(path)
        os.mkdir(path)
        write(root, rel + "/index.ts", index_text)

    return run


def steps(*fns):
    def run(root):
        for fn in fns:
            fn(root)

    return run


def touch(rel):
    return lambda root: os.utime(_p(root, rel))


EDITS = [
    ("BUILD edit", edit_text("pkgs/a/BUILD.ts", "util: UTIL }", "util: UTIL, edited: true }")),
    ("helper edit", edit_text("defs/common.ts", "common: 1", "common: 2")),
    ("JSON edit (imported through the import map)", edit_text("defs/config.json", '"level": 1', '"level": 3')),
    ("JSON edit (package script)", edit_text("defs/versions.json", '"20"', '"22"')),
    ("add mod.ts beside mod/index.ts", add("defs/mod.ts", 'export const MOD: string = "mod.ts";\n')),
    ("edit mod.ts", edit_text("defs/mod.ts", '"mod.ts"', '"mod.ts edited"')),
    ("remove mod.ts", remove("defs/mod.ts")),
    ("add mod.js (wins over mod/index.ts)", add("defs/mod.js", 'export const MOD = "mod.js";\n')),
    ("rename mod.js to mod.ts", rename("defs/mod.js", "defs/mod.ts")),
    ("add util.js beside util.ts", add("defs/util.js", 'export const UTIL = "util.js";\n')),
    ("remove util.js", remove("defs/util.js")),
    ("retarget a directory symlink (ln -sfn)", relink("defs/current", "v2")),
    ("edit the file behind the directory symlink", edit_text("defs/v2/flavor.ts", '"v2"', '"v2 edited"')),
    ("retarget the directory symlink back", relink("defs/current", "v1")),
    ("retarget a file symlink", relink("defs/chosen.ts", "choices/b.ts")),
    ("edit the file behind the file symlink", edit_text("defs/choices/b.ts", '"b"', '"bb"')),
    ("glob-matched file added", add("pkgs/a/src/two.txt", "two\n")),
    ("glob-matched file added in a subdirectory", add("pkgs/a/src/sub/three.txt", "three\n")),
    ("glob-excluded file added", add("pkgs/a/src/skip/also.txt", "no\n")),
    ("glob-matched file removed", remove("pkgs/a/src/two.txt")),
    ("manifest edit: version", edit_text("zako.toml", '"1.0.0"', '"1.1.0"')),
    ("manifest edit: options", edit_text("zako.toml", "level = 1", "level = 2")),
    ("import-map edit: retarget a name", edit_text(IMPORT_MAP_NAME, "defs/config.json", "defs/config2.json")),
    (
        "import-map edit: retarget a prefix",
        steps(
            lambda root: shutil.copytree(_p(root, "defs"), _p(root, "defs2"), symlinks=True),
            edit_text("defs2/v1/flavor.ts", '"v1"', '"defs2 v1"'),
            edit_text(IMPORT_MAP_NAME, '"defs/"', '"defs2/"'),
        ),
    ),
    ("import-map edit: back", edit_text(IMPORT_MAP_NAME, '"defs2/"', '"defs/"')),
    ("same-size helper edit, old mtime restored", same_size_keep_mtime("defs/util.ts", '"util.ts"', '"UTIL.ts"')),
    ("same-size BUILD edit, old mtime restored", same_size_keep_mtime("pkgs/c/BUILD.ts", '"pick"', '"PICK"')),
    ("same-size JSON edit, old mtime restored", same_size_keep_mtime("defs/config2.json", "2", "7")),
    ("file replaced by a directory (mod.ts -> mod.ts/)", file_to_dir("defs/mod.ts", 'export const MOD = "mod.ts/index.ts";\n')),
    ("directory replaced by a file (mod.ts/ -> mod.ts)", steps(remove("defs/mod.ts"), add("defs/mod.ts", 'export const MOD = "mod.ts again";\n'))),
    ("helper gains an import", steps(
        add("defs/extra.ts", "export const EXTRA = 1;\n"),
        edit_text("defs/common.ts", "export function", 'import { EXTRA } from "./extra.ts";\nexport function'),
        edit_text("defs/common.ts", "common: 2", "common: 2, extra: EXTRA"),
    )),
    ("edit the new import", edit_text("defs/extra.ts", "= 1", "= 2")),
    ("symlink replaced by a real directory", steps(
        remove("defs/current"),
        add("defs/current/flavor.ts", 'export const FLAVOR = "real dir";\n'),
    )),
    ("package script edit", edit_text("zako.ts", "`node ${versions.node}`", "`node ${versions.node}!`")),
    ("new package", add("pkgs/e/BUILD.ts", 'import { target } from "zako:build";\nimport { MOD } from "../../defs/mod";\ntarget({ name: "e", kind: "x", attrs: { MOD } });\n')),
    ("BUILD.ts renamed to BUILD.js", steps(
        rename("pkgs/e/BUILD.ts", "pkgs/e/BUILD.js"),
        edit_text("pkgs/e/BUILD.js", 'kind: "x"', 'kind: "js"'),
    )),
    ("package removed", remove("pkgs/e")),
    ("a touch changes nothing", touch("defs/common.ts")),
]


# --- the differential run --------------------------------------------------------


def snapshot(result, interner) -> dict:
    out = result.to_json(interner)
    out.pop("stats", None)
    out["problems"] = [p.to_json() for p in result.problems]
    return out


def cli_json(capsys, *argv) -> dict:
    code = main(["load", *argv, "--json", "--quiet"])
    out, err = capsys.readouterr()
    assert code == 0, err
    data = json.loads(out)
    data.pop("stats", None)
    return data


def run_sequence(tmp_path, capsys, *, remote: str | None = None, fresh_local_every: int = 0) -> dict:
    root = make_tree(str(tmp_path / "tree"))
    reference = GlobalState(cache_dir=tmp_path / "unused-cache", jobs=2, timeout_s=10.0)
    cache_dirs = iter(range(10**6))
    current_dir = [""]

    def cached_state():
        current_dir[0] = str(tmp_path / f"cache-{next(cache_dirs)}")
        return GlobalState(cache_dir=current_dir[0], remote_cache=remote, jobs=2, timeout_s=10.0)

    cached = cached_state()
    counts = {"hits": 0, "evaluated": 0, "remote_hits": 0}
    try:
        want = snapshot(reference.load(root, use_cache=False, keep_going=True), reference.interner)
        got_result = cached.load(root, keep_going=True)
        assert snapshot(got_result, cached.interner) == want
        assert not want["problems"], want["problems"]
        for i, (what, edit) in enumerate(EDITS):
            edit(root)
            if fresh_local_every and i % fresh_local_every == fresh_local_every - 1:
                # An empty local cache: every hit of this step comes from the remote.
                cached.close()
                cached = cached_state()
            want = snapshot(reference.load(root, use_cache=False, keep_going=True), reference.interner)
            got_result = cached.load(root, keep_going=True)
            got = snapshot(got_result, cached.interner)
            assert got == want, f"step {i} ({what}): the cached load differs from --no-cache"
            assert not want["problems"], f"step {i} ({what}) broke the tree: {want['problems']}"
            counts["hits"] += got_result.stats["cache_hits"]
            counts["evaluated"] += got_result.stats["evaluated"]
            counts["remote_hits"] += got_result.stats.get("remote_hits", 0)
    finally:
        cached.close()
        reference.close()
    # The command itself, once, on the cache the sequence left behind.
    with_remote = ["--remote-cache", remote] if remote else []
    assert cli_json(capsys, root, "--cache-dir", current_dir[0], *with_remote) == cli_json(capsys, root, "--no-cache")
    return counts


def test_edit_kinds_are_many():
    assert len(EDITS) >= 30


def test_cached_load_equals_no_cache_after_every_edit(tmp_path, capsys):
    counts = run_sequence(tmp_path, capsys)
    # The cache really served results (a cache that never hits would pass the
    # comparison trivially): most scripts are untouched by most edits.
    assert counts["hits"] > 2 * len(EDITS), counts
    assert counts["evaluated"] > 0, counts


@pytest.fixture
def remote_url(nginx_server):  # noqa: F811
    return f"{nginx_server.url}/{uuid.uuid4().hex}"  # the session's server is shared


def test_cached_load_equals_no_cache_after_every_edit_with_a_remote(tmp_path, capsys, remote_url):
    counts = run_sequence(tmp_path, capsys, remote=remote_url, fresh_local_every=3)
    assert counts["remote_hits"] > len(EDITS) // 3, counts
    assert counts["hits"] > 2 * len(EDITS), counts


# --- a random walk over the resolution-changing edits ---------------------------------


def _toggle(rel, text):
    def run(root, rng):
        path = _p(root, rel)
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        elif os.path.lexists(path):
            os.unlink(path)
        else:
            write(root, rel, text)

    return run


def _to_dir(rel):
    def run(root, rng):
        path = _p(root, rel)
        if os.path.lexists(path) and not os.path.isdir(path):
            os.unlink(path)
        if not os.path.isdir(path):
            write(root, rel + "/index.ts", 'export const MOD = "dir";\nexport const UTIL = "dir";\n')

    return run


def _relink(rel, targets):
    def run(root, rng):
        path = _p(root, rel)
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        os.symlink(rng.choice(targets), path + ".tmp-link")
        os.replace(path + ".tmp-link", path)

    return run


def _rewrite(rel, make):
    def run(root, rng):
        if os.path.isfile(_p(root, rel)):
            write(root, rel, make(rng.randrange(3)))

    return run


def _import_map(root, rng):
    target = rng.choice(["config.json", "config2.json"])
    write(root, IMPORT_MAP_NAME, json.dumps({"imports": {"@defs/": "defs/", "@cfg": f"defs/{target}"}}))


RANDOM_EDITS = [
    _toggle("defs/mod.ts", 'export const MOD = "mod.ts";\n'),
    _toggle("defs/mod.js", 'export const MOD = "mod.js";\n'),
    _toggle("defs/mod/index.ts", 'export const MOD = "index";\n'),
    _toggle("defs/util.js", 'export const UTIL = "util.js";\n'),
    _to_dir("defs/mod.ts"),
    _to_dir("defs/util.js"),
    _relink("defs/current", ["v1", "v2", "nowhere"]),
    _relink("defs/chosen.ts", ["choices/a.ts", "choices/b.ts", "choices/none.ts"]),
    _rewrite("defs/mod.ts", lambda n: f'export const MOD = "mod.ts {n}";\n'),
    _rewrite("defs/util.ts", lambda n: f'export const UTIL = "util.ts {n}";\n'),
    _rewrite("defs/config.json", lambda n: f'{{"level": {n}}}\n'),
    _import_map,
    _toggle("pkgs/a/src/x.txt", "x\n"),
]


def _sorted_problems(snap: dict) -> dict:
    # Problems arrive in evaluation-completion order; only the set is compared.
    for key in ("problems", "errors"):
        if key in snap:
            snap[key] = sorted(snap[key], key=lambda p: json.dumps(p, sort_keys=True))
    return snap


@pytest.mark.parametrize("seed", [1, 2])
def test_random_walk_of_resolution_edits(tmp_path, seed):
    """Edits that break imports too: both loads must report the same problems."""
    import random

    rng = random.Random(seed)
    root = make_tree(str(tmp_path / "tree"))
    with GlobalState(cache_dir=tmp_path / "unused", jobs=2, timeout_s=10.0) as reference, \
            GlobalState(cache_dir=tmp_path / "cache", jobs=2, timeout_s=10.0) as cached:
        hits = 0
        for step in range(50):
            for _ in range(rng.randrange(1, 3)):
                rng.choice(RANDOM_EDITS)(root, rng)
            want = _sorted_problems(snapshot(reference.load(root, use_cache=False, keep_going=True), reference.interner))
            result = cached.load(root, keep_going=True)
            hits += result.stats["cache_hits"]
            assert _sorted_problems(snapshot(result, cached.interner)) == want, f"seed {seed} step {step}"
        assert hits > 50  # the cache served most scripts
