"""Results inline in their graph entries: a warm hit is one action-cache read
(one round trip to a remote), and the inline copy is verified like a blob --
a tampered inline result is a miss and one warning, never a wrong result.

Real servers: nginx (``tests/nginx_server.py``) and buildgrid
(``tests/buildgrid_server.py``); the entries are damaged where each server
keeps them (nginx's files, buildgrid through the REAPI client).
"""

from __future__ import annotations

import json
import logging
import os
import textwrap
import uuid

import pytest

from buildgrid_server import buildgrid  # noqa: F401  (pytest fixture)
from nginx_server import nginx_server  # noqa: F401  (pytest fixture)
from zako.global_state import GlobalState
from zako.project import cache_key
from zako.project.cache_key import INLINE_RESULT_MAX, KEY_SCHEMA

MANIFEST = 'group = "t"\nartifact = "t"\nversion = "1"\n'
LOG = "zako.project.load"
N = 4


def write(root, rel, text=""):
    path = os.path.join(str(root), *rel.split("/"))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(textwrap.dedent(text).lstrip("\n"))
    return path


def make_tree(root, *, salt: str = "", big: int = 0) -> str:
    """N packages (one importing a library); with ``big``, package p0 declares
    ``big`` targets (each adding the same number of bytes), so its result is
    that much larger. ``salt`` makes the
    keys unique on a shared server."""
    write(root, "zako.toml", MANIFEST)
    write(root, "lib/defs.ts", f'export const KIND = "k{salt}";\n')
    for i in range(N):
        count = big if (i == 0 and big) else 1
        write(root, f"p{i}/BUILD.ts", f"""
            import {{ target }} from "zako:build";
            import {{ KIND }} from "../lib/defs.ts";
            for (let j = 0; j < {count}; j++) target({{ name: "t{i}_" + String(j).padStart(5, "0"), kind: KIND + "{i}" }});
        """)
    return str(root)


def graph_of(state, root):
    result = state.load(root)
    return result, {p["path"]: p["targets"] for p in result.to_json(state.interner)["packages"]}


def graph_entries(ac_dir) -> dict[str, tuple[str, dict]]:
    """{script: (path, entry)} of every local graph entry."""
    out = {}
    for dirpath, _, names in os.walk(ac_dir):
        for name in names:
            path = os.path.join(dirpath, name)
            with open(path, "rb") as f:
                entry = json.loads(f.read())
            if "files" in entry:
                out[entry["script"]] = (path, entry)
    return out


def entry_warnings(caplog):
    return [r.getMessage() for r in caplog.records if r.name == LOG and "action-cache entry" in r.getMessage()]


def tamper(entry: dict) -> dict:
    """The entry with another well-formed result in place of its own (still
    valid JSON, same key, script and context: only the digest can tell)."""
    inline = dict(entry["inline"])
    payload = json.loads(inline["payload"])
    payload["targets"] = [{**t, "kind": "forged"} for t in payload["targets"]]
    inline["payload"] = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return {**entry, "inline": inline}


@pytest.fixture
def local_tree(tmp_path):
    root = make_tree(tmp_path / "tree")
    with GlobalState(cache_dir=tmp_path / "reference", jobs=2) as s:  # evaluated: the right answer
        _, want = graph_of(s, root)
    return root, want


# --- local ---------------------------------------------------------------------------


def test_graph_entries_carry_their_result_and_a_warm_load_reads_nothing_else(tmp_path, local_tree):
    root, want = local_tree
    cache = tmp_path / "cache"
    with GlobalState(cache_dir=cache, jobs=2) as s:
        graph_of(s, root)
    graphs = graph_entries(cache / "ac")
    assert len(graphs) == N  # one per package
    for _, entry in graphs.values():
        inline = entry["inline"]
        assert len(inline["result_key"]) == 64 and len(inline["blake3"]) == 64
        assert isinstance(json.loads(inline["payload"]), dict)
    # Without the result entries and blobs the warm load still hits everywhere.
    for dirpath, _, names in os.walk(cache / "ac"):
        for name in names:
            path = os.path.join(dirpath, name)
            if path not in {p for p, _ in graphs.values()}:
                os.unlink(path)
    for dirpath, _, names in os.walk(cache / "cas"):
        for name in names:
            os.unlink(os.path.join(dirpath, name))
    with GlobalState(cache_dir=cache, jobs=2) as s:
        result, got = graph_of(s, root)
    assert got == want and result.stats["evaluated"] == 0 and result.stats["cache_hits"] == N


def test_a_tampered_inline_result_is_a_miss_with_one_warning(tmp_path, local_tree, caplog):
    root, want = local_tree
    cache = tmp_path / "cache"
    with GlobalState(cache_dir=cache, jobs=2) as s:
        graph_of(s, root)
    path, entry = graph_entries(cache / "ac")["p1/BUILD.ts"]
    with open(path, "w") as f:
        json.dump(tamper(entry), f)
    with caplog.at_level(logging.WARNING, logger=LOG), GlobalState(cache_dir=cache, jobs=2) as s:
        result, got = graph_of(s, root)
    assert got == want  # never the forged targets
    assert result.stats["evaluated"] == 1
    warnings = entry_warnings(caplog)
    assert len(warnings) == 1 and entry["key"] in warnings[0] and "tampered" in warnings[0], warnings
    # the fresh evaluation replaced it
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger=LOG), GlobalState(cache_dir=cache, jobs=2) as s:
        result, got = graph_of(s, root)
    assert got == want and result.stats["evaluated"] == 0 and entry_warnings(caplog) == []


@pytest.mark.parametrize("damage", [
    lambda e: {**e, "inline": "not an object"},
    lambda e: {**e, "inline": {**e["inline"], "payload": 7}},
    lambda e: {**e, "inline": {**e["inline"], "payload": "[]", "blake3": cache_key.blake3(b"[]").hexdigest()}},
], ids=["not-an-object", "payload-not-text", "payload-not-a-result"])
def test_a_malformed_inline_result_is_a_miss_with_one_warning(tmp_path, local_tree, caplog, damage):
    root, want = local_tree
    cache = tmp_path / "cache"
    with GlobalState(cache_dir=cache, jobs=2) as s:
        graph_of(s, root)
    path, entry = graph_entries(cache / "ac")["p2/BUILD.ts"]
    with open(path, "w") as f:
        json.dump(damage(entry), f)
    with caplog.at_level(logging.WARNING, logger=LOG), GlobalState(cache_dir=cache, jobs=2) as s:
        result, got = graph_of(s, root)
    assert got == want and result.stats["evaluated"] == 1
    assert len(entry_warnings(caplog)) == 1


def test_an_inline_result_for_other_imports_falls_back_to_the_result_entry(tmp_path, local_tree, caplog):
    # The graph entry keeps the newest result only; an older one is still found
    # under its own result key (edit a library, load, edit it back).
    root, want = local_tree
    cache = tmp_path / "cache"
    with caplog.at_level(logging.WARNING, logger=LOG), GlobalState(cache_dir=cache, jobs=2) as s:
        graph_of(s, root)
        write(root, "lib/defs.ts", 'export const KIND = "other";\n')
        result, _ = graph_of(s, root)
        assert result.stats["evaluated"] == N  # every package imports the library
        write(root, "lib/defs.ts", 'export const KIND = "k";\n')
    with caplog.at_level(logging.WARNING, logger=LOG), GlobalState(cache_dir=cache, jobs=2) as s:
        result, got = graph_of(s, root)
    assert got == want and result.stats["evaluated"] == 0
    assert entry_warnings(caplog) == []


@pytest.mark.parametrize("delta, inlined", [(0, True), (-1, False)], ids=["at-limit", "one-over"])
def test_threshold_edge(tmp_path, monkeypatch, delta, inlined):
    root = make_tree(tmp_path / "tree")
    with GlobalState(cache_dir=tmp_path / "probe", jobs=2) as s:
        graph_of(s, root)
    size = len(graph_entries(tmp_path / "probe" / "ac")["p0/BUILD.ts"][1]["inline"]["payload"].encode())
    # A limit of exactly the payload's size inlines it; one byte less does not.
    monkeypatch.setenv("ZAKO_CACHE_INLINE_MAX", str(size + delta))
    cache = tmp_path / "cache"
    with GlobalState(cache_dir=cache, jobs=2) as s:
        _, want = graph_of(s, root)
    assert ("inline" in graph_entries(cache / "ac")["p0/BUILD.ts"][1]) is inlined
    with GlobalState(cache_dir=cache, jobs=2) as s:  # either way a warm hit
        result, got = graph_of(s, root)
    assert got == want and result.stats["evaluated"] == 0


def test_default_threshold_is_16_kib_and_a_bigger_result_takes_the_blob_path(tmp_path):
    assert INLINE_RESULT_MAX == 16 * 1024
    root = make_tree(tmp_path / "tree", big=200)
    cache = tmp_path / "cache"
    with GlobalState(cache_dir=cache, jobs=2) as s:
        _, want = graph_of(s, root)
    graphs = graph_entries(cache / "ac")
    assert "inline" not in graphs["p0/BUILD.ts"][1]  # 200 targets: over 16 KiB
    assert all("inline" in e for script, (_, e) in graphs.items() if script != "p0/BUILD.ts")
    with GlobalState(cache_dir=cache, jobs=2) as s:
        result, got = graph_of(s, root)
    assert got == want and result.stats["evaluated"] == 0


def test_entries_of_the_previous_format_are_misses_not_errors(tmp_path, local_tree, monkeypatch, caplog):
    root, want = local_tree
    cache = tmp_path / "cache"
    # What the previous release wrote: v2 keys, no inline results.
    monkeypatch.setattr(cache_key, "KEY_SCHEMA", "zako-load-v2")
    monkeypatch.setenv("ZAKO_CACHE_INLINE_MAX", "0")
    cache_key._head.cache_clear()
    try:
        with GlobalState(cache_dir=cache, jobs=2) as s:
            graph_of(s, root)
    finally:
        monkeypatch.undo()
        cache_key._head.cache_clear()
    assert KEY_SCHEMA == cache_key.KEY_SCHEMA == "zako-load-v3"
    assert all("inline" not in e for _, e in graph_entries(cache / "ac").values())
    with caplog.at_level(logging.WARNING), GlobalState(cache_dir=cache, jobs=2) as s:
        result, got = graph_of(s, root)
    assert got == want and result.stats["evaluated"] == N  # never looked up, never an error
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


# --- remotes ---------------------------------------------------------------------------


def test_http_remote_hit_is_one_request_per_script(tmp_path, nginx_server, caplog):  # noqa: F811
    prefix = uuid.uuid4().hex
    url, data_dir = f"{nginx_server.url}/{prefix}", nginx_server.data_dir / prefix
    root = make_tree(tmp_path / "tree", salt=prefix[:8])
    with GlobalState(cache_dir=tmp_path / "a", jobs=2, remote_cache=url) as s:
        _, want = graph_of(s, root)
    with GlobalState(cache_dir=tmp_path / "b", jobs=2, remote_cache=url) as s:
        result, got = graph_of(s, root)
    assert got == want and result.stats["evaluated"] == 0
    assert result.stats["remote_hits"] == N  # the graph entry only: no result entry, no blob
    # Without the pack (test_remote_pack.py), entries are read one by one.
    (data_dir / "ac" / result.stats["remote_pack"]["key"]).unlink()
    # Tamper one entry on the server: the next machine evaluates that script, warns once.
    graphs = {}
    for name in os.listdir(data_dir / "ac"):
        entry = json.loads((data_dir / "ac" / name).read_bytes())
        if "files" in entry:
            graphs[entry["script"]] = name, entry
    name, entry = graphs["p3/BUILD.ts"]
    (data_dir / "ac" / name).write_text(json.dumps(tamper(entry)))
    with caplog.at_level(logging.WARNING, logger=LOG), GlobalState(cache_dir=tmp_path / "c", jobs=2,
                                                                   remote_cache=url) as s:
        result, got = graph_of(s, root)
    assert got == want and result.stats["evaluated"] == 1
    warnings = entry_warnings(caplog)
    assert len(warnings) == 1 and name in warnings[0] and "tampered" in warnings[0], warnings


def _reapi(url: str):
    from zako.cas.reapi.client import ReapiCas

    return ReapiCas(url, timeout=10.0)


def test_grpc_remote_hit_is_one_call_and_tampering_is_a_miss(tmp_path, buildgrid, caplog):  # noqa: F811
    pytest.importorskip("grpc", reason="the zako[grpc] extra is not installed")
    salt = uuid.uuid4().hex[:8]
    root = make_tree(tmp_path / "tree", salt=salt)
    with GlobalState(cache_dir=tmp_path / "a", jobs=2, remote_cache=buildgrid.url) as s:
        _, want = graph_of(s, root)
    graphs = graph_entries(tmp_path / "a" / "ac")
    with GlobalState(cache_dir=tmp_path / "b", jobs=2, remote_cache=buildgrid.url) as s:
        result, got = graph_of(s, root)
    assert got == want and result.stats["evaluated"] == 0 and result.stats["remote_hits"] == N
    assert not os.path.isdir(tmp_path / "b" / "cas") or not any(
        names for _, _, names in os.walk(tmp_path / "b" / "cas"))  # no blob was fetched
    # Replace one entry on the server with a tampered copy (same key), and
    # the pack's pointer with one naming no pack: entries are read one by one.
    _, entry = graphs["p1/BUILD.ts"]
    with _reapi(buildgrid.url) as client:
        client.ac_put(result.stats["remote_pack"]["key"], b'{"schema":"none"}')
        assert json.loads(client.ac_get(entry["key"])) == entry
        client.ac_put(entry["key"], json.dumps(tamper(entry)).encode())
    with caplog.at_level(logging.WARNING, logger=LOG), GlobalState(cache_dir=tmp_path / "c", jobs=2,
                                                                   remote_cache=buildgrid.url) as s:
        result, got = graph_of(s, root)
    assert got == want and result.stats["evaluated"] == 1
    warnings = entry_warnings(caplog)
    assert len(warnings) == 1 and entry["key"] in warnings[0] and "tampered" in warnings[0], warnings


def test_grpc_remote_keeps_a_result_at_the_limit_inline_and_one_over_on_the_blob_path(tmp_path, buildgrid):  # noqa: F811
    pytest.importorskip("grpc", reason="the zako[grpc] extra is not installed")
    salt = uuid.uuid4().hex[:8]
    # Each target adds the same bytes: two sizes give the count closest to 16 KiB from below.
    sizes = []
    for n in (100, 101):
        root = make_tree(tmp_path / f"probe-tree-{n}", salt=salt, big=n)
        with GlobalState(cache_dir=tmp_path / f"probe-{n}", jobs=2) as s:
            graph_of(s, root)
        sizes.append(len(graph_entries(tmp_path / f"probe-{n}" / "ac")["p0/BUILD.ts"][1]["inline"]["payload"]))
    step = sizes[1] - sizes[0]
    targets = 100 + (INLINE_RESULT_MAX - sizes[0]) // step
    root = make_tree(tmp_path / "tree2", salt=salt, big=targets)
    with GlobalState(cache_dir=tmp_path / "a", jobs=2, remote_cache=buildgrid.url) as s:
        _, want = graph_of(s, root)
    payload = graph_entries(tmp_path / "a" / "ac")["p0/BUILD.ts"][1]["inline"]["payload"]
    assert INLINE_RESULT_MAX - step < len(payload) <= INLINE_RESULT_MAX
    with GlobalState(cache_dir=tmp_path / "b", jobs=2, remote_cache=buildgrid.url) as s:
        result, got = graph_of(s, root)
    assert got == want and result.stats["evaluated"] == 0 and result.stats["remote_hits"] == N
    # One target more: over the limit, so graph entry, result entry and blob.
    root = make_tree(tmp_path / "tree3", salt=salt, big=targets + 1)
    with GlobalState(cache_dir=tmp_path / "c", jobs=2, remote_cache=buildgrid.url) as s:
        _, want = graph_of(s, root)
    assert "inline" not in graph_entries(tmp_path / "c" / "ac")["p0/BUILD.ts"][1]
    with GlobalState(cache_dir=tmp_path / "d", jobs=2, remote_cache=buildgrid.url) as s:
        result, got = graph_of(s, root)
    assert got == want and result.stats["evaluated"] == 0
    assert result.stats["remote_hits"] == N + 1  # p0: its graph entry and its result entry
