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
import re
import threading
from typing import Any

__all__ = ["ActionCache"]

_log = logging.getLogger(__name__)
_NAMES_BLOB = re.compile(rb"[0-9a-f]{64}/[0-9]+")


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
        # Packs (see zako.project.pack): entries read in one blob, answered
        # as remote hits; and the remote entries of this load, for the next pack.
        self._pack: dict[str, bytes] = {}
        self._sent: dict[str, bytes] = {}
        self.pack_entries = 0

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

    def get(self, key_hex: str, *, remote: bool = True) -> bytes | None:
        """``remote=False``: the local cache and the pack only (no request);
        a miss then is not counted (the caller asks again with the remote)."""
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
        data = self._pack.get(key_hex) if self._pack else None
        if data is None and not remote:
            return None
        if data is None and self.remote is not None:
            data = self._remote_get(key_hex)
            if data is not None:
                self._for_pack(key_hex, data)  # the remote has it: the next pack should too
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
        self._for_pack(key_hex, bytes(data))
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

    # --- packs ------------------------------------------------------------------

    def _for_pack(self, key_hex: str, data: bytes) -> None:
        # An entry naming a blob ("<hex>/<size>", a result kept out of line)
        # stays out: read on its own, it tells a REAPI remote's client the
        # server digest of that blob, which a pack would not.
        if not _NAMES_BLOB.search(data):
            self._sent[key_hex] = data

    def read_pack(self, key_hex: str) -> int:
        """Read the pack the remote names under ``key_hex`` (two requests);
        until ``publish_pack``, ``get`` answers its entries as remote hits.
        Returns how many entries it holds (0: none, or not usable)."""
        from ..cas import Digest
        from .pack import decode_pack, decode_pointer

        if self.remote is None:
            return 0
        pointer = self._remote_get(key_hex)
        if pointer is None or not self.health.allow():
            return 0
        try:
            digest = Digest.parse(decode_pointer(pointer, key_hex))
            entries = decode_pack(self.remote.read_bytes(digest))  # the remote verifies the digest
        except Exception as e:  # noqa: BLE001 - a cache must never fail a build
            _log.debug("action-cache pack %s not used: %s", key_hex, e)
            return 0
        self._pack = entries
        self.pack_entries = len(entries)
        return len(entries)

    def publish_pack(self, key_hex: str) -> bool:
        """Send the entries this load sent to (or read one by one from) the
        remote, merged with the pack it read, as the pack under ``key_hex``;
        in the background with the other uploads. Nothing new: nothing sent.
        Forgets both either way (memory is per load)."""
        sent, self._sent = self._sent, {}
        previous, self._pack = self._pack, {}
        if self.remote is None or not sent:
            return False
        if all(previous.get(k) == v for k, v in sent.items()):
            return False  # the pack already says all of it
        if not self.health.allow():
            self.health.skipped("action-cache pack write")
            return False
        if self.uploads is not None:
            return bool(self.uploads.submit("action-cache pack write", self._publish_now, key_hex, sent, previous))
        self._publish_now(key_hex, sent, previous)
        return True

    def _publish_now(self, key_hex: str, sent: dict[str, bytes], previous: dict[str, bytes]) -> None:
        from ..cas import Digest
        from .pack import encode_pack, encode_pointer

        blob, count = encode_pack(sent, previous)
        digest = Digest.of_bytes(blob)
        try:
            # The blob first: a pointer must never name a pack the remote lacks.
            self.remote.store(digest, blob)
            self.remote.ac_put(key_hex, encode_pointer(key_hex, str(digest), count))
        except Exception as e:  # noqa: BLE001 - a cache must never fail a build
            if not hasattr(self.remote, "health"):
                self.health.failure(f"pack ac/{key_hex}: {e}")
            _log.debug("remote action-cache pack write failed: %s", e)

    def invalid(self, key_hex: str, why: str = "") -> None:
        """The entry read under ``key_hex`` failed verification: drop the local
        copy (so the recomputed result replaces it) and count the repair,
        which ``-v`` output reports once per load."""
        try:
            os.unlink(self._path(key_hex))
        except OSError:
            pass
        # Neither served again from the pack nor passed on in the next one.
        self._pack.pop(key_hex, None)
        self._sent.pop(key_hex, None)
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
