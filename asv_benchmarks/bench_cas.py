"""Content-addressed store benchmarks.

- ``PutFileRead``: ``CasStore.put_file`` then a verified ``read`` of a
  64 MiB file, against the raw path (the ``baseline`` case): one blake3
  pass over the same bytes in memory, a plain file write and a plain read.
  Goal: zako >= 0.7x the raw path (time <= raw / 0.7), although zako also
  fsyncs, renames, and hashes again to verify the read. ``zako_nofsync``
  (``LocalCas(fsync=False)``) shows how much of the gap is the fsync, whose
  cost depends on what else the disk is doing.
- ``SmallPuts``: puts of distinct 100-byte blobs (inlined handles, each
  also written to the local store), against the ``baseline`` of a blake3
  hash plus a plain file write per blob (no temp file, no rename). The
  issue asks for 100,000 puts; every put creates a file, which costs about
  0.3 ms on the shared CI disk, so 100,000 puts (and removing them) took
  over two minutes per case. The class times 10,000 puts; multiply by 10.
- ``CacheHit``: latency of ``CasStore.read`` of a 16 KiB blob served from
  the memory cache, from the local disk (verified), and a plain dict
  lookup (``baseline``).
- ``PutFilePeakMemory``: peak RSS of ``put_file`` on a 256 MiB file
  (streamed: must stay far below the file size), against the naive
  ``baseline`` that reads the file whole to hash and write it.

Files are made in ``setup`` in a temp dir, in 1 MiB chunks (so setup does
not inflate peak memory either), and removed in ``teardown``. Each timed
call starts from an empty store (it deletes what it wrote, or uses a fresh
directory) so repeats measure real writes, not deduplication.
"""

from __future__ import annotations

import itertools
import os
import random
import shutil
import tempfile

from blake3 import blake3

from zako.cas import BlobRange, CasStore, Digest, LocalCas, MemoryCache

MiB = 1 << 20
N_SMALL = 10_000  # scaled from the 100,000; see the module docstring
SMALL_BYTES = 100


def _write_random_file(path: str, size: int, seed: int = 0) -> None:
    rng = random.Random(seed)
    with open(path, "wb") as f:
        for _ in range(size // MiB):
            f.write(rng.randbytes(MiB))
        f.write(rng.randbytes(size % MiB))


class PutFileRead:
    params = ["zako", "zako_nofsync", "baseline"]
    param_names = ["impl"]
    number = 1
    repeat = (1, 5, 30.0)
    warmup_time = 0
    timeout = 180

    def setup(self, impl):
        self.tmp = tempfile.mkdtemp(prefix="zako-bench-cas-")
        self.src = os.path.join(self.tmp, "src.bin")
        _write_random_file(self.src, 64 * MiB)
        if impl == "baseline":
            with open(self.src, "rb") as f:
                self.data = f.read()
            self.out = os.path.join(self.tmp, "out.bin")
        else:
            local = LocalCas(os.path.join(self.tmp, "cas"), fsync=impl == "zako")
            self.store = CasStore(local)

    def teardown(self, impl):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def time_put_file_read(self, impl):
        if impl == "baseline":
            blake3(self.data).digest()
            with open(self.out, "wb") as f:
                f.write(self.data)
            with open(self.out, "rb") as f:
                f.read()
            os.unlink(self.out)
        else:
            handle = self.store.put_file(self.src)
            self.store.read(handle.digest)
            self.store.local.delete(handle.digest)


class SmallPuts:
    params = ["zako", "baseline"]
    param_names = ["impl"]
    number = 1
    repeat = (1, 5, 30.0)
    warmup_time = 0
    timeout = 180

    def setup(self, impl):
        self.tmp = tempfile.mkdtemp(prefix="zako-bench-cas-")
        rng = random.Random(1)
        raw = rng.randbytes(N_SMALL * SMALL_BYTES)
        self.blobs = [raw[i:i + SMALL_BYTES] for i in range(0, len(raw), SMALL_BYTES)]
        self.runs = itertools.count()
        # The baseline writes into a fan-out like the store's, made up front.
        self.fanout = [f"{i:02x}" for i in range(256)]

    def teardown(self, impl):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def time_10k_small_puts(self, impl):
        root = os.path.join(self.tmp, str(next(self.runs)))
        if impl == "baseline":
            for d in self.fanout:
                os.makedirs(os.path.join(root, d))
            for data in self.blobs:
                h = blake3(data).hexdigest()
                with open(os.path.join(root, h[:2], h), "wb") as f:
                    f.write(data)
        else:
            put = CasStore(LocalCas(root)).put_bytes
            for data in self.blobs:
                put(data)


class CacheHit:
    params = ["memory_cache", "local_disk", "baseline"]
    param_names = ["source"]

    def setup(self, source):
        self.tmp = tempfile.mkdtemp(prefix="zako-bench-cas-")
        data = random.Random(2).randbytes(16 * 1024)
        cache = MemoryCache(64 * MiB) if source == "memory_cache" else None
        self.store = CasStore(LocalCas(self.tmp), cache=cache)
        self.digest = self.store.put_bytes(data).digest
        self.range = BlobRange(100, 1000)
        self.table = {self.digest: data}

    def teardown(self, source):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def time_read_whole(self, source):
        if source == "baseline":
            self.table[self.digest]
        else:
            self.store.read(self.digest)

    def time_read_range(self, source):
        if source == "baseline":
            self.table[self.digest][100:1100]
        else:
            self.store.read(self.digest, self.range)


class PutFilePeakMemory:
    params = ["zako", "baseline"]
    param_names = ["impl"]
    timeout = 180

    def setup(self, impl):
        self.tmp = tempfile.mkdtemp(prefix="zako-bench-cas-")
        self.src = os.path.join(self.tmp, "src.bin")
        _write_random_file(self.src, 256 * MiB, seed=3)
        self.store = CasStore(LocalCas(os.path.join(self.tmp, "cas")))

    def teardown(self, impl):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def peakmem_put_file_256mib(self, impl):
        if impl == "baseline":
            with open(self.src, "rb") as f:
                data = f.read()
            self.store.local.store(Digest.of_bytes(data), data)
        else:
            self.store.put_file(self.src)
