"""The blob store front: memory cache, local CAS, optional remote, blob handles."""

from __future__ import annotations

import io
import os
from typing import BinaryIO

from .blob_handle import BlobHandle
from .blob_range import BlobRange, check_range
from .breaker import CacheHealth
from .digest import Digest
from .errors import BlobNotFoundError, CasError, CorruptBlobError, RemoteCasError, RemoteDisabledError
from .local import LocalCas
from .memory_cache import MemoryCache
from .uploads import UploadQueue

__all__ = ["CasStore"]

_FULL = BlobRange()


class CasStore:
    """Where zako puts and reads blobs.

    Writes always land in ``local`` (durably, see :class:`LocalCas`; the
    local copy of an inlined blob is written without fsync, as its handle
    carries the bytes and a torn copy fails verification), go to
    ``cache`` when at most ``cache_blob_limit`` bytes, and, with a
    ``remote``, are uploaded — on up to ``upload_workers`` background
    threads (:attr:`uploads`, an :class:`UploadQueue` the action cache may
    share) unless ``background_uploads=False``; :meth:`flush` waits for them
    at most ``flush_timeout`` seconds, ends the load's :class:`CacheHealth`
    episode (its one warning, its repair count) and raises the first upload
    failure. Puts return a :class:`BlobHandle`, inlined (carrying the
    bytes) for blobs of at most ``inline_threshold`` bytes.

    ``health`` (default: the remote's, else a new one) is the circuit
    breaker: once open, uploads and remote reads are skipped (counted), and
    a blob the remote would have served is simply not found. A local blob
    that fails verification is dropped and counted there.

    Reads try the memory cache, then the local store, then the remote; a
    remote hit is verified and stored locally first. A whole-blob read is
    always verified against the digest. Errors: :class:`RangeError`
    (raised before any I/O, naming digest, size and range),
    :class:`BlobNotFoundError`, :class:`CorruptBlobError` (local copy bad
    and no remote to repair from), :class:`DigestMismatchError` (remote
    served other bytes). Thread-safe.
    """

    def __init__(
        self,
        local: LocalCas | str | os.PathLike,
        remote=None,
        cache: MemoryCache | None = None,
        inline_threshold: int = 4096,
        cache_blob_limit: int = 64 * 1024,
        *,
        background_uploads: bool = True,
        upload_workers: int = 32,
        flush_timeout: float = 30.0,
        health: CacheHealth | None = None,
    ) -> None:
        if not isinstance(local, LocalCas):
            local = LocalCas(local)
        if inline_threshold < 0 or cache_blob_limit < 0:
            raise ValueError(
                f"CasStore inline_threshold ({inline_threshold}) and cache_blob_limit "
                f"({cache_blob_limit}) must be >= 0")
        self.local = local
        self.remote = remote
        self.cache = cache
        self.inline_threshold = inline_threshold
        self.cache_blob_limit = cache_blob_limit
        self._background = background_uploads
        self.flush_timeout = flush_timeout
        if health is None:
            health = getattr(remote, "health", None)
        self.health: CacheHealth = health if isinstance(health, CacheHealth) else CacheHealth()
        self.uploads = UploadQueue(upload_workers, health=self.health)
        # Local copies of remote hits are written off the lookup's path: a
        # file creation costs 0.3-1 ms on a busy disk, more than the fetch.
        self.local_writes = UploadQueue(4, max_pending=50_000)

    def __repr__(self) -> str:
        return f"CasStore(local={self.local!r}, remote={self.remote!r}, cache={self.cache!r})"

    # --- writes ---------------------------------------------------------------

    def put_bytes(self, data: bytes | bytearray | memoryview) -> BlobHandle:
        """Store ``data``; returns its handle. Cost: one hash, one local write if new."""
        if isinstance(data, str):
            raise TypeError("CasStore.put_bytes needs bytes, not str (encode it first)")
        digest = Digest.of_bytes(data)
        size = digest.size_bytes
        self.local._store_verified(digest, memoryview(data).cast("B"),
                                   durable=size > self.inline_threshold)
        small = None
        if size <= self.inline_threshold or (self.cache is not None and size <= self.cache_blob_limit):
            small = data if isinstance(data, bytes) else bytes(data)
            if self.cache is not None and size <= self.cache_blob_limit:
                self.cache.put(digest, small)
        # Small blobs upload from memory; big ones from the local file, so a
        # pending upload never pins a large buffer.
        self._upload(digest, small if size <= self.cache_blob_limit else None)
        if size <= self.inline_threshold:
            return BlobHandle._trusted(digest, small)
        return BlobHandle._trusted(digest, None)

    def put_file(self, path: str | os.PathLike) -> BlobHandle:
        """Store a copy of the file at ``path``, streamed (memory stays at one chunk).

        Raises ``OSError`` if it cannot be read.
        """
        return self._after_local_put(self.local.store_file(path))

    def put_stream(self, stream: BinaryIO) -> BlobHandle:
        """Store everything left in a binary stream, streamed."""
        return self._after_local_put(self.local.store_stream(stream))

    def _after_local_put(self, digest: Digest) -> BlobHandle:
        size = digest.size_bytes
        data = None
        if size <= self.inline_threshold or (self.cache is not None and size <= self.cache_blob_limit):
            data = self.local.read_bytes(digest)
            if self.cache is not None and size <= self.cache_blob_limit:
                self.cache.put(digest, data)
        self._upload(digest, data)
        return BlobHandle._trusted(digest, data if size <= self.inline_threshold else None)

    # --- uploads --------------------------------------------------------------

    def _upload(self, digest: Digest, data: bytes | None) -> None:
        if self.remote is None:
            return
        if not self._background:
            self._upload_now(digest, data)
            return
        if not self.health.allow():
            self.health.skipped("blob write")
            return
        self.uploads.submit("blob write", self._upload_now, digest, data)

    def _upload_now(self, digest: Digest, data: bytes | None) -> None:
        remote = self.remote
        try:
            if data is not None:
                remote.store(digest, data)
                return
            # Large blob: skip the transfer when the remote already has it.
            if remote.contains(digest):
                return
            remote.store_file(self.local.path_for(digest), digest)
        except RemoteDisabledError:
            pass  # counted as skipped by the remote's breaker

    def flush(self, timeout: float | None = None) -> None:
        """Wait for background uploads (at most ``timeout``, default
        ``flush_timeout`` seconds, and not at all while the remote is failing;
        what has not started by then is dropped and counted), end the load's
        health episode, and raise the first upload failure, if any.

        Raises :class:`CasError` (the upload's own error, or a
        :class:`RemoteCasError` wrapping a non-CAS one); failures are reported once.
        """
        # While the remote is failing, waiting for its in-flight requests
        # cannot pay off (each is bounded by its own deadline anyway).
        wait = self.flush_timeout if timeout is None else timeout
        failures = self.uploads.flush(wait, give_up=lambda: self.health.failing)
        self.local_writes.flush(wait)  # a copy not written in time is just not cached locally
        self.health.end_load()
        if failures:
            first = failures[0]
            more = f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""
            if isinstance(first, CasError):
                if more:
                    first.add_note(f"{len(failures) - 1} more upload(s) failed")
                raise first
            raise RemoteCasError(f"upload to {self.remote!r} failed: {first}{more}") from first

    def close(self) -> None:
        """Flush pending uploads (bounded), then stop the upload threads."""
        try:
            self.flush()
        finally:
            self.uploads.close(0)
            self.local_writes.close(0)

    def __enter__(self) -> "CasStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- reads ----------------------------------------------------------------

    def contains(self, digest: Digest) -> bool:
        """True if memory, local or remote holds the blob (may cost a remote HEAD)."""
        if self.cache is not None and digest in self.cache:
            return True
        if self.local.contains(digest):
            return True
        if self.remote is None:
            return False
        try:
            return self.remote.contains(digest)
        except RemoteDisabledError:
            return False

    __contains__ = contains

    def read(self, digest: Digest | BlobHandle, range: BlobRange = _FULL) -> bytes:
        """Bytes of ``range`` of the blob (see the class doc for the lookup order)."""
        if isinstance(digest, BlobHandle):
            return digest.read(self, range)
        start, stop = check_range(digest, range)
        size = digest.size_bytes
        cache = self.cache
        small = cache is not None and size <= self.cache_blob_limit
        if small:
            data = cache.get(digest)
            if data is None:
                # Small blobs are read whole (and so verified) and cached.
                data = self._read_local(digest, _FULL)
                cache.put(digest, data)
            return data if start == 0 and stop == size else data[start:stop]
        return self._read_local(digest, range)

    def _read_local(self, digest: Digest, range: BlobRange) -> bytes:
        try:
            return self.local.read_bytes(digest, range)
        except BlobNotFoundError:
            if self.remote is None:
                raise
        except CorruptBlobError:
            self.health.corrupt("blob")
            if self.remote is None:
                raise
            # The bad copy is gone; repair it from the remote below.
        if range.covers_whole(digest.size_bytes) and digest.size_bytes <= self.cache_blob_limit:
            return self._download_small(digest)
        self._download(digest)
        return self.local.read_bytes(digest, range)

    def _download_small(self, digest: Digest) -> bytes:
        """A small blob from the remote, in memory (remotes verify whole
        reads); its local copy is written in the background (at once with
        ``background_uploads=False``)."""
        try:
            data = self.remote.read_bytes(digest)
        except (BlobNotFoundError, RemoteDisabledError) as exc:
            raise BlobNotFoundError(
                f"blob {digest} is in neither {self.local!r} nor {self.remote!r}"
                + (" (switched off for this load)" if isinstance(exc, RemoteDisabledError) else ""),
                digest=digest) from None
        if not self._background:
            self.local._store_verified(digest, memoryview(data), durable=False)
        else:
            self.local_writes.submit("local copy", self.local._store_verified, digest, memoryview(data),
                                     durable=False)
        return data

    def _download(self, digest: Digest) -> None:
        try:
            reader = self.remote.fetch(digest)
        except (BlobNotFoundError, RemoteDisabledError) as exc:
            raise BlobNotFoundError(
                f"blob {digest} is in neither {self.local!r} nor {self.remote!r}"
                + (" (switched off for this load)" if isinstance(exc, RemoteDisabledError) else ""),
                digest=digest) from None
        with reader:
            self.local.store_stream(reader, expected=digest)

    def open(self, digest: Digest | BlobHandle, range: BlobRange = _FULL) -> BinaryIO:
        """Binary file object over ``range`` (streamed from disk for large blobs).

        Whole-blob streams are verified; the read reaching the end raises
        :class:`CorruptBlobError` if the bytes are bad. Close the result.
        """
        if isinstance(digest, BlobHandle):
            return digest.open(self, range)
        start, stop = check_range(digest, range)
        cache = self.cache
        if cache is not None and digest.size_bytes <= self.cache_blob_limit:
            return io.BytesIO(self.read(digest, range))
        try:
            return self.local.fetch(digest, range)
        except (BlobNotFoundError, CorruptBlobError) as exc:
            if isinstance(exc, CorruptBlobError):
                self.health.corrupt("blob")
            if self.remote is None:
                raise
        self._download(digest)
        return self.local.fetch(digest, range)

    def local_path(self, digest: Digest) -> "os.PathLike":
        """Path of the blob in the local store, downloading it first if needed."""
        if not self.local.contains(digest):
            if self.remote is None:
                raise BlobNotFoundError(f"blob {digest} is not in {self.local!r}", digest=digest)
            self._download(digest)
        return self.local.local_path(digest)
