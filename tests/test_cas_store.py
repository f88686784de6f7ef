"""CasStore and BlobHandle: round trips, lookup order, inlining, uploads, serialization."""

from __future__ import annotations

import io
import json
import os
import pickle
import random
import threading
import tracemalloc

import pytest

from zako.cas import (BlobHandle, BlobNotFoundError, BlobRange, CasError, CasStore,
                      CorruptBlobError, Digest, DigestMismatchError, InvalidDigestError,
                      LocalCas, MemoryCache, RangeError, RemoteCasError)


def data_of(n: int, seed: int = 0) -> bytes:
    return random.Random(seed).randbytes(n)


class CountingLocal(LocalCas):
    """A LocalCas that counts every read-side call reaching it."""

    def __init__(self, root) -> None:
        super().__init__(root)
        self.calls = 0

    def fetch(self, digest, range=BlobRange()):
        self.calls += 1
        return super().fetch(digest, range)

    def _read_small(self, digest):  # read_bytes' one-read path for small whole blobs
        self.calls += 1
        return super()._read_small(digest)

    def check(self, digest):
        self.calls += 1
        return super().check(digest)


class CountingStore:
    """Wraps a store and counts every read through it."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.calls = 0

    def read(self, digest, range=BlobRange()):
        self.calls += 1
        return self.inner.read(digest, range)

    def open(self, digest, range=BlobRange()):
        self.calls += 1
        return self.inner.open(digest, range)


@pytest.fixture
def store(tmp_path) -> CasStore:
    return CasStore(LocalCas(tmp_path / "local"), cache=MemoryCache(1 << 20))


@pytest.mark.parametrize("size", [0, 1, 4096, 64 * 1024 + 1])
@pytest.mark.parametrize("with_cache", [True, False])
def test_put_bytes_read_roundtrip(tmp_path, size, with_cache):
    s = CasStore(LocalCas(tmp_path), cache=MemoryCache(1 << 20) if with_cache else None)
    data = data_of(size, size)
    h = s.put_bytes(data)
    assert h.digest == Digest.of_bytes(data)
    assert h.is_inlined == (size <= 4096)
    assert s.read(h.digest) == data
    assert h.read(s) == data
    with s.open(h.digest) as f:
        assert f.read() == data
    assert s.local.contains(h.digest)  # inlined blobs are persisted too
    assert s.contains(h.digest)


def test_roundtrip_64_mib_put_file_and_bytes(tmp_path):
    s = CasStore(tmp_path / "cas", cache=MemoryCache(1 << 20))
    data = os.urandom(1 << 20) * 64
    src = tmp_path / "src.bin"
    src.write_bytes(data)
    h = s.put_file(src)
    assert not h.is_inlined and h.digest == Digest.of_bytes(data)
    assert s.read(h.digest) == data
    assert s.read(h.digest, BlobRange(len(data) - 3)) == data[-3:]
    assert s.put_bytes(data) == h


def test_put_file_streams_without_holding_the_file(tmp_path):
    s = CasStore(tmp_path / "cas")
    src = tmp_path / "src.bin"
    with open(src, "wb") as f:
        for i in range(32):
            f.write(random.Random(i).randbytes(1 << 20))
    tracemalloc.start()
    try:
        h = s.put_file(src)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20, f"put_file of 32 MiB peaked at {peak} traced bytes"
    assert s.local.verify(h.digest)


def test_put_stream(store):
    data = data_of(200_000, 9)
    h = store.put_stream(io.BytesIO(data))
    assert h.digest == Digest.of_bytes(data) and store.read(h.digest) == data
    small = store.put_stream(io.BytesIO(b"tiny"))
    assert small.is_inlined and small.read() == b"tiny"


def test_inline_threshold_boundary(tmp_path):
    s = CasStore(tmp_path, inline_threshold=10)
    assert s.put_bytes(b"x" * 10).is_inlined
    assert not s.put_bytes(b"x" * 11).is_inlined
    assert not CasStore(tmp_path, inline_threshold=0).put_bytes(b"x").is_inlined
    assert CasStore(tmp_path, inline_threshold=0).put_bytes(b"").is_inlined


def test_inlined_handle_reads_do_no_io(store):
    data = data_of(3000, 1)
    h = store.put_bytes(data)
    counting = CountingStore(store)
    assert h.read(counting) == data
    assert h.read(counting, BlobRange(10, 20)) == data[10:30]
    assert h.read(counting, BlobRange(3000)) == b""
    with h.open(counting, BlobRange(2990)) as f:
        assert f.read() == data[2990:]
    assert h.read(None) == data  # needs no store at all
    with pytest.raises(RangeError):
        h.read(counting, BlobRange(2999, 2))
    assert counting.calls == 0
    # Control: a referenced handle to the same blob does go through the store.
    ref = BlobHandle.referenced(h.digest)
    assert ref == h and hash(ref) == hash(h)
    assert ref.read(counting, BlobRange(10, 20)) == data[10:30]
    assert counting.calls == 1
    with pytest.raises(TypeError):
        ref.read(None)


def test_lookup_order_memory_then_local(tmp_path):
    local = CountingLocal(tmp_path)
    cache = MemoryCache(1 << 20)
    s = CasStore(local, cache=cache)
    data = data_of(10_000, 2)
    h = s.put_bytes(data)  # a put warms the cache
    local.calls = 0
    assert s.read(h.digest) == data and s.read(h.digest, BlobRange(5, 5)) == data[5:10]
    assert local.calls == 0 and cache.hits == 2
    cache.clear()
    assert s.read(h.digest, BlobRange(5, 5)) == data[5:10]
    assert local.calls == 1 and cache.misses == 1
    assert s.read(h.digest) == data and local.calls == 1  # cached again by that read


def test_large_blobs_bypass_cache(tmp_path):
    cache = MemoryCache(10 << 20)
    s = CasStore(tmp_path, cache=cache, cache_blob_limit=1000)
    h = s.put_bytes(data_of(1001))
    assert s.read(h.digest) == data_of(1001)
    assert cache.current_bytes == 0


def test_range_errors_name_digest_size_and_range(store):
    for size in (5000, 100_000):
        h = store.put_bytes(data_of(size))
        r = BlobRange(size - 1, 2)
        for call in (lambda: store.read(h.digest, r), lambda: store.open(h.digest, r),
                     lambda: h.read(store, r)):
            with pytest.raises(RangeError) as info:
                call()
            msg = str(info.value)
            assert str(h.digest) in msg and str(size) in msg and repr(r) in msg
        assert store.read(h.digest, BlobRange(size)) == b""
        assert store.read(h.digest, BlobRange(size - 1)) == data_of(size)[-1:]


def test_missing_blob(store):
    d = Digest.of_bytes(b"not here")
    with pytest.raises(BlobNotFoundError):
        store.read(d)
    with pytest.raises(BlobNotFoundError):
        store.open(d)
    assert not store.contains(d)


def test_corrupt_local_blob_without_remote(tmp_path):
    s = CasStore(tmp_path)  # no cache, so the read reaches the disk
    data = data_of(100_000, 3)
    h = s.put_bytes(data)
    path = s.local.local_path(h.digest)
    os.chmod(path, 0o644)
    path.write_bytes(data[::-1])
    with pytest.raises(CorruptBlobError):
        s.read(h.digest)


# --- a second LocalCas as the remote: exercises the remote path without a network ---


def test_remote_hit_is_verified_and_stored_locally(tmp_path):
    remote = LocalCas(tmp_path / "remote")
    data = data_of(200_000, 4)
    d = remote.store(Digest.of_bytes(data), data)
    s = CasStore(LocalCas(tmp_path / "local"), remote=remote)
    assert not s.local.contains(d)
    assert s.read(d, BlobRange(10, 10)) == data[10:20]
    assert s.local.contains(d)
    remote.delete(d)
    assert s.read(d) == data


def test_corrupt_local_blob_repaired_from_remote(tmp_path):
    remote = LocalCas(tmp_path / "remote")
    s = CasStore(LocalCas(tmp_path / "local"), remote=remote, background_uploads=False)
    data = data_of(50_000, 5)
    h = s.put_bytes(data)
    assert remote.contains(h.digest)
    path = s.local.local_path(h.digest)
    os.chmod(path, 0o644)
    path.write_bytes(bytes(len(data)))
    assert s.read(h.digest) == data
    assert s.local.verify(h.digest)


def test_background_uploads_and_flush(tmp_path):
    remote = LocalCas(tmp_path / "remote")
    with CasStore(LocalCas(tmp_path / "local"), remote=remote) as s:
        handles = [s.put_bytes(data_of(n, n)) for n in (0, 10, 5000, 100_000)]
        src = tmp_path / "f"
        src.write_bytes(data_of(300_000, 6))
        handles.append(s.put_file(src))
        s.flush()
        for h in handles:
            assert remote.verify(h.digest)


class FailingRemote:
    def __init__(self) -> None:
        self.attempts = 0
        self.lock = threading.Lock()

    def store(self, digest, data):
        with self.lock:
            self.attempts += 1
        raise RemoteCasError(f"upload of {digest} refused")

    def contains(self, digest):
        return False

    def store_file(self, path, expected=None):
        return self.store(expected, None)


def test_flush_surfaces_upload_failures_once(tmp_path):
    remote = FailingRemote()
    s = CasStore(LocalCas(tmp_path), remote=remote)
    h = s.put_bytes(b"a")
    s.put_bytes(data_of(100_000))
    with pytest.raises(RemoteCasError, match="refused"):
        s.flush()
    s.flush()  # reported once
    assert remote.attempts == 2
    assert s.read(h.digest) == b"a"  # the local put still succeeded
    s.close()


def test_put_rejects_str(store):
    with pytest.raises(TypeError):
        store.put_bytes("text")


def test_concurrent_store_puts_of_same_blob(tmp_path):
    s = CasStore(LocalCas(tmp_path), cache=MemoryCache(1 << 20))
    data = os.urandom(2 << 20)
    barrier = threading.Barrier(2)
    out = []

    def put():
        barrier.wait()
        out.append(s.put_bytes(data))

    threads = [threading.Thread(target=put) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(out) == 2 and out[0] == out[1]
    assert s.read(out[0].digest) == data
    assert list(tmp_path.rglob(".tmp-*")) == []


# --- BlobHandle value behaviour and serialization -----------------------------


def test_handle_construction_checks_inline_bytes():
    d = Digest.of_bytes(b"good")
    assert BlobHandle(d, b"good").is_inlined
    with pytest.raises(DigestMismatchError):
        BlobHandle(d, b"evil")
    with pytest.raises(TypeError):
        BlobHandle("not a digest")
    assert BlobHandle.inlined(b"good") == BlobHandle(d)


@pytest.mark.parametrize("inline", [True, False])
def test_handle_serialization_roundtrip(inline):
    data = data_of(100, 8)
    h = BlobHandle.inlined(data) if inline else BlobHandle.referenced(Digest.of_bytes(data))
    as_dict = json.loads(json.dumps(h.to_dict()))
    for back in (BlobHandle.from_dict(as_dict), BlobHandle.from_bytes(h.to_bytes()),
                 pickle.loads(pickle.dumps(h))):
        assert back == h and back.is_inlined == inline
        if inline:
            assert back.read() == data


def test_handle_deserialization_rejects_tampering():
    h = BlobHandle.inlined(b"payload")
    d = h.to_dict()
    d["data"] = "ZXZpbA=="  # "evil"
    with pytest.raises(DigestMismatchError):
        BlobHandle.from_dict(d)
    raw = bytearray(h.to_bytes())
    raw[-1] ^= 1
    with pytest.raises(DigestMismatchError):
        BlobHandle.from_bytes(bytes(raw))
    for bad in ({}, {"digest": "nope"}, {"digest": str(h.digest), "data": "!!"}):
        with pytest.raises(InvalidDigestError):
            BlobHandle.from_dict(bad)
    for bad in (b"", b"\x02" + bytes(40), BlobHandle.referenced(h.digest).to_bytes() + b"x"):
        with pytest.raises(CasError):
            BlobHandle.from_bytes(bad)


from hypothesis import given, settings, strategies as st  # noqa: E402


def _read_via_open(store, digest, r):
    with store.open(digest, r) as f:
        return f.read()


@settings(max_examples=60, deadline=None)
@given(data=st.binary(max_size=9000), start=st.integers(0, 9100),
       length=st.one_of(st.none(), st.integers(1, 9100)))
def test_every_read_path_agrees_with_slicing(tmp_path_factory, data, start, length):
    root = tmp_path_factory.mktemp("prop")
    r = BlobRange(start, length)
    stop = len(data) if length is None else start + length
    fits = start <= len(data) and stop <= len(data)
    with_cache = CasStore(LocalCas(root / "a"), cache=MemoryCache(1 << 20), inline_threshold=4096)
    no_cache = CasStore(LocalCas(root / "b"), inline_threshold=0)
    h = with_cache.put_bytes(data)
    no_cache.put_bytes(data)
    readers = [lambda: with_cache.read(h.digest, r), lambda: no_cache.read(h.digest, r),
               lambda: h.read(with_cache, r), lambda: with_cache.local.read_bytes(h.digest, r),
               lambda: _read_via_open(no_cache, h.digest, r)]
    for read in readers:
        if fits:
            assert read() == data[start:stop]
        else:
            with pytest.raises(RangeError):
                read()
