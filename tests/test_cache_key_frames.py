"""The keys are the digests they always were: the framing done in one
buffer (with its constant head framed once) hashes the same bytes as
hashing part by part, so caches filled before stay valid; and the
descriptor-level file read gives what ``open(...).read()`` gives."""

from __future__ import annotations

import os

import pytest
from blake3 import blake3
from hypothesis import given, settings, strategies as st

from zako._version import __version__
from zako.project import cache_key
from zako.project.cache_key import KEY_SCHEMA, FileDigests, evaluator_digest, graph_key, result_key


def _reference_h(*parts: str) -> str:
    # The original definition: one update per length and per part.
    h = blake3()
    for part in parts:
        data = part.encode("utf-8")
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)
    return h.hexdigest()


def _reference_graph_key(script, sd, ctx, im=""):
    return _reference_h(KEY_SCHEMA, "graph", __version__, evaluator_digest(), ctx, script, sd, im)


def _reference_result_key(script, sd, ctx, imports, manifest, inputs, probes=(), im=""):
    parts = [KEY_SCHEMA, "result", __version__, evaluator_digest(), ctx, script, sd, manifest, im, inputs, str(len(imports))]
    for path, digest in imports:
        parts += [path, digest]
    parts.append(str(len(probes)))
    for path, seen in probes:
        parts += [path, seen]
    return _reference_h(*parts)


_s = st.text(max_size=20)
_pairs = st.lists(st.tuples(_s, _s), max_size=5)


@settings(max_examples=300, deadline=None)
@given(_s, _s, _s, _pairs, _s, _s, _pairs, _s)
def test_keys_equal_the_part_by_part_digest(script, sd, ctx, imports, manifest, inputs, probes, im):
    assert graph_key(script, sd, ctx, im) == _reference_graph_key(script, sd, ctx, im)
    assert result_key(script, sd, ctx, imports, manifest, inputs, probes, im) == \
        _reference_result_key(script, sd, ctx, imports, manifest, inputs, probes, im)
    assert cache_key._h(script, sd, ctx) == _reference_h(script, sd, ctx)


def test_parts_are_framed_not_concatenated():
    assert graph_key("ab", "c", "build") != graph_key("a", "bc", "build")
    assert result_key("s", "d", "build", [("a", "b")], "m", "i") != result_key("s", "d", "build", [], "m", "i", [("a", "b")])


@pytest.mark.parametrize("size", [0, 1, 4095, 4096, 65536, (1 << 20) + 3, 3 * (1 << 20)])
def test_read_file_equals_open_read(tmp_path, size):
    path = tmp_path / "f"
    data = os.urandom(size)
    path.write_bytes(data)
    assert cache_key._read_file(str(path)) == data
    digests = FileDigests(str(tmp_path))
    assert digests.digest("f") == blake3(data).hexdigest()


def test_read_file_errors_are_opens(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "f").write_text("x")
    for rel, exc in [("missing", FileNotFoundError), ("d", IsADirectoryError), ("f/x", NotADirectoryError)]:
        with pytest.raises(exc):
            open(tmp_path / rel, "rb").read()
        with pytest.raises(exc):
            cache_key._read_file(str(tmp_path / rel))
    digests = FileDigests(str(tmp_path))
    assert [digests.digest(r) for r in ("missing", "d", "f/x")] == [None, None, None]


def test_read_file_of_a_file_reporting_no_size():
    # /proc files report size 0 yet have content: read to the end regardless.
    if not os.path.exists("/proc/self/status"):
        pytest.skip("no /proc")
    data = cache_key._read_file("/proc/self/status")
    assert data.startswith(b"Name:") and data.endswith(b"\n")


def test_known_directories_give_the_observations_of_a_fresh_walk(tmp_path):
    from zako.project.discovery import discover

    root = tmp_path / "proj"
    (root / "a" / "b").mkdir(parents=True)
    (root / "real").mkdir()
    (root / "zako.toml").write_text('group = "g"\nartifact = "a"\nversion = "1.0.0"\n')
    for d in ("a", "a/b", "real"):
        (root / d / "BUILD.ts").write_text("")
    os.symlink("real", root / "link")  # a linked directory: discovery does not enter it
    (root / "a" / "f.ts").write_text("")
    os.symlink("../real/BUILD.ts", root / "a" / "alias.ts")
    probes = ["a/BUILD.ts", "a/b/BUILD.ts", "real/BUILD.ts", "link/BUILD.ts", "a/alias.ts", "a/none.ts", "a/b", "."]
    (root / "lb").mkdir()
    os.symlink("../real/BUILD.ts", root / "lb" / "BUILD.ts")  # a linked build file
    probes += ["lb/BUILD.ts", "lb"]
    plain = FileDigests(str(root))
    seeded = FileDigests(str(root))
    layout = discover(str(root))
    assert {p.path: p.build_file_plain for p in layout.packages} == {"a": True, "a/b": True, "real": True, "lb": False}
    seeded.known_directories(p.path for p in layout.packages)
    seeded.known_plain_files(p.build_file for p in layout.packages if p.build_file_plain)
    assert [seeded.observe(p) for p in probes] == [plain.observe(p) for p in probes]
    assert seeded.observe("link/BUILD.ts") == "file:real/BUILD.ts"
    assert seeded.observe("lb/BUILD.ts") == "file:real/BUILD.ts"


def test_known_files_of_a_root_package_and_a_linked_root(tmp_path):
    from zako.project.discovery import discover

    real = tmp_path / "real"
    real.mkdir()
    (real / "zako.toml").write_text('group = "g"\nartifact = "a"\nversion = "1.0.0"\n')
    (real / "BUILD.ts").write_text("")
    (real / "p").mkdir()
    (real / "p" / "BUILD.js").write_text("")
    os.symlink(real, tmp_path / "via")  # the project opened through a linked root
    for root in (real, tmp_path / "via"):
        layout = discover(str(root))
        seeded, plain = FileDigests(str(root)), FileDigests(str(root))
        seeded.known_directories(p.path for p in layout.packages)
        seeded.known_plain_files(p.build_file for p in layout.packages if p.build_file_plain)
        assert [seeded.observe(p.build_file) for p in layout.packages] == \
            [plain.observe(p.build_file) for p in layout.packages] == ["file:BUILD.ts", "file:p/BUILD.js"]
