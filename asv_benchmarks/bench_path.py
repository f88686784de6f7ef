"""Neutral-path benchmarks: normpath kernels vs ``posixpath.normpath``.

Corpus (seeded): 200,000 valid relative paths of 2..7 parts with ``./``,
``//``, ``name/..`` and ``\\`` separators mixed in (about one in four paths
is already normal, the rest need folding), about 36 characters each, ASCII
with one path in 50 holding a non-ASCII name.

``baseline`` is ``posixpath.normpath`` (the C implementation in CPython
3.11.4+), which validates nothing and does not treat ``\\`` as a separator;
the kernels validate every name. Goal from the issue: the compiled kernel's
per-call ``normalize`` at least 1.5x the baseline.

- ``NormalizeTime``: ``normalize`` per call over the corpus, and
  ``normalize_many`` (baseline: ``list(map(posixpath.normpath, corpus))``).
- ``NeutralPathTime``: ``NeutralPath(text)`` per call and ``join`` of a
  relative part, with the front bound to each kernel (baseline: the same
  work as ``str`` with ``posixpath``; ``pathlib`` for a path-object peer).
- ``PathTableMemory``: bytes per file of a 100,000-file tree stored in a
  ``PathTable`` (the table's arrays plus its part strings in the selected
  interner) vs interning every full path string, for a monorepo-like tree
  (file names recur across packages) and for one where every file name is
  unique (the case least favourable to the table).
"""

from __future__ import annotations

import pathlib
import posixpath

import numpy as np

import zako.path as zpath
from zako._impl import load_kernels
from zako.intern import Interner
from zako.path import NeutralPath
from zako.path_table import PathTable

CORPUS = 200_000
TREE_FILES = 100_000
SEED = 20261128

_DIRS = ["src", "lib", "include", "test", "build", "pkg", "core", "util", "net", "io", "app", "cmd", "docs",
         "third_party", "..foo", ".config", "v1.2"]
_EXTS = [".ts", ".js", ".py", ".h", ".c", ".json", ".md", ".rs"]


def corpus(n: int = CORPUS, seed: int = SEED) -> list[str]:
    """``n`` valid relative paths with ``./``, ``//``, ``x/..`` and ``\\`` mixed in."""
    rng = np.random.default_rng(seed)
    depth = rng.integers(1, 7, n).tolist()
    dirs = rng.integers(0, len(_DIRS), (n, 6)).tolist()
    exts = rng.integers(0, len(_EXTS), n).tolist()
    noise = rng.integers(0, 12, (n, 7)).tolist()
    out = []
    for i in range(n):
        parts = [_DIRS[d] for d in dirs[i][: depth[i]]] + [f"file_{i:05x}{_EXTS[exts[i]]}"]
        if i % 50 == 0:
            parts[0] = "données"
        text = ""
        for j, part in enumerate(parts):
            kind = noise[i][j]
            sep = "\\" if kind == 1 else "//" if kind == 2 else "/"
            if kind == 3:
                part = "./" + part
            elif kind == 4:
                part = "tmp/../" + part
            text += (sep if j else "") + part
        if noise[i][6] == 0:
            text = "../" + text
        out.append(text)
    return out


class NormalizeTime:
    params = ["cython", "pure", "baseline"]
    param_names = ["impl"]
    number = 1
    repeat = (1, 5, 20.0)
    warmup_time = 0
    timeout = 120

    def setup(self, impl):
        self.corpus = corpus()
        if impl == "baseline":
            normpath = posixpath.normpath
            self.normalize = normpath
            self.normalize_many = lambda texts: list(map(normpath, texts))
        else:
            k = load_kernels(impl)["normpath"]
            self.normalize, self.normalize_many = k.normalize, k.normalize_many

    def time_normalize_per_call(self, impl):
        f = self.normalize
        for text in self.corpus:
            f(text)

    def time_normalize_many(self, impl):
        self.normalize_many(self.corpus)


class NeutralPathTime:
    params = ["cython", "pure", "baseline", "pathlib"]
    param_names = ["impl"]
    number = 1
    repeat = (1, 5, 20.0)
    warmup_time = 0
    timeout = 120

    def setup(self, impl):
        self.corpus = corpus(50_000)
        self._saved = zpath._normalize
        if impl in ("cython", "pure"):
            # Bind the front to one kernel for this benchmark only.
            zpath._normalize = load_kernels(impl)["normpath"].normalize
            self.make = NeutralPath
            self.bases = [NeutralPath(t) for t in self.corpus]
        elif impl == "baseline":
            self.make = posixpath.normpath
            self.bases = [posixpath.normpath(t) for t in self.corpus]
        else:
            self.make = pathlib.PurePosixPath
            self.bases = [pathlib.PurePosixPath(t) for t in self.corpus]
        self.impl = impl

    def teardown(self, impl):
        zpath._normalize = self._saved

    def time_construct(self, impl):
        make = self.make
        for text in self.corpus:
            make(text)

    def time_join(self, impl):
        if self.impl == "baseline":
            norm = posixpath.normpath
            for base in self.bases:
                norm(base + "/../x/y.ts")
        else:
            for base in self.bases:
                base.joinpath("../x/y.ts") if self.impl == "pathlib" else base.join("../x/y.ts")


def tree(files: int = TREE_FILES, *, unique_names: bool, seed: int = SEED) -> list[str]:
    """A monorepo of packages with about 20 files each, in tree order."""
    rng = np.random.default_rng(seed)
    vocab = [f"{w}{_EXTS[i % len(_EXTS)]}" for i, w in enumerate(
        f"{a}_{b}" for a in ("main", "util", "types", "index", "api", "model", "view", "test", "config", "io")
        for b in ("core", "impl", "spec", "helpers", "base", "extra", "common", "internal", "public", "v2"))]
    subdirs = ["src", "src/internal", "include", "test", "test/data"]
    names = rng.integers(0, len(vocab), files).tolist()
    subs = rng.integers(0, len(subdirs), files).tolist()
    out = []
    for i in range(files):
        pkg = i // 20
        name = f"file_{i:06d}.ts" if unique_names else vocab[names[i]]
        if i % 20 == 0:
            name = "BUILD.ts"
        out.append(f"pkgs/g{pkg // 50:03d}/p{pkg:05d}/{subdirs[subs[i]]}/{name}")
    return sorted(set(out))


class PathTableMemory:
    params = (["monorepo", "unique_names"], ["path_table", "full_strings"])
    param_names = ["tree", "storage"]
    timeout = 120

    def setup(self, tree_kind, storage):
        self.paths = tree(unique_names=tree_kind == "unique_names")
        self.neutral = [NeutralPath(p) for p in self.paths]

    def track_bytes_per_file(self, tree_kind, storage):
        interner = Interner()
        if storage == "full_strings":
            interner.intern_many(self.paths)
            return interner.memory_usage()["total_bytes"] / len(self.paths)
        table = PathTable(interner)
        for p in self.neutral:
            table.add(p)
        held = table.memory_usage()["total_bytes"] + interner.memory_usage()["total_bytes"]
        return held / len(self.paths)

    track_bytes_per_file.unit = "bytes"


class PathTableTime:
    params = ["path_table", "full_strings"]
    param_names = ["storage"]
    number = 1
    repeat = (1, 5, 20.0)
    warmup_time = 0
    timeout = 120

    def setup(self, storage):
        self.paths = tree(unique_names=False)
        self.neutral = [NeutralPath(p) for p in self.paths]

    def time_add_tree(self, storage):
        if storage == "full_strings":
            f = Interner().get_or_intern
            for p in self.paths:
                f(p)
        else:
            add = PathTable(Interner()).add
            for p in self.neutral:
                add(p)

