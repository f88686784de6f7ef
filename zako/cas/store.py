"""The blob store front: memory cache, local CAS, optional remote, blob handles."""

from __future__ import annotations

import io
import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import BinaryIO

from .blob_handle import BlobHandle
from .blob_range import BlobRange, check_range
from .digest import Digest
from .errors import BlobNotFoundError, CasError, CorruptBlobError, RemoteCasError
from .local import LocalCas
from .memory_cache import MemoryCache

__all__ = ["CasStore"]

_FULL = BlobRange()


class CasStore:
    """Where zako puts and reads blobs.

    Writes always land in ``local`` (durably, see :class:`LocalCas`; the
    local copy of an inlined blob is written without fsync, as its handle
    carries the bytes and a torn copy fails verification), go to
    ``cache`` when at most ``cache_blob_limit`` bytes, and, with a
    ``remote``, are uploaded — in background threads unless
    ``background_uploads=False``; :meth:`flush` waits for them and raises
    the first upload failure. Puts return a :class:`BlobHandle`, inlined
    (carrying the bytes) for blobs of at most ``inline_threshold`` bytes.

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
        upload_workers: int = 2,
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
        self._upload_workers = upload_workers
        self._executor: ThreadPoolExecutor | None = None
        self._pending: set[Future] = set()
        self._failures: list[BaseException] = []
        self._lock = threading.Lock()

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
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(
                    max_workers=self._upload_workers, thread_name_prefix="zako-cas-upload")
            future = self._executor.submit(self._upload_now, digest, data)
            self._pending.add(future)
        future.add_done_callback(self._upload_done)

    def _upload_done(self, future: Future) -> None:
        with self._lock:
            self._pending.discard(future)
            exc = future.exception()
            if exc is not None:
                self._failures.append(exc)

    def _upload_now(self, digest: Digest, data: bytes | None) -> None:
        remote = self.remote
        if data is not None:
            remote.store(digest, data)
            return
        # Large blob: skip the transfer when the remote already has it.
        if remote.contains(digest):
            return
        remote.store_file(self.local.path_for(digest), digest)

    def flush(self) -> None:
        """Wait for every background upload; raise the first failure, if any.

        Raises :class:`CasError` (the upload's own error, or a
        :class:`RemoteCasError` wrapping a non-CAS one); failures are reported once.
        """
        while True:
            with self._lock:
                pending = list(self._pending)
            if not pending:
                break
            for future in pending:
                try:
                    future.result()
                except BaseException:
                    pass  # collected by _upload_done
            with self._lock:
                self._pending.difference_update(f for f in pending if f.done())
        with self._lock:
            failures, self._failures = self._failures, []
        if failures:
            first = failures[0]
            more = f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""
            if isinstance(first, CasError):
                if more:
                    first.add_note(f"{len(failures) - 1} more upload(s) failed")
                raise first
            raise RemoteCasError(f"upload to {self.remote!r} failed: {first}{more}") from first

    def close(self) -> None:
        """Flush pending uploads, then stop the upload threads."""
        try:
            self.flush()
        finally:
            with self._lock:
                executor, self._executor = self._executor, None
            if executor is not None:
                executor.shutdown(wait=True)

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
        return self.remote is not None and self.remote.contains(digest)

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
            if self.remote is None:
                raise
            # The bad copy is gone; repair it from the remote below.
        self._download(digest)
        return self.local.read_bytes(digest, range)

    def _download(self, digest: Digest) -> None:
        try:
            reader = self.remote.fetch(digest)
        except BlobNotFoundError:
            raise BlobNotFoundError(
                f"blob {digest} is in neither {self.local!r} nor {self.remote!r}",
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
        except (BlobNotFoundError, CorruptBlobError):
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
