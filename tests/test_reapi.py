"""The REAPI v2 gRPC client against a real buildgrid: capabilities, blobs
(batch and ByteStream), the action cache, the blake3 -> SHA-256 mapping,
URLs, and the error for a missing ``zako[grpc]`` extra.

buildgrid only offers SHA-256, so every test here also exercises the
mapping: each blob's server name is its SHA-256, computed by hashlib as the
oracle, and each read is checked against the blake3 digest zako names it by.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import uuid

import pytest

from buildgrid_server import INSTANCE, buildgrid  # noqa: F401  (pytest fixture)
from zako.cas import BlobNotFoundError, BlobRange, CacheHealth, Digest, RemoteCasError
from zako.cas.reapi import MISSING_EXTRA, is_grpc_url, parse_grpc_url

grpc = pytest.importorskip("grpc", reason="the zako[grpc] extra is not installed")

from zako.cas.reapi.client import ReapiCas  # noqa: E402
from zako.cas.reapi.protos import remote_execution_pb2 as re_pb  # noqa: E402
from zako.cas.reapi.protos import remote_execution_pb2_grpc as re_grpc  # noqa: E402


def unique(n: int = 64) -> bytes:
    """Bytes no other test (or earlier run against the same server) stored."""
    head = uuid.uuid4().hex.encode()
    return (head * (n // len(head) + 1))[:n] if n >= len(head) else head[:n]


@pytest.fixture
def cas(buildgrid, tmp_path):  # noqa: F811
    client = ReapiCas(buildgrid.url, timeout=10.0, map_path=str(tmp_path / "map"))
    yield client
    client.close()


def server_has(buildgrid, sha_hex: str, size: int) -> bool:  # noqa: F811
    """Ask buildgrid directly (not through the client under test)."""
    with grpc.insecure_channel(buildgrid.target) as channel:
        resp = re_grpc.ContentAddressableStorageStub(channel).FindMissingBlobs(
            re_pb.FindMissingBlobsRequest(instance_name=INSTANCE,
                                          blob_digests=[re_pb.Digest(hash=sha_hex, size_bytes=size)]), timeout=10)
    return not resp.missing_blob_digests


def test_capabilities_choose_sha256_and_the_batch_limit(cas):
    cas.check(Digest.of_bytes(b"x"))  # the first call asks for the capabilities
    with grpc.insecure_channel(cas._channel._channel.target().decode()) as channel:
        caps = re_grpc.CapabilitiesStub(channel).GetCapabilities(
            re_pb.GetCapabilitiesRequest(instance_name=INSTANCE), timeout=10).cache_capabilities
    assert list(caps.digest_functions) == [re_pb.DigestFunction.SHA256]  # buildgrid: no BLAKE3
    assert cas.digest_function == re_pb.DigestFunction.SHA256
    assert 0 < cas.max_batch_bytes <= caps.max_batch_total_size_bytes


@pytest.mark.parametrize("size", [0, 1, 3000, (4 << 20) + 123])  # the last goes through ByteStream
def test_blob_round_trip_is_stored_under_its_sha256(cas, buildgrid, tmp_path, size):  # noqa: F811
    data = os.urandom(size)
    d = Digest.of_bytes(data)
    sha = hashlib.sha256(data).hexdigest()
    assert size == 0 or not server_has(buildgrid, sha, size)
    assert cas.store(d, data) == d
    assert server_has(buildgrid, sha, size)
    assert cas.contains(d)
    assert cas.read_bytes(d) == data
    if size > 10:
        assert cas.read_bytes(d, BlobRange(5, 5)) == data[5:10]
    # Another process on this machine knows the mapping from the map file.
    other = ReapiCas(buildgrid.url, timeout=10.0, map_path=str(tmp_path / "map"))
    assert other.read_bytes(d) == data
    other.close()


def test_a_blob_whose_sha256_is_unknown_is_a_miss(cas, buildgrid, tmp_path):  # noqa: F811
    data = unique(100)
    d = Digest.of_bytes(data)
    cas.store(d, data)
    stranger = ReapiCas(buildgrid.url, timeout=10.0, map_path=str(tmp_path / "other-map"))
    assert not stranger.contains(d)
    with pytest.raises(BlobNotFoundError):
        stranger.read_bytes(d)
    stranger.close()


def test_store_file_and_stream(cas, tmp_path):
    data = unique(5000)
    path = tmp_path / "f"
    path.write_bytes(data)
    d = cas.store_file(path)
    assert d == Digest.of_bytes(data) and cas.read_bytes(d) == data
    with open(path, "rb") as f:
        assert cas.store_stream(f) == d


def test_action_cache_entry_carries_its_blobs_to_another_machine(cas, buildgrid, tmp_path):  # noqa: F811
    blob = unique(300)
    d = Digest.of_bytes(blob)
    cas.store(d, blob)
    key = hashlib.sha256(unique()).hexdigest()  # any 64-hex key
    entry = ('{"key":"%s","result":"%s"}' % (key, d)).encode()
    assert cas.ac_get(key) is None
    cas.ac_put(key, entry)
    # A second machine: no map file, learns the blob's SHA-256 from the entry.
    other = ReapiCas(buildgrid.url, timeout=10.0, map_path=str(tmp_path / "machine2-map"))
    assert other.ac_get(key) == entry
    assert other.read_bytes(d) == blob
    other.close()
    # The entry is an ActionResult whose output file is the blob, as any REAPI client sees it.
    text = f"zako action-cache entry {key}".encode()
    with grpc.insecure_channel(buildgrid.target) as channel:
        result = re_grpc.ActionCacheStub(channel).GetActionResult(re_pb.GetActionResultRequest(
            instance_name=INSTANCE, action_digest=re_pb.Digest(hash=hashlib.sha256(text).hexdigest(),
                                                               size_bytes=len(text))), timeout=10)
    assert result.stdout_raw == entry
    [out] = result.output_files
    assert (out.path, out.digest.hash, out.digest.size_bytes) == (
        f"blake3/{d.hex}/{d.size_bytes}", hashlib.sha256(blob).hexdigest(), len(blob))


def test_an_entry_whose_blob_the_server_lost_is_a_miss(cas, tmp_path):
    # The blob's mapping is known (from the local store) but it never reached
    # the server: buildgrid must not serve an entry pointing at nothing.
    from zako.cas import LocalCas

    local = LocalCas(tmp_path / "local")
    blob = unique(200)
    d = local.store(Digest.of_bytes(blob), blob)
    cas.local = local
    key = hashlib.sha256(unique()).hexdigest()
    cas.ac_put(key, ('{"result":"%s"}' % d).encode())
    assert cas.ac_get(key) is None


def test_an_unknown_key_is_none_and_not_a_failure(cas):
    health = cas.health
    assert cas.ac_get("0" * 64) is None
    assert health.failures == 0 and health.summary() is None


def test_refused_connection_is_one_recorded_failure(tmp_path):
    from buildgrid_server import free_port

    health = CacheHealth("remote cache X", max_failures=3)
    cas = ReapiCas(f"grpc://127.0.0.1:{free_port()}", timeout=2.0, health=health)
    with pytest.raises(RemoteCasError, match="UNAVAILABLE"):
        cas.ac_get("1" * 64)
    assert health.failures == 1
    cas.close()


# --- URLs and the optional extra ------------------------------------------------


@pytest.mark.parametrize("url, target, instance, tls", [
    ("grpc://127.0.0.1:8980", "127.0.0.1:8980", "", False),
    ("grpc://cache:8980/main", "cache:8980", "main", False),
    ("grpcs://cache.example/a/b/", "cache.example:443", "a/b", True),
    ("GRPC://[::1]:9/x", "[::1]:9", "x", False),
])
def test_grpc_urls(url, target, instance, tls):
    assert is_grpc_url(url)
    t = parse_grpc_url(url)
    assert (t.target, t.instance, t.tls) == (target, instance, tls)


@pytest.mark.parametrize("url, why", [
    ("grpc://", "must be grpc://host:port"),
    ("grpc://h:99999", "out of range"),
    ("grpc://h:1/x?token=abc", "no query"),
])
def test_bad_grpc_urls(url, why):
    with pytest.raises(ValueError, match=why):
        parse_grpc_url(url)


def test_credentials_in_a_grpc_url_are_refused_and_never_shown():
    with pytest.raises(ValueError) as info:
        parse_grpc_url("grpc://alice:s3cr3t-canary@cache:1/main")
    assert "s3cr3t-canary" not in str(info.value) and "takes no user or password" in str(info.value)


def test_without_grpcio_a_grpc_remote_is_one_clear_error(tmp_path):
    # A fresh interpreter where importing grpc fails, as without the extra.
    code = ("import sys; sys.modules['grpc'] = None\n"
            "from zako.cli import main\n"
            f"sys.exit(main(['load', {str(tmp_path)!r}, '--remote-cache', 'grpc://127.0.0.1:1/x',"
            f" '--cache-dir', {str(tmp_path / 'c')!r}]))")
    (tmp_path / "zako.toml").write_text('[project]\nname = "p"\n')
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    [line] = proc.stderr.strip().splitlines()
    assert line.startswith(f"zako load: {MISSING_EXTRA}"), line


def test_concurrent_reads_and_writes_leave_in_batches(cas, buildgrid, tmp_path):  # noqa: F811
    from concurrent.futures import ThreadPoolExecutor

    blobs = [unique(500) for _ in range(64)]
    digests = [Digest.of_bytes(b) for b in blobs]
    cas.check(digests[0])  # capabilities first, so the writes below all batch
    with ThreadPoolExecutor(32) as pool:
        list(pool.map(cas.store, digests, blobs))
    assert all(server_has(buildgrid, hashlib.sha256(b).hexdigest(), len(b)) for b in blobs[::9])
    reader = ReapiCas(buildgrid.url, timeout=10.0, map_path=str(tmp_path / "map"))
    reader.check(digests[0])
    with ThreadPoolExecutor(32) as pool:
        assert list(pool.map(reader.read_bytes, digests)) == blobs
    # Each call carried several blobs (the exact split depends on timing).
    assert cas._writes.calls < len(blobs) and reader._reads.calls < len(blobs)
    reader.close()


def test_threads_meeting_a_black_hole_together_wait_one_deadline_not_one_each():
    import threading
    import time

    from buildgrid_server import BlackHole

    with BlackHole() as hole:
        health = CacheHealth("remote cache X", max_failures=3)
        cas = ReapiCas(hole.url, timeout=1.0, health=health)
        errors = []

        def lookup(i):
            try:
                cas.ac_get("%064x" % i)
            except RemoteCasError as e:
                errors.append(e)

        threads = [threading.Thread(target=lookup, args=(i,)) for i in range(16)]
        t0 = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - t0
        cas.close()
    assert len(errors) == 16
    assert elapsed < 1.0 * 3, elapsed  # 16 deadlines in a row would be 16 s
    assert health.failures == 1 and health.skipped_counts == {"action-cache read": 15}
