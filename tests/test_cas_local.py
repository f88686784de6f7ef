"""LocalCas: round trips, ranges, atomic writes, crash safety, corruption detection."""

from __future__ import annotations

import io
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from zako.cas import (BlobNotFoundError, BlobRange, CorruptBlobError, Digest,
                      DigestMismatchError, LocalCas, RangeError)

REPO = Path(__file__).resolve().parent.parent
SIZES = [0, 1, 4096, 64 * 1024 + 1]


def data_of(n: int, seed: int = 0) -> bytes:
    # Seeded random content: no period, so an offset bug shows as other bytes.
    return random.Random(seed).randbytes(n)


@pytest.fixture
def cas(tmp_path) -> LocalCas:
    return LocalCas(tmp_path / "cas")


def temp_files(root: Path) -> list[Path]:
    return [p for p in root.rglob(".tmp-*")]


@pytest.mark.parametrize("size", SIZES)
def test_store_fetch_roundtrip(cas, size):
    data = data_of(size)
    d = Digest.of_bytes(data)
    assert not cas.contains(d) and cas.check(d) is None
    assert cas.store(d, data) == d
    assert cas.contains(d) and d in cas and cas.check(d) == size
    path = cas.local_path(d)
    assert path == cas.root / d.hex[:2] / d.hex
    assert path.read_bytes() == data
    with cas.fetch(d) as f:
        assert f.read() == data
    assert cas.read_bytes(d) == data
    assert cas.verify(d) is True
    assert temp_files(cas.root) == []


def test_roundtrip_64_mib_streamed(cas, tmp_path):
    data = os.urandom(1 << 20) * 64
    src = tmp_path / "src"
    src.write_bytes(data)
    d = cas.store_file(src)
    assert d == Digest.of_bytes(data)
    with cas.fetch(d) as f:
        assert f.read() == data
    with cas.fetch(d, BlobRange((64 << 20) - 5)) as f:
        assert f.read() == data[-5:]
    assert cas.verify(d)


def test_store_is_idempotent(cas):
    data = b"same bytes"
    d = Digest.of_bytes(data)
    cas.store(d, data)
    before = os.stat(cas.local_path(d)).st_ino
    cas.store(d, data)
    assert os.stat(cas.local_path(d)).st_ino == before


def test_store_rejects_mismatched_digest_and_writes_nothing(cas):
    d = Digest.of_bytes(b"right")
    with pytest.raises(DigestMismatchError) as info:
        cas.store(d, b"wrong")
    assert str(d) in str(info.value)
    assert info.value.expected == d and info.value.actual == Digest.of_bytes(b"wrong")
    assert not cas.contains(d) and not cas.contains(Digest.of_bytes(b"wrong"))
    same_hash_other_size = Digest(4, d.blake3)
    with pytest.raises(DigestMismatchError):
        cas.store(same_hash_other_size, b"right")
    assert temp_files(cas.root) == []


def test_store_stream_with_expected_mismatch_leaves_nothing(cas):
    d = Digest.of_bytes(b"expected")
    with pytest.raises(DigestMismatchError):
        cas.store_stream(io.BytesIO(b"actual"), expected=d)
    assert not cas.contains(d) and temp_files(cas.root) == []


def test_store_stream_failing_source_leaves_nothing(cas):
    class Boom:
        def __init__(self):
            self.calls = 0

        def read(self, n):
            self.calls += 1
            if self.calls > 2:
                raise OSError("source died")
            return b"x" * 1000

    with pytest.raises(OSError, match="source died"):
        cas.store_stream(Boom())
    assert temp_files(cas.root) == []
    assert [p for p in cas.root.rglob("*") if p.is_file()] == []


@pytest.mark.parametrize("size", [1, 4096, 64 * 1024 + 1])
def test_ranges(cas, size):
    data = data_of(size, seed=7)
    d = cas.store(Digest.of_bytes(data), data)
    cases = [BlobRange(), BlobRange(0, size), BlobRange(size - 1), BlobRange(size - 1, 1),
             BlobRange(size), BlobRange(size // 2), BlobRange(size // 3, max(1, size // 3))]
    for r in cases:
        end = size if r.length is None else r.start + r.length
        with cas.fetch(d, r) as f:
            assert f.read() == data[r.start:end], r
        assert cas.read_bytes(d, r) == data[r.start:end]


@pytest.mark.parametrize("r", [BlobRange(0, 11), BlobRange(10, 1), BlobRange(11), BlobRange(5, 6),
                               BlobRange(100, 1)])
def test_out_of_range_raises_naming_digest_size_range(cas, r):
    data = b"0123456789"
    d = cas.store(Digest.of_bytes(data), data)
    with pytest.raises(RangeError) as info:
        cas.fetch(d, r)
    msg = str(info.value)
    assert str(d) in msg and "10" in msg and repr(r) in msg
    assert (info.value.digest, info.value.size, info.value.range) == (d, 10, r)


def test_empty_blob_ranges(cas):
    d = cas.store(Digest.of_bytes(b""), b"")
    assert cas.read_bytes(d) == b""
    assert cas.read_bytes(d, BlobRange(0)) == b""
    with pytest.raises(RangeError):
        cas.read_bytes(d, BlobRange(0, 1))
    with pytest.raises(RangeError):
        cas.read_bytes(d, BlobRange(1))


def test_fetch_is_limited_and_chunked(cas):
    data = data_of(10000, seed=3)
    d = cas.store(Digest.of_bytes(data), data)
    with cas.fetch(d, BlobRange(100, 1000)) as f:
        parts = [f.read(300), f.read(300), f.read(300), f.read(300), f.read(300)]
        assert f.tell() == 1000
    assert parts[3] == data[1000:1100] and parts[4] == b""
    assert b"".join(parts) == data[100:1100]
    buf = bytearray(4096)
    with cas.fetch(d) as f:
        got = bytearray()
        while n := f.readinto(buf):
            got += buf[:n]
    assert bytes(got) == data


def test_missing_blob(cas):
    d = Digest.of_bytes(b"never stored")
    for call in (lambda: cas.fetch(d), lambda: cas.read_bytes(d), lambda: cas.verify(d),
                 lambda: cas.local_path(d)):
        with pytest.raises(BlobNotFoundError) as info:
            call()
        assert str(d) in str(info.value)
    assert cas.delete(d) is False


def corrupt(path: Path, data: bytes) -> None:
    os.chmod(path, 0o644)
    path.write_bytes(data)


def test_corruption_same_size_detected_on_full_read(cas):
    data = data_of(5000, seed=1)
    d = cas.store(Digest.of_bytes(data), data)
    path = cas.local_path(d)
    bad = bytearray(data)
    bad[2500] ^= 0xFF
    corrupt(path, bytes(bad))
    with pytest.raises(CorruptBlobError) as info:
        cas.read_bytes(d)
    assert str(d) in str(info.value) and info.value.digest == d
    # The bad copy was discarded, and storing the blob again repairs the store.
    assert not cas.contains(d)
    cas.store(d, data)
    assert cas.read_bytes(d) == data


def test_corruption_detected_by_streaming_reader_at_end(cas):
    data = data_of(300000, seed=2)
    d = cas.store(Digest.of_bytes(data), data)
    corrupt(cas.local_path(d), data[:-1] + bytes([data[-1] ^ 1]))
    with cas.fetch(d) as f:
        assert f.read(1000) == data[:1000]
        with pytest.raises(CorruptBlobError):
            while f.read(65536):
                pass


def test_corruption_wrong_size_detected(cas):
    data = data_of(5000, seed=4)
    d = cas.store(Digest.of_bytes(data), data)
    path = cas.local_path(d)
    corrupt(path, data[:-10])
    assert cas.check(d) is None and not cas.contains(d)
    with pytest.raises(CorruptBlobError):
        cas.fetch(d, BlobRange(0, 10))


def test_verify_detects_corruption(cas):
    data = data_of(70000, seed=5)
    d = cas.store(Digest.of_bytes(data), data)
    assert cas.verify(d)
    corrupt(cas.local_path(d), bytes(reversed(data)))
    with pytest.raises(CorruptBlobError):
        cas.verify(d)


def test_concurrent_puts_of_same_blob(cas):
    data = os.urandom(3 << 20)
    d = Digest.of_bytes(data)
    barrier = threading.Barrier(2)
    errors = []

    def put(i):
        try:
            barrier.wait()
            for _ in range(5):
                if i:
                    cas.store(d, data)
                else:
                    cas.store_stream(io.BytesIO(data))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=put, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert cas.read_bytes(d) == data
    assert temp_files(cas.root) == []


_WRITER = r"""
import sys
from zako.cas import LocalCas, Digest
cas = LocalCas(sys.argv[1])
expected = Digest.parse(sys.argv[2])
print("ready", flush=True)
cas.store_stream(sys.stdin.buffer, expected=expected)
print("done", flush=True)
"""


def test_killed_writer_leaves_no_partial_blob(cas):
    data = os.urandom(8 << 20)
    d = Digest.of_bytes(data)
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen([sys.executable, "-c", _WRITER, str(cas.root), str(d)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
    try:
        assert proc.stdout.readline().strip() == b"ready"
        proc.stdin.write(data[: 3 << 20])  # the writer has a partial temp file now
        proc.stdin.flush()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            temps = temp_files(cas.root)
            if temps and temps[0].stat().st_size > 0:
                break
            time.sleep(0.01)
        else:
            pytest.fail("writer never started writing its temp file")
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=10) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stdin.close()
        proc.stdout.close()
    assert not cas.path_for(d).exists()
    assert not cas.contains(d)
    with pytest.raises(BlobNotFoundError):
        cas.read_bytes(d)
    leftovers = temp_files(cas.root)
    assert leftovers and 0 < leftovers[0].stat().st_size < len(data)
    # The store still works: the blob can be stored and read, and the stray
    # temp file is cleaned once stale (it is fresh, so kept at first).
    assert cas.remove_stale_temp_files(older_than_s=3600) == 0
    cas.store(d, data)
    assert cas.read_bytes(d) == data
    assert cas.remove_stale_temp_files(older_than_s=0) == len(leftovers)
    assert temp_files(cas.root) == []
    assert cas.read_bytes(d) == data


@pytest.mark.parametrize("size", [0, 1, 4096, (1 << 20)])
def test_small_whole_reads_are_verified_like_streamed_ones(tmp_path, size):
    # read_bytes reads small whole blobs in one go: the same bytes, and the
    # same refusal of a damaged file, as the streaming reader.
    import os as _os

    from zako.cas import CorruptBlobError, Digest, LocalCas

    cas = LocalCas(tmp_path / "cas")
    data = _os.urandom(size)
    d = Digest.of_bytes(data)
    cas.store(d, data)
    assert cas.read_bytes(d) == data
    if size:
        path = cas._path_str(d)
        with open(path, "r+b") as f:
            f.seek(size // 2)
            f.write(bytes([data[size // 2] ^ 1]))
        with pytest.raises(CorruptBlobError):
            cas.read_bytes(d)
        assert not _os.path.exists(path)  # removed, so the next store repairs it
