"""Action-cache packs (``zako.project.pack``): a machine with an empty local
cache reads a project's remote entries in two requests, and an entry from a
pack is trusted exactly as much as the same entry read on its own.

Real servers: nginx (the pack is a ``/cas/`` blob named by an ``/ac/``
pointer; the tests rewrite them where nginx keeps them) and buildgrid
(SHA-256 digests; the pack read through the REAPI client).
"""

from __future__ import annotations

import json
import logging
import os
import uuid
import zlib

import pytest

from buildgrid_server import ReapiProxy, buildgrid  # noqa: F401  (pytest fixture)
from fault_server import FaultServer
from nginx_server import nginx_server  # noqa: F401  (pytest fixture)
from test_cache_inline import LOG, N, entry_warnings, graph_of, make_tree, tamper, write
from zako.cas import Digest
from zako.global_state import GlobalState
from zako.project import pack
from zako.project.pack import PACK_SCHEMA, decode_pack, encode_pack


def _server(nginx_server):  # noqa: F811
    prefix = uuid.uuid4().hex
    return f"{nginx_server.url}/{prefix}", nginx_server.data_dir / prefix


def _only_the_pointer_left(data_dir, key):
    """Drop every entry the server holds one by one, keeping the pack's pointer."""
    for name in os.listdir(data_dir / "ac"):
        if name != key:
            (data_dir / "ac" / name).unlink()


def _read_pack(data_dir, key) -> tuple[dict, dict[str, bytes]]:
    pointer = json.loads((data_dir / "ac" / key).read_bytes())
    digest = Digest.parse(pointer["pack"])
    return pointer, decode_pack((data_dir / "cas" / digest.hex).read_bytes())


def _write_pack(data_dir, key, entries: dict[str, bytes]) -> None:
    blob, count = encode_pack(entries)
    digest = Digest.of_bytes(blob)
    (data_dir / "cas" / digest.hex).write_bytes(blob)
    (data_dir / "ac" / key).write_bytes(pack.encode_pointer(key, str(digest), count))


def test_second_machine_reads_the_pack_in_two_requests(tmp_path, nginx_server):  # noqa: F811
    url, data_dir = _server(nginx_server)
    root = make_tree(tmp_path / "tree", salt=url[-8:])
    with GlobalState(cache_dir=tmp_path / "a", jobs=2, remote_cache=url) as s:
        first, want = graph_of(s, root)
    key = first.stats["remote_pack"]["key"]
    assert first.stats["remote_pack"]["entries"] == 0  # nothing to read yet
    pointer, entries = _read_pack(data_dir, key)
    assert pointer["entries"] == len(entries) == N  # every graph entry (results inline)
    _only_the_pointer_left(data_dir, key)
    with FaultServer(nginx_server.url, lifetime_s=60) as proxy:
        proxied = f"{proxy.url}/{url.rsplit('/', 1)[1]}"
        with GlobalState(cache_dir=tmp_path / "b", jobs=2, remote_cache=proxied) as s:
            result, got = graph_of(s, root)
        requests = proxy.requests
    assert got == want and result.stats["evaluated"] == 0
    assert result.stats["remote_hits"] == N and result.stats["remote_pack"]["entries"] == N
    assert requests == 2, requests  # the pointer and the pack; nothing one by one, nothing published


def test_a_tampered_entry_in_the_pack_is_a_miss_not_a_wrong_result(tmp_path, nginx_server, caplog):  # noqa: F811
    url, data_dir = _server(nginx_server)
    root = make_tree(tmp_path / "tree", salt=url[-8:])
    with GlobalState(cache_dir=tmp_path / "a", jobs=2, remote_cache=url) as s:
        first, want = graph_of(s, root)
    key = first.stats["remote_pack"]["key"]
    _, entries = _read_pack(data_dir, key)
    victim = next(k for k, v in entries.items() if json.loads(v)["script"] == "p2/BUILD.ts")
    entries[victim] = json.dumps(tamper(json.loads(entries[victim]))).encode()
    _write_pack(data_dir, key, entries)
    _only_the_pointer_left(data_dir, key)
    with caplog.at_level(logging.WARNING, logger=LOG), GlobalState(cache_dir=tmp_path / "b", jobs=2,
                                                                   remote_cache=url) as s:
        result, got = graph_of(s, root)
    assert got == want and result.stats["evaluated"] == 1
    warnings = entry_warnings(caplog)
    assert len(warnings) == 1 and victim in warnings[0] and "tampered" in warnings[0], warnings


def test_an_entry_filed_under_another_key_in_the_pack_is_a_miss(tmp_path, nginx_server, caplog):  # noqa: F811
    # The pack maps keys to entries; an entry moved to another script's key
    # (well-formed, honest about its own key) must not answer that script.
    url, data_dir = _server(nginx_server)
    root = make_tree(tmp_path / "tree", salt=url[-8:])
    with GlobalState(cache_dir=tmp_path / "a", jobs=2, remote_cache=url) as s:
        first, want = graph_of(s, root)
    key = first.stats["remote_pack"]["key"]
    _, entries = _read_pack(data_dir, key)
    by_script = {json.loads(v)["script"]: k for k, v in entries.items()}
    entries[by_script["p1/BUILD.ts"]] = entries[by_script["p0/BUILD.ts"]]
    _write_pack(data_dir, key, entries)
    _only_the_pointer_left(data_dir, key)
    with caplog.at_level(logging.WARNING, logger=LOG), GlobalState(cache_dir=tmp_path / "b", jobs=2,
                                                                   remote_cache=url) as s:
        result, got = graph_of(s, root)
    assert got == want and result.stats["evaluated"] == 1
    assert len(entry_warnings(caplog)) == 1


def test_a_damaged_pack_is_ignored_and_entries_are_read_one_by_one(tmp_path, nginx_server):  # noqa: F811
    url, data_dir = _server(nginx_server)
    root = make_tree(tmp_path / "tree", salt=url[-8:])
    with GlobalState(cache_dir=tmp_path / "a", jobs=2, remote_cache=url) as s:
        first, want = graph_of(s, root)
    key = first.stats["remote_pack"]["key"]
    digest = Digest.parse(json.loads((data_dir / "ac" / key).read_bytes())["pack"])
    blob = bytearray((data_dir / "cas" / digest.hex).read_bytes())
    blob[len(blob) // 2] ^= 0xFF  # same name, other bytes: the digest check refuses it
    (data_dir / "cas" / digest.hex).write_bytes(bytes(blob))
    with GlobalState(cache_dir=tmp_path / "b", jobs=2, remote_cache=url) as s:
        result, got = graph_of(s, root)
    # The damaged read counts against the remote (it may be skipped for a
    # moment after): each script was read on its own or evaluated.
    assert got == want and result.stats["remote_pack"]["entries"] == 0
    assert result.stats["remote_hits"] + result.stats["evaluated"] == N and result.stats["remote_hits"] > 0


def test_publishing_merges_with_the_pack_read(tmp_path, nginx_server):  # noqa: F811
    url, data_dir = _server(nginx_server)
    root = make_tree(tmp_path / "tree", salt=url[-8:])
    build = os.path.join(root, "p1", "BUILD.ts")
    with open(build) as f:
        original = f.read()
    with GlobalState(cache_dir=tmp_path / "a", jobs=2, remote_cache=url) as s:
        first, want = graph_of(s, root)
    key = first.stats["remote_pack"]["key"]
    # Machine B works on an edited p1: it reads machine A's pack, evaluates
    # p1 only, and publishes a pack holding both versions of p1's entry.
    write(root, "p1/BUILD.ts", original + "// edited on machine B\n")
    with GlobalState(cache_dir=tmp_path / "b", jobs=2, remote_cache=url) as s:
        second, _ = graph_of(s, root)
    assert second.stats["evaluated"] == 1 and second.stats["remote_pack"]["entries"] == N
    _, entries = _read_pack(data_dir, key)
    assert len(entries) == N + 1
    # Machine C, back on A's version, with only the pack on the server.
    write(root, "p1/BUILD.ts", original)
    _only_the_pointer_left(data_dir, key)
    with GlobalState(cache_dir=tmp_path / "c", jobs=2, remote_cache=url) as s:
        third, got = graph_of(s, root)
    assert got == want and third.stats["evaluated"] == 0


def test_grpc_second_machine_reads_the_pack(tmp_path, buildgrid):  # noqa: F811
    pytest.importorskip("grpc", reason="the zako[grpc] extra is not installed")
    root = make_tree(tmp_path / "tree", salt=uuid.uuid4().hex[:8])
    with GlobalState(cache_dir=tmp_path / "a", jobs=2, remote_cache=buildgrid.url) as s:
        _, want = graph_of(s, root)
    with ReapiProxy(buildgrid.target, "none") as proxy:
        with GlobalState(cache_dir=tmp_path / "b", jobs=2, remote_cache=proxy.url) as s:
            result, got = graph_of(s, root)
        calls = proxy.calls
    assert got == want and result.stats["evaluated"] == 0
    assert result.stats["remote_hits"] == N and result.stats["remote_pack"]["entries"] == N
    assert calls <= 3, calls  # capabilities, the pointer, the pack


# --- the blob format ---------------------------------------------------------------------


def test_pack_round_trip_keeps_first_entries_then_others():
    first = {"a" * 64: b'{"x":1}', "b" * 64: b'{"x":2}'}
    older = {"b" * 64: b'{"x":"old"}', "c" * 64: b'{"x":3}'}
    blob, count = encode_pack(first, older)
    assert count == 3
    assert decode_pack(blob) == {"a" * 64: b'{"x":1}', "b" * 64: b'{"x":2}', "c" * 64: b'{"x":3}'}


def test_pack_size_is_capped(monkeypatch):
    monkeypatch.setattr(pack, "PACK_MAX_BYTES", 1000)
    entries = {f"{i:064x}": b"x" * 100 for i in range(50)}
    blob, count = encode_pack(entries)
    assert 0 < count < 50 and len(decode_pack(blob)) == count


@pytest.mark.parametrize("blob", [
    b"",
    b"not zlib at all",
    zlib.compress(b"[1, 2]"),
    zlib.compress(json.dumps({"schema": "zako.ac-pack/0", "entries": {}}).encode()),
    zlib.compress(b"\xff\xfe"),
])
def test_what_is_not_a_pack_is_refused(blob):
    with pytest.raises(ValueError):
        decode_pack(blob)


def test_a_pack_keeps_only_well_formed_keys():
    doc = {"schema": PACK_SCHEMA, "entries": {"a" * 64: "{}", "../../etc": "{}", "B" * 64: "{}", "c" * 64: 5}}
    assert decode_pack(zlib.compress(json.dumps(doc).encode())) == {"a" * 64: b"{}"}


def test_a_pack_that_inflates_past_its_limit_is_refused(monkeypatch):
    monkeypatch.setattr(pack, "_MAX_INFLATED", 1 << 16)
    with pytest.raises(ValueError, match="limit"):
        decode_pack(zlib.compress(b" " * (1 << 20)))
