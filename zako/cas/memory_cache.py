"""An in-memory blob cache: size-weighted LRU with time-to-live and time-to-idle."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Callable, Hashable

__all__ = ["MemoryCache", "CacheStats"]


class CacheStats:
    """Snapshot of a cache's counters."""

    __slots__ = ("hits", "misses", "evictions", "expirations", "entries", "current_bytes", "max_bytes")

    def __init__(self, hits, misses, evictions, expirations, entries, current_bytes, max_bytes):
        self.hits = hits
        self.misses = misses
        self.evictions = evictions
        self.expirations = expirations
        self.entries = entries
        self.current_bytes = current_bytes
        self.max_bytes = max_bytes

    def __repr__(self) -> str:
        return ("CacheStats(" + ", ".join(f"{k}={getattr(self, k)}" for k in self.__slots__) + ")")


class MemoryCache:
    """Blobs kept in memory, bounded by total size in bytes.

    ``put(key, data)`` stores ``bytes``; the weight of an entry is its
    length. When the total would pass ``max_bytes`` the least recently used
    entries are evicted (``evictions`` counts them); an entry larger than
    ``max_bytes`` is never stored. ``ttl_s`` bounds an entry's age since it
    was put, ``tti_s`` its time since last read; expired entries count as
    misses (and in ``expirations``) and are dropped lazily. ``clock``
    returns seconds (monotonic; inject one in tests). All methods are
    thread-safe and O(1) apart from evictions.
    """

    def __init__(
        self,
        max_bytes: int,
        ttl_s: float | None = None,
        tti_s: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 0:
            raise ValueError(f"MemoryCache max_bytes must be an int >= 0, got {max_bytes!r}")
        for name, value in (("ttl_s", ttl_s), ("tti_s", tti_s)):
            if value is not None and not value > 0:
                raise ValueError(f"MemoryCache {name} must be > 0 or None, got {value!r}")
        self.max_bytes = max_bytes
        self.ttl_s = ttl_s
        self.tti_s = tti_s
        self._clock = clock
        self._lock = threading.Lock()
        # key -> [data, inserted_at, last_access]
        self._entries: OrderedDict[Hashable, list] = OrderedDict()
        self._bytes = 0
        self.hits = 0
        self.misses = 0
        self.evictions = 0
        self.expirations = 0

    def __repr__(self) -> str:
        return (f"MemoryCache(max_bytes={self.max_bytes}, ttl_s={self.ttl_s}, "
                f"tti_s={self.tti_s}, current_bytes={self._bytes}, entries={len(self._entries)})")

    @property
    def current_bytes(self) -> int:
        """Total size of the entries held (expired ones not yet dropped included)."""
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)

    def _expired(self, entry: list, now: float) -> bool:
        return ((self.ttl_s is not None and now - entry[1] >= self.ttl_s)
                or (self.tti_s is not None and now - entry[2] >= self.tti_s))

    def _drop(self, key) -> None:
        entry = self._entries.pop(key)
        self._bytes -= len(entry[0])

    def get(self, key) -> bytes | None:
        """The cached bytes, or ``None`` (a miss). A hit refreshes recency and idle time."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                self.misses += 1
                return None
            now = self._clock()
            if self._expired(entry, now):
                self._drop(key)
                self.expirations += 1
                self.misses += 1
                return None
            entry[2] = now
            self._entries.move_to_end(key)
            self.hits += 1
            return entry[0]

    def __contains__(self, key) -> bool:
        """True if ``key`` is held and unexpired; does not count as a hit or touch it."""
        with self._lock:
            entry = self._entries.get(key)
            return entry is not None and not self._expired(entry, self._clock())

    def put(self, key, data: bytes) -> bool:
        """Cache ``data`` under ``key``; False if it is larger than ``max_bytes``.

        Replaces an existing entry (fresh TTL). Evicts least recently used
        entries, expired ones first, until the new total fits.
        """
        if not isinstance(data, bytes):
            data = bytes(data)
        size = len(data)
        if size > self.max_bytes:
            return False
        with self._lock:
            if key in self._entries:
                self._drop(key)
            if self._bytes + size > self.max_bytes:
                self._purge_expired()
                while self._bytes + size > self.max_bytes:
                    _, entry = self._entries.popitem(last=False)
                    self._bytes -= len(entry[0])
                    self.evictions += 1
            now = self._clock()
            self._entries[key] = [data, now, now]
            self._bytes += size
            return True

    def _purge_expired(self) -> None:
        if self.ttl_s is None and self.tti_s is None:
            return
        now = self._clock()
        dead = [k for k, e in self._entries.items() if self._expired(e, now)]
        for k in dead:
            self._drop(k)
        self.expirations += len(dead)

    def purge_expired(self) -> int:
        """Drop every expired entry now; returns how many."""
        with self._lock:
            before = self.expirations
            self._purge_expired()
            return self.expirations - before

    def remove(self, key) -> bool:
        """Forget ``key``; True if it was held."""
        with self._lock:
            if key in self._entries:
                self._drop(key)
                return True
            return False

    def clear(self) -> None:
        """Drop all entries (counters are kept)."""
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    def stats(self) -> CacheStats:
        with self._lock:
            return CacheStats(self.hits, self.misses, self.evictions, self.expirations,
                              len(self._entries), self._bytes, self.max_bytes)
