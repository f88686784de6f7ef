"""String interner, pure-Python reference kernel.

Stores strings the way the compiled kernel does -- UTF-8 bytes in growable
arena chunks, per-key offsets and lengths in numpy arrays -- but indexes them
with a ``dict`` instead of an open-addressing table. It is the readable
statement of the contract in DESIGN.md section 1; ``zako._core.interner`` must
agree with it on every input, errors included.
"""

from __future__ import annotations

import operator
import secrets
import sys
import threading
from collections.abc import Iterable
from os import PathLike

import numpy as np

from .. import _interner_file
from ..exceptions import (
    InternerEncodingError,
    InternerError,
    InternerFileError,
    InternerFullError,
    InternerTypeError,
    UnknownKeyError,
)

__all__ = ["Interner", "InternerError", "MAX_KEYS", "CHUNK_BYTES"]

MAX_KEYS = 2**32 - 2
# Arena chunk size: big enough to amortize allocation, small enough that the
# unused tail of the last chunk is noise next to the strings themselves.
CHUNK_BYTES = 256 * 1024


def _check_max_keys(max_keys: int) -> int:
    max_keys = operator.index(max_keys)
    if not 1 <= max_keys <= MAX_KEYS:
        raise ValueError(f"max_keys must be in 1..{MAX_KEYS}, got {max_keys}")
    return max_keys


class Interner:
    """Maps strings to nonzero ``int`` keys ``1 .. max_keys`` in first-intern order."""

    def __init__(self, capacity_hint: int = 1024, *, max_keys: int = MAX_KEYS) -> None:
        capacity_hint = operator.index(capacity_hint)
        if capacity_hint < 0:
            raise ValueError(f"capacity_hint must be >= 0, got {capacity_hint}")
        self._max_keys = _check_max_keys(max_keys)
        self._id = secrets.randbits(64)
        cap = max(16, capacity_hint + 1)
        # Slot 0 of the per-key arrays is unused so that key == index.
        self._offsets = np.zeros(cap, dtype=np.uint64)  # (chunk << 32) | offset in chunk
        self._lengths = np.zeros(cap, dtype=np.uint32)
        self._chunks: list[bytearray] = []
        self._chunk_used = 0  # bytes used in self._chunks[-1]
        self._index: dict[str, int] = {}
        self._count = 0
        self._lock = threading.Lock()

    # -- identity ------------------------------------------------------------

    @property
    def id(self) -> int:
        """Random 64-bit id fixed at creation, kept by ``save``/``load``."""
        return self._id

    @property
    def max_keys(self) -> int:
        return self._max_keys

    def _name(self) -> str:
        return f"interner {self._id:016x}"

    def __repr__(self) -> str:
        return f"<Interner id={self._id:016x} strings={self._count}>"

    # -- lookups -------------------------------------------------------------

    def __len__(self) -> int:
        return self._count

    def __contains__(self, s: object) -> bool:
        return isinstance(s, str) and s in self._index

    def get(self, s: str) -> int | None:
        """Key of ``s`` if interned, else None. Never inserts."""
        if not isinstance(s, str):
            raise InternerTypeError(f"{self._name()}: expected str, got {type(s).__name__} {s!r:.80}")
        return self._index.get(s)

    def resolve(self, key: int) -> str:
        """The string of ``key``; ``UnknownKeyError`` (a ``KeyError``) if none."""
        try:
            k = operator.index(key)
        except TypeError:
            raise InternerTypeError(
                f"{self._name()}: key must be an int, got {type(key).__name__} {key!r:.80}"
            ) from None
        if not 1 <= k <= self._count:
            raise UnknownKeyError(f"{self._name()}: unknown key {k}")
        off = int(self._offsets[k])
        chunk, pos = off >> 32, off & 0xFFFFFFFF
        return bytes(self._chunks[chunk][pos : pos + int(self._lengths[k])]).decode("utf-8")

    def resolve_many(self, keys: Iterable[int]) -> list[str]:
        if isinstance(keys, np.ndarray):
            keys = keys.tolist()
        return [self.resolve(k) for k in keys]

    # -- inserts -------------------------------------------------------------

    def get_or_intern(self, s: str) -> int:
        """Key of ``s``, interning it first if new."""
        key = self._index.get(s) if type(s) is str else None
        if key is not None:
            return key
        with self._lock:
            return self._insert(s)

    get_or_intern_static = get_or_intern

    def intern_many(self, strings: Iterable[str]) -> np.ndarray:
        """Keys of all ``strings`` as a ``uint32`` array; all-or-nothing."""
        with self._lock:
            start_count, start_chunks, start_used = self._count, len(self._chunks), self._chunk_used
            keys: list[int] = []
            try:
                for s in strings:
                    key = self._index.get(s) if type(s) is str else None
                    keys.append(key if key is not None else self._insert(s))
            except BaseException:
                self._rollback(start_count, start_chunks, start_used)
                raise
        return np.array(keys, dtype=np.uint32)

    def _encode(self, s: object) -> bytes:
        if not isinstance(s, str):
            raise InternerTypeError(f"{self._name()}: expected str, got {type(s).__name__} {s!r:.80}")
        try:
            return s.encode("utf-8")
        except UnicodeEncodeError as e:
            raise InternerEncodingError(
                f"{self._name()}: string {s!r:.80} cannot be encoded as UTF-8 ({e.reason})"
            ) from None

    def _insert(self, s: object) -> int:
        """Insert ``s`` (caller holds the lock). Leaves state unchanged on error."""
        data = self._encode(s)
        assert isinstance(s, str)
        existing = self._index.get(s)
        if existing is not None:  # another thread won the race
            return existing
        if self._count >= self._max_keys:
            raise InternerFullError(
                f"{self._name()}: all {self._max_keys} keys are taken; cannot intern {s!r:.80}"
            )
        key = self._count + 1
        if key >= len(self._offsets):
            self._grow_entries(key + 1)
        n = len(data)
        if not self._chunks or self._chunk_used + n > len(self._chunks[-1]):
            self._chunks.append(bytearray(max(CHUNK_BYTES, n)))
            self._chunk_used = 0
        chunk = self._chunks[-1]
        chunk[self._chunk_used : self._chunk_used + n] = data
        self._offsets[key] = ((len(self._chunks) - 1) << 32) | self._chunk_used
        self._lengths[key] = n
        self._chunk_used += n
        self._index[str(s)] = key
        self._count = key
        return key

    def _grow_entries(self, need: int) -> None:
        cap = len(self._offsets)
        while cap < need:
            cap += cap // 2 + 16
        offsets = np.zeros(cap, dtype=np.uint64)
        lengths = np.zeros(cap, dtype=np.uint32)
        offsets[: len(self._offsets)] = self._offsets
        lengths[: len(self._lengths)] = self._lengths
        self._offsets, self._lengths = offsets, lengths

    def _rollback(self, count: int, chunks: int, used: int) -> None:
        for key in range(count + 1, self._count + 1):
            del self._index[self.resolve(key)]
        self._offsets[count + 1 : self._count + 1] = 0
        self._lengths[count + 1 : self._count + 1] = 0
        del self._chunks[chunks:]
        self._chunk_used = used
        self._count = count

    # -- persistence ---------------------------------------------------------

    def _export(self) -> tuple[np.ndarray, bytes]:
        lengths = self._lengths[1 : self._count + 1].copy()
        parts = []
        for key in range(1, self._count + 1):
            off = int(self._offsets[key])
            chunk, pos = off >> 32, off & 0xFFFFFFFF
            parts.append(bytes(self._chunks[chunk][pos : pos + int(self._lengths[key])]))
        return lengths, b"".join(parts)

    def save(self, path: str | PathLike) -> None:
        """Write the documented format atomically (temp file, fsync, rename)."""
        with self._lock:
            lengths, data = self._export()
            _interner_file.write(path, self._id, self._max_keys, lengths, data)

    @classmethod
    def load(cls, path: str | PathLike) -> "Interner":
        """Read a file written by ``save`` of either implementation."""
        iid, max_keys, lengths, data = _interner_file.read(path)
        self = cls(len(lengths), max_keys=max_keys)
        self._id = iid
        pos = 0
        for n in lengths.tolist():
            try:
                s = data[pos : pos + n].decode("utf-8")
            except UnicodeDecodeError:
                raise InternerFileError(f"interner file {str(path)!r} holds invalid UTF-8") from None
            pos += n
            if s in self._index:
                raise InternerFileError(f"interner file {str(path)!r} holds {s!r:.80} twice")
            self._insert(s)
        return self

    # -- accounting ----------------------------------------------------------

    def memory_usage(self) -> dict[str, int]:
        """Bytes really held: arena chunks, per-key arrays, and the dict index
        including the ``str`` objects it keeps alive."""
        arena = sum(len(c) for c in self._chunks)
        entries = self._offsets.nbytes + self._lengths.nbytes
        index = sys.getsizeof(self._index) + sum(sys.getsizeof(s) for s in self._index)
        return {
            "strings": self._count,
            "arena_bytes": arena,
            "arena_used_bytes": arena - (len(self._chunks[-1]) - self._chunk_used if self._chunks else 0),
            "entry_bytes": entries,
            "index_bytes": index,
            "total_bytes": arena + entries + index,
        }
