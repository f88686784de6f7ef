"""Interner benchmarks: compiled vs pure kernel vs a plain dict+list interner.

Corpus (seeded): 1,000,000 path-like strings drawn from 200,000 unique ones
(``dir/dir/dir/file_XXXXX.ext``, about 28 UTF-8 bytes each) in random order;
every unique string appears at least once. Repeats are the *same* ``str``
objects, which favours the baseline (its dict compares by identity first).

``baseline`` is the interner a Python programmer writes first: a dict from
string to key plus a list of strings, ``d.get(s)`` and an append on a miss.

Goals from the issue: ``get_or_intern`` per call >= 1.5x the baseline;
``intern_many`` over the whole corpus >= 3x the baseline loop; at most
(average UTF-8 length + 24) bytes per unique string for the compiled kernel.

- ``InternerTime``: per-call hits (the whole corpus into a filled interner;
  and 1,000,000 hits on a cache-resident set of 5,000 strings, ``_hot``),
  per-call misses (the 200,000 unique strings into a fresh interner),
  ``intern_many`` of the corpus into a fresh interner, per-call ``resolve``
  and ``resolve_many`` of the corpus's keys.
- ``InternerMemory``: ``track_bytes_per_string`` -- ``memory_usage()`` for
  the kernels; for the baseline, tracemalloc around building it from fresh
  string objects (the str objects count: a dict+list interner keeps them
  alive) -- and ``peakmem_intern_unique``, the peak RSS of interning the
  unique strings one by one from freshly decoded text.
"""

from __future__ import annotations

import tracemalloc

import numpy as np

from zako._impl import load_kernels

IMPLS = ["cython", "pure", "baseline"]
UNIQUE = 200_000
CORPUS = 1_000_000
SEED = 20240611

_DIRS = ["src", "lib", "include", "test", "build", "pkg", "core", "util", "net", "io", "app", "cmd", "docs", "third_party"]
_EXTS = [".ts", ".js", ".py", ".h", ".c", ".json", ".md", ".rs"]


def unique_strings(n: int = UNIQUE, seed: int = SEED, *, start: int = 0, stop: int | None = None) -> list[str]:
    """``n`` distinct path-like strings (distinct by their numbered file name),
    or the slice ``start:stop`` of them without building the rest."""
    rng = np.random.default_rng(seed)
    d = rng.integers(0, len(_DIRS), (n, 3))[start:stop].tolist()
    e = rng.integers(0, len(_EXTS), n)[start:stop].tolist()
    ids = rng.permutation(n)[start:stop].tolist()
    dirs, exts = _DIRS, _EXTS
    return [f"{dirs[a]}/{dirs[b]}/{dirs[c]}/file_{i:05x}{exts[x]}" for (a, b, c), i, x in zip(d, ids, e)]


def corpus(unique: list[str], n: int = CORPUS, seed: int = SEED) -> list[str]:
    """``n`` strings from ``unique`` in random order, each unique one at least once."""
    rng = np.random.default_rng(seed + 1)
    idx = np.concatenate([np.arange(len(unique)), rng.integers(0, len(unique), n - len(unique))])
    rng.shuffle(idx)
    return [unique[i] for i in idx.tolist()]


class BaselineInterner:
    """dict + list: what the kernels are measured against."""

    def __init__(self, capacity_hint: int = 0) -> None:
        self._index: dict[str, int] = {}
        self._strings: list[str] = []

    def get_or_intern(self, s: str) -> int:
        key = self._index.get(s)
        if key is None:
            self._strings.append(s)
            key = len(self._strings)
            self._index[s] = key
        return key

    def intern_many(self, strings) -> list[int]:
        get, index, stored = self._index.get, self._index, self._strings
        keys = []
        append = keys.append
        for s in strings:
            key = get(s)
            if key is None:
                stored.append(s)
                key = len(stored)
                index[s] = key
            append(key)
        return keys

    def resolve(self, key: int) -> str:
        return self._strings[key - 1]

    def resolve_many(self, keys) -> list[str]:
        if isinstance(keys, np.ndarray):
            keys = keys.tolist()
        stored = self._strings
        return [stored[k - 1] for k in keys]


def interner_class(impl: str):
    if impl == "baseline":
        return BaselineInterner
    return load_kernels(impl)["interner"].Interner


class InternerTime:
    params = IMPLS
    param_names = ["impl"]
    number = 1
    repeat = (1, 5, 20.0)
    warmup_time = 0
    timeout = 120

    def setup(self, impl):
        self.cls = interner_class(impl)
        self.unique = unique_strings()
        self.corpus = corpus(self.unique)
        self.filled = self.cls()
        keys = self.filled.intern_many(self.corpus)
        self.keys = np.asarray(keys, dtype=np.uint32)
        self.key_list = self.keys.tolist()
        self.hot = self.unique[:5000] * 200

    def time_get_or_intern_hits(self, impl):
        f = self.filled.get_or_intern
        for s in self.corpus:
            f(s)

    def time_get_or_intern_hits_hot(self, impl):
        # 1,000,000 hits on 5,000 strings: cache-resident, so this is the
        # per-call cost without the DRAM misses that dominate the test above.
        f = self.filled.get_or_intern
        for s in self.hot:
            f(s)

    def time_get_or_intern_misses(self, impl):
        f = self.cls().get_or_intern
        for s in self.unique:
            f(s)

    def time_intern_many(self, impl):
        self.cls().intern_many(self.corpus)

    def time_resolve(self, impl):
        f = self.filled.resolve
        for k in self.key_list:
            f(k)

    def time_resolve_many(self, impl):
        self.filled.resolve_many(self.keys)


def _fresh_strings(blob: bytes, ends: list[int]):
    """Each unique string decoded anew, so nothing else holds it."""
    start = 0
    for end in ends:
        yield blob[start:end].decode()
        start = end


class InternerMemory:
    params = IMPLS
    param_names = ["impl"]
    timeout = 120

    def setup(self, impl):
        self.cls = interner_class(impl)
        # Built in slices so that setup itself never holds 200,000 str
        # objects: peak RSS must come from the interner, not from here.
        parts, lengths = [], []
        for start in range(0, UNIQUE, 20_000):
            encoded = [s.encode() for s in unique_strings(start=start, stop=start + 20_000)]
            parts.append(b"".join(encoded))
            lengths.extend(len(b) for b in encoded)
        self.blob = b"".join(parts)
        self.ends = np.cumsum(lengths).tolist()
        self.avg_len = len(self.blob) / len(self.ends)

    def track_bytes_per_string(self, impl):
        if impl == "baseline":
            tracemalloc.start()
            try:
                before = tracemalloc.get_traced_memory()[0]
                it = self.cls()
                f = it.get_or_intern
                for s in _fresh_strings(self.blob, self.ends):
                    f(s)
                held = tracemalloc.get_traced_memory()[0] - before
            finally:
                tracemalloc.stop()
            return held / len(self.ends)
        it = self.cls()
        f = it.get_or_intern
        for s in _fresh_strings(self.blob, self.ends):
            f(s)
        return it.memory_usage()["total_bytes"] / len(it)

    track_bytes_per_string.unit = "bytes"

    def track_goal_bytes_per_string(self, impl):
        """The issue's ceiling for this corpus: average UTF-8 length + 24."""
        return self.avg_len + 24

    track_goal_bytes_per_string.unit = "bytes"

    def peakmem_intern_unique(self, impl):
        it = self.cls()
        f = it.get_or_intern
        for s in _fresh_strings(self.blob, self.ends):
            f(s)
