"""Digest-keyed cache of transform results.

The key is the blake3 digest of (transform version, options, source), so an
unchanged file never parses twice and a transformer upgrade never serves
stale output. ``TransformCache`` is the interface (``get``/``put`` by hex
key); ``MemoryTransformCache`` is the bounded in-process LRU used by
default; a content-addressed store can back another implementation through
``TransformResult.to_bytes``/``from_bytes``.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from typing import Protocol, runtime_checkable

import blake3

from .result import TransformResult

__all__ = ["TransformCache", "MemoryTransformCache", "StoreTransformCache", "BytesStore", "transform_key", "default_cache"]


def transform_key(source: str, *, typescript: bool, version: str) -> str:
    """Hex blake3 of everything the output depends on (cost: one hash pass)."""
    h = blake3.blake3(f"zako-transform\0{version}\0ts={int(typescript)}\0".encode())
    h.update(source.encode("utf-8", "surrogatepass"))
    return h.hexdigest()


@runtime_checkable
class TransformCache(Protocol):
    """Anything that stores transform results by key. Must be thread-safe."""

    def get(self, key: str) -> TransformResult | None: ...

    def put(self, key: str, result: TransformResult) -> None: ...


class MemoryTransformCache:
    """Bounded LRU of transform results, by entry count and by code bytes.

    ``hits``/``misses`` count lookups. Thread-safe; ``get``/``put`` are O(1).
    """

    def __init__(self, max_entries: int = 1024, max_bytes: int = 64 << 20) -> None:
        if max_entries < 1 or max_bytes < 1:
            raise ValueError(f"cache bounds must be positive, got max_entries={max_entries}, max_bytes={max_bytes}")
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.hits = 0
        self.misses = 0
        self._bytes = 0
        self._items: OrderedDict[str, TransformResult] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> TransformResult | None:
        with self._lock:
            result = self._items.get(key)
            if result is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return result

    def put(self, key: str, result: TransformResult) -> None:
        size = len(result.code)
        if size > self.max_bytes:
            return  # one oversized module must not flush everything else
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._bytes -= len(old.code)
            self._items[key] = result
            self._bytes += size
            while len(self._items) > self.max_entries or self._bytes > self.max_bytes:
                _, evicted = self._items.popitem(last=False)
                self._bytes -= len(evicted.code)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0

    def __len__(self) -> int:
        return len(self._items)

    @property
    def size_bytes(self) -> int:
        return self._bytes


class BytesStore(Protocol):
    """A persistent key -> bytes store (e.g. ``zako.project``'s action cache)."""

    def get(self, key: str) -> bytes | None: ...

    def put(self, key: str, data: bytes) -> None: ...


_log = logging.getLogger(__name__)


class StoreTransformCache:
    """A memory LRU in front of a persistent ``BytesStore``, so transforms
    survive the process (the CLI's next run parses nothing unchanged).

    A store that fails or returns malformed bytes is a miss, never an error:
    a cache must not fail a build. Thread-safe if the store is.
    """

    def __init__(self, store: BytesStore, *, memory: MemoryTransformCache | None = None) -> None:
        self.store = store
        self.memory = memory if memory is not None else MemoryTransformCache()
        self.store_hits = 0

    def get(self, key: str) -> TransformResult | None:
        hit = self.memory.get(key)
        if hit is not None:
            return hit
        try:
            data = self.store.get(key)
        except Exception as exc:  # noqa: BLE001 - any store failure is a miss
            _log.warning("transform cache store failed reading %s: %s", key, exc)
            return None
        if data is None:
            return None
        try:
            result = TransformResult.from_bytes(data)
        except ValueError as exc:
            _log.warning("ignoring a malformed cached transform %s: %s", key, exc)
            return None
        self.store_hits += 1
        self.memory.put(key, result)
        return result

    def put(self, key: str, result: TransformResult) -> None:
        self.memory.put(key, result)
        try:
            self.store.put(key, result.to_bytes())
        except Exception as exc:  # noqa: BLE001 - the result is still good; only persistence failed
            _log.warning("transform cache store failed writing %s: %s", key, exc)


_DEFAULT = MemoryTransformCache()


def default_cache() -> MemoryTransformCache:
    """The process-wide cache loaders share unless given their own."""
    return _DEFAULT
