"""HttpCas against a real nginx WebDAV server on loopback."""

from __future__ import annotations

import os
import random
import threading

import pytest

from nginx_server import nginx_cas_url, nginx_server  # noqa: F401  (pytest fixtures)
from zako.cas import (BlobNotFoundError, BlobRange, CasStore, Digest, DigestMismatchError,
                      HttpCas, LocalCas, MemoryCache, RangeError, RemoteCasError)


def data_of(n: int, seed: int = 0) -> bytes:
    return random.Random(seed).randbytes(n)


@pytest.fixture
def remote(nginx_cas_url):
    cas = HttpCas(nginx_cas_url, timeout=10)
    yield cas
    cas.close()


def stored_path(server, digest: Digest):
    return server.data_dir / "cas" / digest.hex


@pytest.mark.parametrize("size", [0, 1, 4096, 64 * 1024 + 1])
def test_put_get_head_roundtrip(remote, nginx_server, size):
    data = data_of(size, size + 100)
    d = Digest.of_bytes(data)
    assert remote.check(d) is None and not remote.contains(d)
    assert remote.store(d, data) == d
    assert stored_path(nginx_server, d).read_bytes() == data  # really on the server
    assert remote.contains(d) and remote.check(d) == size
    assert remote.read_bytes(d) == data
    with remote.fetch(d) as f:
        assert f.read() == data


def test_64_mib_roundtrip_streamed(remote, tmp_path):
    data = os.urandom(1 << 20) * 64
    src = tmp_path / "big"
    src.write_bytes(data)
    d = remote.store_file(src)
    assert d == Digest.of_bytes(data)
    local = LocalCas(tmp_path / "local")
    with remote.fetch(d) as f:
        assert local.store_stream(f, expected=d) == d
    assert local.read_bytes(d) == data


def test_range_requests(remote):
    data = data_of(100_000, 1)
    d = remote.store(Digest.of_bytes(data), data)
    for r in (BlobRange(0, 1), BlobRange(99_999), BlobRange(99_999, 1), BlobRange(100_000),
              BlobRange(12_345, 54_321), BlobRange(50_000)):
        end = len(data) if r.length is None else r.start + r.length
        assert remote.read_bytes(d, r) == data[r.start:end], r
    with pytest.raises(RangeError) as info:
        remote.read_bytes(d, BlobRange(99_999, 2))
    assert str(d) in str(info.value) and "100000" in str(info.value)


def test_missing_blob(remote):
    d = Digest.of_bytes(b"never uploaded")
    with pytest.raises(BlobNotFoundError):
        remote.read_bytes(d)
    with pytest.raises(BlobNotFoundError):
        remote.read_bytes(d, BlobRange(1, 2))
    assert remote.delete(d) is False


def test_store_rejects_mismatched_digest(remote):
    d = Digest.of_bytes(b"claimed")
    with pytest.raises(DigestMismatchError):
        remote.store(d, b"actual")
    assert not remote.contains(d)


def test_tampered_body_raises_digest_mismatch(remote, nginx_server):
    data = data_of(50_000, 2)
    d = remote.store(Digest.of_bytes(data), data)
    path = stored_path(nginx_server, d)
    bad = bytearray(data)
    bad[25_000] ^= 0x55
    path.write_bytes(bytes(bad))  # same size, other bytes: only the hash can tell
    with pytest.raises(DigestMismatchError) as info:
        remote.read_bytes(d)
    assert str(d) in str(info.value)
    # Shorter body: caught from the length before any bytes are returned.
    path.write_bytes(data[:-1])
    with pytest.raises(DigestMismatchError):
        remote.read_bytes(d)
    # The connection is still usable afterwards.
    other = remote.store(Digest.of_bytes(b"after"), b"after")
    assert remote.read_bytes(other) == b"after"


def test_tampered_remote_never_reaches_local_store(remote, nginx_server, tmp_path):
    data = data_of(30_000, 3)
    d = remote.store(Digest.of_bytes(data), data)
    stored_path(nginx_server, d).write_bytes(data[::-1])
    s = CasStore(LocalCas(tmp_path), remote=remote)
    with pytest.raises(DigestMismatchError):
        s.read(d)
    assert not s.local.contains(d)
    assert list(tmp_path.rglob(".tmp-*")) == []


def test_casstore_uploads_and_reads_through_remote(nginx_cas_url, tmp_path):
    with HttpCas(nginx_cas_url) as remote:
        writer = CasStore(LocalCas(tmp_path / "a"), remote=remote)
        handles = [writer.put_bytes(data_of(n, n + 7)) for n in (0, 3, 4097, 200_000)]
        src = tmp_path / "file"
        src.write_bytes(data_of(1 << 20, 11))
        handles.append(writer.put_file(src))
        writer.close()
        # Another machine: empty local store, same remote.
        reader = CasStore(LocalCas(tmp_path / "b"), remote=remote, cache=MemoryCache(1 << 20))
        for h in handles:
            assert reader.read(h.digest) == h.read(writer)
        reader.flush()  # local copies of small remote hits are written in the background
        for h in handles:
            assert reader.local.contains(h.digest)
        assert reader.read(handles[-1].digest, BlobRange(5, 5)) == data_of(1 << 20, 11)[5:10]


def test_many_threads_share_one_client(remote):
    blobs = [data_of(1000 + i, i) for i in range(40)]
    errors = []

    def work(chunk):
        try:
            for data in chunk:
                d = remote.store(Digest.of_bytes(data), data)
                assert remote.read_bytes(d) == data
                assert remote.read_bytes(d, BlobRange(1, 10)) == data[1:11]
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(blobs[i::4],)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_partially_read_stream_does_not_break_the_connection(remote):
    data = data_of(500_000, 4)
    d = remote.store(Digest.of_bytes(data), data)
    with remote.fetch(d) as f:
        assert f.read(10) == data[:10]
    assert remote.read_bytes(d, BlobRange(10, 10)) == data[10:20]


def test_action_cache(remote, nginx_server):
    assert remote.ac_get("missing-key") is None
    remote.ac_put("target //pkg:lib", b'{"ok": true}')
    assert remote.ac_get("target //pkg:lib") == b'{"ok": true}'
    assert "target //pkg:lib" in remote.ac
    remote.ac.put(b"raw-key", b"v2")
    assert remote.ac.get(b"raw-key") == b"v2"
    d = Digest.of_bytes(b"action")
    remote.ac_put(d, b"result")
    assert (nginx_server.data_dir / "ac" / d.hex).read_bytes() == b"result"
    remote.ac_put(d, b"replaced")
    assert remote.ac_get(d) == b"replaced"


def test_unreachable_server_raises_remote_error():
    with HttpCas("http://127.0.0.1:9", timeout=2) as cas:  # discard port: nothing listens
        with pytest.raises(RemoteCasError) as info:
            cas.contains(Digest.of_bytes(b"x"))
        assert "127.0.0.1:9" in str(info.value)


def test_bad_base_url():
    with pytest.raises(ValueError):
        HttpCas("ftp://example.invalid/")


_PROBE = """
from nginx_server import nginx_cas_url  # noqa: F401

def test_probe(nginx_cas_url):
    assert nginx_cas_url
"""


@pytest.mark.parametrize("ci,outcome", [("true", "failed"), ("", "skipped")])
def test_unavailable_server_fails_under_ci_and_skips_otherwise(tmp_path, ci, outcome):
    import subprocess
    import sys
    from pathlib import Path

    tests_dir = Path(__file__).resolve().parent
    (tmp_path / "test_probe.py").write_text(_PROBE)
    env = dict(os.environ, CI=ci, ZAKO_NGINX=str(tmp_path / "no-nginx"),
               PYTHONPATH=os.pathsep.join([str(tests_dir), str(tests_dir.parent)]))
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "-rs", str(tmp_path / "test_probe.py")],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    summary = proc.stdout.strip().splitlines()[-1]
    assert f"1 {'error' if outcome == 'failed' else outcome}" in summary, proc.stdout
    assert (proc.returncode != 0) == (outcome == "failed")


def test_dropped_keepalive_connection_is_replaced(remote):
    import socket

    data = b"keep-alive"
    d = remote.store(Digest.of_bytes(data), data)
    pooled = [c for c, _since in remote._pool._idle if c.sock is not None]
    assert pooled  # a kept-alive connection waits in the pool
    for conn in pooled:
        conn.sock.shutdown(socket.SHUT_RDWR)  # as a server closing an idle connection would
    assert remote.read_bytes(d) == data  # taken at once: the failed first use is retried
    assert remote.health.failures == 0
    for conn in [c for c, _since in remote._pool._idle]:
        conn.sock.shutdown(socket.SHUT_RDWR)
    remote._pool._idle[:] = [(c, 0.0) for c, _since in remote._pool._idle]  # idle long enough to be checked
    assert remote.read_bytes(d) == data  # dropped when taken, never sent on
    assert remote.health.failures == 0
