"""The action cache: small mutable entries keyed by a computed digest.

The CAS answers "what are the bytes with this content digest"; loading also
needs "what did evaluating *this* script with *these* inputs produce", a key
that is not the digest of its value. That is Bazel's action cache (``/ac/``
beside ``/cas/`` in its HTTP cache protocol). Entries here are small JSON
documents pointing into the CAS, or carrying a small result inline (the
loader's graph entries: one read answers a whole lookup).

Local entries live in ``root/<2 hex>/<hex>``, written to a temporary file
and renamed (a crash never leaves half an entry). The remote side is the
``/ac/`` half of ``zako.cas.HttpCas`` (``ac_get``/``ac_put``). Remote writes
go through the store's background ``UploadQueue`` (a slow remote never holds
up the load), and every remote request goes through the circuit breaker of
the shared ``CacheHealth``: a remote that keeps failing is off for the rest
of the load, and the load ends with one warning that says why and what was
skipped (a cache must never fail a build).
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

__all__ = ["ActionCache"]

_log = logging.getLogger(__name__)


def _read_small(path: str) -> bytes:
    """A whole small file: os.open/os.read skip the buffered reader's set-up,
    half the cost of open() for the two entries a warm lookup reads."""
    fd = os.open(path, os.O_RDONLY)
    try:
        chunks = []
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            chunks.append(chunk)
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)
    finally:
        os.close(fd)


class ActionCache:
    """Local action-cache entries under ``root``, optionally backed by a remote.

    ``remote`` is an ``HttpCas`` (anything with ``ac_get``/``ac_put``).
    ``get(key_hex)`` tries local then remote (a remote hit is kept locally);
    ``put(key_hex, data)`` writes locally at once and to the remote through
    ``uploads`` (an ``UploadQueue``; without one, at once). ``health`` is
    the ``CacheHealth`` shared with the CAS (default: the remote's).
    Thread-safe; the directory may be shared between processes. A failing
    remote request is a miss, never an error.
    """

    def __init__(self, root: str, remote: Any = None, *, uploads: Any = None, health: Any = None,
                 local_writes: Any = None) -> None:
        from ..cas.breaker import CacheHealth

        self.root = root
        self.remote = remote
        self.uploads = uploads
        # Local copies of remote hits, written off the lookup's path (an
        # UploadQueue); entries waiting here are served from memory.
        self.local_writes = local_writes
        self._copies: dict[str, bytes] = {}
        if health is None:
            health = getattr(remote, "health", None)
        self.health = health if health is not None else CacheHealth()
        os.makedirs(root, exist_ok=True)
        self.local_hits = self.remote_hits = self.misses = self.remote_puts = 0
        self._count_lock = threading.Lock()
        self._dirs: set[str] = set()

    @property
    def remote_error(self) -> str | None:
        """Why the remote misbehaved in this (or the last finished) load, or None."""
        if self.remote is None:
            return None
        return self.health.summary()

    @property
    def lookup_workers(self) -> int:
        """How many lookups a loader should run at once: with a live remote
        each waits for at least one round trip, so many; locally, one."""
        if self.remote is None or not self.health.allow():
            return 1
        return self.remote_lookup_workers

    remote_lookup_workers = 64

    def _path(self, key_hex: str) -> str:
        return os.path.join(self.root, key_hex[:2], key_hex)

    def get(self, key_hex: str) -> bytes | None:
        try:
            data = _read_small(self._path(key_hex))
            if data:
                with self._count_lock:
                    self.local_hits += 1
                return data
            self.invalid(key_hex, "empty file")  # an entry is never empty: a torn or zeroed copy
        except FileNotFoundError:
            pending = self._copies.get(key_hex)
            if pending is not None:
                with self._count_lock:
                    self.local_hits += 1
                return pending
        data = self._remote_get(key_hex) if self.remote is not None else None
        if data is not None:
            if self.local_writes is not None:
                self._copies[key_hex] = data
                if not self.local_writes.submit("local copy", self._write_copy, key_hex, data):
                    self._copies.pop(key_hex, None)
            else:
                self._write_local(key_hex, data)
            with self._count_lock:
                self.remote_hits += 1
            return data
        with self._count_lock:
            self.misses += 1
        return None

    def _remote_get(self, key_hex: str) -> bytes | None:
        if not self.health.allow():
            self.health.skipped("action-cache read")
            return None
        try:
            return self.remote.ac_get(key_hex)
        except Exception as e:  # noqa: BLE001 - a cache must never fail a build
            # HttpCas has counted it against the breaker; anything else is counted here.
            if not hasattr(self.remote, "health"):
                self.health.failure(f"GET ac/{key_hex}: {e}")
            _log.debug("remote action-cache read of %s failed: %s", key_hex, e)
            return None

    def _write_copy(self, key_hex: str, data: bytes) -> None:
        # Only if no put() replaced the entry meanwhile (a fresh result must
        # never be overwritten by the remote's older copy).
        if self._copies.get(key_hex) is data:
            self._write_local(key_hex, data)
            self._copies.pop(key_hex, None)

    def put(self, key_hex: str, data: bytes, *, remote: bool = True) -> None:
        self._copies.pop(key_hex, None)
        self._write_local(key_hex, data)
        if not remote or self.remote is None:
            return
        if not self.health.allow():
            self.health.skipped("action-cache write")
            return
        if self.uploads is not None:
            self.uploads.submit("action-cache write", self._remote_put, key_hex, bytes(data))
        else:
            self._remote_put(key_hex, data)

    def _remote_put(self, key_hex: str, data: bytes) -> None:
        try:
            self.remote.ac_put(key_hex, data)
        except Exception as e:  # noqa: BLE001 - a cache must never fail a build
            if not hasattr(self.remote, "health"):
                self.health.failure(f"PUT ac/{key_hex}: {e}")
            _log.debug("remote action-cache write of %s failed: %s", key_hex, e)
            return
        with self._count_lock:
            self.remote_puts += 1

    def invalid(self, key_hex: str, why: str = "") -> None:
        """The entry read under ``key_hex`` failed verification: drop the local
        copy (so the recomputed result replaces it) and count the repair,
        which ``-v`` output reports once per load."""
        try:
            os.unlink(self._path(key_hex))
        except OSError:
            pass
        self.health.corrupt("action-cache entry")
        _log.debug("action-cache entry %s dropped: %s", key_hex, why or "failed verification")

    def _write_local(self, key_hex: str, data: bytes) -> None:
        path = self._path(key_hex)
        directory = os.path.dirname(path)
        if directory not in self._dirs:  # one mkdir per shard per process, not per entry
            os.makedirs(directory, exist_ok=True)
            self._dirs.add(directory)
        # Unique per process and thread, so concurrent writers never share a temp file.
        tmp = f"{path}.tmp-{os.getpid()}-{threading.get_ident()}"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
            finally:
                os.close(fd)
            os.replace(tmp, path)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
