"""String interner, pure-Python reference kernel.

Stores strings the way the compiled kernel does -- UTF-8 bytes in growable
arena chunks, per-key offsets and lengths in numpy arrays -- but indexes them
with a ``dict`` instead of an open-addressing table. It is the readable
statement of the contract in DESIGN.md section 1; ``zako._core.interner`` must
agree with it on every input, errors included.
"""

from __future__ import annotations

import contextlib
import operator
import secrets
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
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


class _Deferred(Exception):
    """An error found while the write lock is held; ``make()`` builds it."""

    def __init__(self, make: Callable[[], InternerError]) -> None:
        self.make = make


def _exact(s: str) -> str:
    """``s`` as an exact ``str``: a subclass's own ``__hash__``/``__eq__``
    must not decide identity (the compiled kernel compares UTF-8 bytes)."""
    return s if type(s) is str else str.__str__(s)


def _check_max_keys(max_keys: int) -> int:
    max_keys = operator.index(max_keys)
    if not 1 <= max_keys <= MAX_KEYS:
        raise ValueError(f"max_keys must be in 1..{MAX_KEYS}, got {max_keys}")
    return max_keys


class Interner:
    """Maps strings to nonzero ``int`` keys ``1 .. max_keys`` in first-intern order.

    ``capacity_hint`` pre-sizes storage for that many strings (a hint only).
    Thread-safe: lookups take no lock (a dict read under the GIL); inserts
    serialize on a lock and publish a key only once it resolves. Errors are
    the ``InternerError`` subclasses of ``zako.exceptions``, each naming the
    interner id; a failed call changes nothing.
    """

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
        self._owner: int | None = None  # thread ident of the writer holding _lock

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
        return isinstance(s, str) and _exact(s) in self._index

    def get(self, s: str) -> int | None:
        """Key of ``s`` if interned, else None. Never inserts.

        A string UTF-8 cannot encode was never interned: None, not an error.
        """
        if not isinstance(s, str):
            raise self._type_error(s)
        return self._index.get(_exact(s))

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
        """Strings of ``keys`` (ints, or a uint32 array), in order; errors as ``resolve``."""
        if isinstance(keys, np.ndarray):
            keys = keys.tolist()
        try:
            it = iter(keys)
        except TypeError:
            raise InternerTypeError(
                f"{self._name()}: resolve_many expects an iterable of keys, got {type(keys).__name__}"
            ) from None
        return [self.resolve(k) for k in it]

    # -- inserts -------------------------------------------------------------

    def get_or_intern(self, s: str) -> int:
        """Key of ``s``, interning it first if new."""
        key = self._index.get(s) if type(s) is str else None
        if key is not None:
            return key
        with self._writing():
            pending: dict[str, int] = {}
            key = self._stage(s, pending)
            self._publish(pending)
            return key

    get_or_intern_static = get_or_intern

    def intern_many(self, strings: Iterable[str]) -> np.ndarray:
        """Keys of all ``strings`` as a ``uint32`` array; all-or-nothing.

        ``strings`` is any iterable of ``str`` (a bare ``str`` is refused: it
        would intern its characters). On any error no string of the batch
        stays interned, and no other thread ever saw one of its keys.
        """
        if isinstance(strings, str):
            raise InternerTypeError(
                f"{self._name()}: intern_many expects an iterable of str, got a str {strings!r:.80}"
            )
        if type(strings) is not list and type(strings) is not tuple:
            try:
                it = iter(strings)
            except TypeError:
                raise InternerTypeError(
                    f"{self._name()}: intern_many expects an iterable of str, got {type(strings).__name__}"
                ) from None
            strings = list(it)  # run the caller's iterator before taking the lock
        keys: list[int] = []
        with self._writing():
            mark = (len(self._chunks), self._chunk_used)
            pending: dict[str, int] = {}
            try:
                for s in strings:
                    key = self._index.get(s) if type(s) is str else None
                    keys.append(key if key is not None else self._stage(s, pending))
            except BaseException:
                # Staged keys were never published: only the arena moved.
                del self._chunks[mark[0] :]
                self._chunk_used = mark[1]
                raise
            self._publish(pending)
        return np.array(keys, dtype=np.uint32)

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        """Hold the write lock. Errors found under it arrive as ``_Deferred``
        and are built after it is released, since their messages run the
        caller's ``__repr__``: no caller code ever runs under the lock."""
        me = threading.get_ident()
        if self._owner == me:
            # Only a finalizer run by an allocation inside a write gets here;
            # waiting for our own lock would hang.
            raise InternerError(f"{self._name()}: re-entrant write from the thread already writing")
        try:
            with self._lock:
                self._owner = me
                try:
                    yield
                finally:
                    self._owner = None
        except _Deferred as d:
            raise d.make() from None

    def _type_error(self, s: object) -> InternerTypeError:
        return InternerTypeError(f"{self._name()}: expected str, got {type(s).__name__} {s!r:.80}")

    def _encode(self, s: object) -> bytes:
        if not isinstance(s, str):
            raise _Deferred(lambda: self._type_error(s))
        try:
            return str.encode(s, "utf-8")
        except UnicodeEncodeError as e:
            reason = e.reason
        raise _Deferred(
            lambda: InternerEncodingError(
                f"{self._name()}: string {s!r:.80} cannot be encoded as UTF-8 ({reason})"
            )
        )

    def _stage(self, s: object, pending: dict[str, int]) -> int:
        """Key of ``s`` among published and ``pending`` keys, else store it as
        the next pending key. Caller holds the lock. Stored but unpublished
        entries are invisible: ``resolve`` stops at ``_count`` and lookups go
        through ``_index``, so a failure needs no undo beyond the arena."""
        data = self._encode(s)
        text = _exact(s)  # type: ignore[arg-type]  # messages still show s itself
        key = self._index.get(text)
        if key is None:
            key = pending.get(text)
        if key is not None:  # interned already (maybe by another thread), or earlier in this batch
            return key
        if self._count + len(pending) >= self._max_keys:
            raise _Deferred(
                lambda: InternerFullError(
                    f"{self._name()}: all {self._max_keys} keys are taken; cannot intern {s!r:.80}"
                )
            )
        n = len(data)
        if n > 0xFFFFFFFF:
            raise InternerFullError(f"{self._name()}: a string of {n} bytes exceeds the 4 GiB limit")
        key = self._count + len(pending) + 1
        if key >= len(self._offsets):
            self._grow_entries(key + 1)
        if not self._chunks or self._chunk_used + n > len(self._chunks[-1]):
            self._chunks.append(bytearray(max(CHUNK_BYTES, n)))
            self._chunk_used = 0
        chunk = self._chunks[-1]
        chunk[self._chunk_used : self._chunk_used + n] = data
        self._offsets[key] = ((len(self._chunks) - 1) << 32) | self._chunk_used
        self._lengths[key] = n
        self._chunk_used += n
        pending[text] = key
        return key

    def _publish(self, pending: dict[str, int]) -> None:
        # Count first: a key must resolve as soon as a lookup can return it.
        self._count += len(pending)
        self._index.update(pending)

    def _grow_entries(self, need: int) -> None:
        cap = len(self._offsets)
        while cap < need:
            cap += cap // 2 + 16
        offsets = np.zeros(cap, dtype=np.uint64)
        lengths = np.zeros(cap, dtype=np.uint32)
        offsets[: len(self._offsets)] = self._offsets
        lengths[: len(self._lengths)] = self._lengths
        self._offsets, self._lengths = offsets, lengths

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
        pending: dict[str, int] = {}
        pos = 0
        for n in lengths.tolist():  # valid UTF-8, not too many: _stage cannot fail
            try:
                s = data[pos : pos + n].decode("utf-8")
            except UnicodeDecodeError:
                raise InternerFileError(f"interner file {str(path)!r} holds invalid UTF-8") from None
            pos += n
            if s in pending:
                raise InternerFileError(f"interner file {str(path)!r} holds {s!r:.80} twice")
            self._stage(s, pending)
        self._publish(pending)
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
