"""PathTable: a tree of neutral paths stored as (parent id, segment key) pairs.

Interning every full path string stores each directory prefix once per file
below it (``src/lib/core/a.ts``, ``src/lib/core/b.ts``, ...). A ``PathTable``
stores each path as its parent's id plus the interner key of its last part,
so a tree of 100,000 files keeps every directory once and every part string
once in the interner (a file name that recurs in many directories, like
``BUILD.ts``, once in total).

Layout (all numpy, no Python object per path):

* ``parents`` and ``segments``: ``uint32`` arrays indexed by path id. Id 0
  is the root ``.`` (its own parent, segment 0); ids are handed out in
  first-add order, so a parent's id is always below its children's.
* ``slots``: an open-addressing, linear-probing table of ``uint32`` path ids
  (0 = empty, the root is never looked up by pair), kept at most half full,
  that finds the id of a (parent, segment) pair; a probe compares the pair
  stored for the id in the slot.

Cost: 8 bytes of pairs + 4..16 bytes of table per path (doubling slack
included), plus the part strings in the interner. ``children`` is a
vectorized scan of ``parents`` (O(number of paths), no child lists kept);
``resolve`` walks the parents (O(depth)). Scalar reads go through
memoryviews of the numpy buffers, which hand out Python ints cheaply.

Not thread-safe for concurrent ``add``: guard a shared table with a lock.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import operator

import numpy as np

from .path import NeutralPath, _trusted

if TYPE_CHECKING:
    from .intern import Interner

__all__ = ["PathTable"]

_GOLDEN = 0x9E3779B97F4A7C15
_MASK64 = (1 << 64) - 1
_MAX_PATHS = 2**32 - 1


class PathTable:
    """Paths of one tree over ``interner``; ``add`` hands out dense int ids.

    ``add(path) -> int`` (idempotent), ``get(path) -> int | None``,
    ``resolve(id) -> NeutralPath``, ``parent(id) -> int | None`` (None for
    the root ``.``), ``children(id) -> list[int]`` (in id order), ``len``
    (paths stored, the root and every directory prefix included) and
    ``memory_usage()``. Unknown ids raise ``IndexError`` naming the id.
    """

    __slots__ = ("_interner", "_n", "_parents", "_segments", "_par", "_seg", "_slots", "_slot", "_mask",
                 "_last_dir", "_last_dir_id")

    def __init__(self, interner: "Interner", capacity_hint: int = 1024) -> None:
        self._interner = interner
        cap = max(16, int(capacity_hint))
        self._parents = np.zeros(cap, dtype=np.uint32)
        self._segments = np.zeros(cap, dtype=np.uint32)
        self._par = memoryview(self._parents)
        self._seg = memoryview(self._segments)
        nslots = 1 << (2 * cap - 1).bit_length()
        self._slots = np.zeros(nslots, dtype=np.uint32)
        self._slot = memoryview(self._slots)
        self._mask = nslots - 1
        self._n = 1  # id 0: the root "."
        # Files of one directory usually arrive together: remember the last
        # directory so such an add is one lookup instead of one per part.
        self._last_dir = "."
        self._last_dir_id = 0

    @property
    def interner(self) -> "Interner":
        return self._interner

    def __len__(self) -> int:
        return self._n

    def __repr__(self) -> str:
        return f"<PathTable {self._n} paths over interner {self._interner.id:#x}>"

    # -- lookup -------------------------------------------------------------

    def _slot_of(self, parent: int, seg: int) -> int:
        """Index of the slot holding (parent, seg), or of the empty slot that would."""
        slot, par, sg, mask = self._slot, self._par, self._seg, self._mask
        i = ((((parent << 32) | seg) * _GOLDEN) & _MASK64) >> 32 & mask
        while True:
            pid = slot[i]
            if pid == 0 or (par[pid] == parent and sg[pid] == seg):
                return i
            i = (i + 1) & mask

    def _child(self, parent: int, seg: int) -> int:
        return self._slot[self._slot_of(parent, seg)]

    def get(self, path: "NeutralPath | str") -> int | None:
        """The id of ``path`` if it was added (or is a prefix of one), else None; never inserts."""
        text = NeutralPath(path)._text
        if text == ".":
            return 0
        node = 0
        intern_get = self._interner.get
        for part in text.split("/"):
            seg = intern_get(part)
            if seg is None:
                return None
            node = self._child(node, seg)
            if node == 0:
                return None
        return node

    def __contains__(self, path: object) -> bool:
        if not isinstance(path, (NeutralPath, str)):
            return False
        return self.get(path) is not None

    # -- insert -------------------------------------------------------------

    def add(self, path: "NeutralPath | str") -> int:
        """The id of ``path``, adding it and its missing directory prefixes.

        A ``str`` is validated as ``NeutralPath(path)`` (``PathError``).
        Part strings are interned first and capacity is grown before the
        table changes, so a failing call (interner full, out of memory)
        leaves the table as it was. Amortized O(parts) at most; O(1) lookups
        when files of one directory are added one after another.
        """
        text = NeutralPath(path)._text
        if text == ".":
            return 0
        cut = text.rfind("/")
        dir_text = "." if cut < 0 else text[:cut]
        intern = self._interner.get_or_intern
        if dir_text == self._last_dir:
            parent = self._last_dir_id
            seg = intern(text[cut + 1 :])
            self._reserve(1)
            return self._insert(parent, seg)
        segs = [intern(part) for part in text.split("/")]
        self._reserve(len(segs))
        node = 0
        for seg in segs[:-1]:
            node = self._insert(node, seg)
        self._last_dir = dir_text
        self._last_dir_id = node
        return self._insert(node, segs[-1])

    def _insert(self, parent: int, seg: int) -> int:
        i = self._slot_of(parent, seg)
        node = self._slot[i]
        if node:
            return node
        node = self._n
        self._par[node] = parent
        self._seg[node] = seg
        self._slot[i] = node
        self._n = node + 1
        return node

    def _reserve(self, extra: int) -> None:
        need = self._n + extra
        if need > _MAX_PATHS:
            raise OverflowError(f"{self!r} cannot hold {extra} more paths (at most {_MAX_PATHS})")
        if need > len(self._parents):
            cap = max(need, 2 * len(self._parents))
            parents = np.zeros(cap, dtype=np.uint32)
            segments = np.zeros(cap, dtype=np.uint32)
            parents[: self._n] = self._parents[: self._n]
            segments[: self._n] = self._segments[: self._n]
            self._parents, self._segments = parents, segments
            self._par, self._seg = memoryview(parents), memoryview(segments)
        if 2 * need > len(self._slots):
            self._rehash(1 << (2 * need).bit_length())

    def _rehash(self, nslots: int) -> None:
        n = self._n
        ids = np.arange(1, n, dtype=np.uint64)
        keys = (self._parents[1:n].astype(np.uint64) << np.uint64(32)) | self._segments[1:n]
        with np.errstate(over="ignore"):
            home = (keys * np.uint64(_GOLDEN)) >> np.uint64(32)
        mask = nslots - 1
        home = (home & np.uint64(mask)).tolist()
        slots = np.zeros(nslots, dtype=np.uint32)
        view = memoryview(slots)
        for node, i in zip(ids.tolist(), home):
            while view[i]:
                i = (i + 1) & mask
            view[i] = node
        self._slots, self._slot, self._mask = slots, view, mask

    # -- navigation -----------------------------------------------------------

    def _check_id(self, node: int) -> int:
        if isinstance(node, bool):
            raise TypeError(f"a path id is an int, got {node!r}")
        index = operator.index(node)
        if not 0 <= index < self._n:
            raise IndexError(f"{node!r} is not a path id of {self!r}")
        return index

    def resolve(self, node: int) -> NeutralPath:
        """The path with id ``node`` (O(depth) interner lookups)."""
        node = self._check_id(node)
        if node == 0:
            return NeutralPath.dot()
        par, sg, resolve = self._par, self._seg, self._interner.resolve
        parts = []
        while node:
            parts.append(resolve(sg[node]))
            node = par[node]
        parts.reverse()
        return _trusted("/".join(parts))

    def parent(self, node: int) -> int | None:
        """The id of the path's directory, or None for the root ``.``.

        (The directory of a leading ``..`` run such as ``..`` is not stored:
        ``..`` is a child of ``.`` in the table, as it is in the text.)
        """
        node = self._check_id(node)
        return None if node == 0 else self._par[node]

    def children(self, node: int) -> list[int]:
        """Ids of the paths directly below ``node``, in id (first-add) order."""
        node = self._check_id(node)
        found = np.flatnonzero(self._parents[1 : self._n] == node) + 1
        return found.tolist()

    # -- accounting -------------------------------------------------------------

    def memory_usage(self) -> dict[str, int | float]:
        """Bytes held by the table itself (the part strings live in the interner).

        ``pair_bytes`` (parents + segments, capacity included), ``index_bytes``
        (the slot table), ``total_bytes``, ``paths`` and ``bytes_per_path``
        (total over stored paths, directories and the root included).
        """
        pair = self._parents.nbytes + self._segments.nbytes
        index = self._slots.nbytes
        total = pair + index
        return {
            "paths": self._n,
            "pair_bytes": pair,
            "index_bytes": index,
            "total_bytes": total,
            "bytes_per_path": total / self._n,
        }
