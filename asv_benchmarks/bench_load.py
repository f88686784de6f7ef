"""``zako load`` of a generated 1,000-package tree (``zako.devtools.gentree``).

- ``time_cold``: empty cache, every script evaluated in V8 (and stored);
- ``time_warm``: a cache filled by an earlier load: nothing evaluated;
- ``peakmem_cold`` / ``peakmem_warm``: the process's peak RSS for each;
- ``track_rss_growth``: RSS growth over 5 repeated in-process warm loads.

Each is run with ``jobs`` 1 and 2 (V8 workers) in the same class, so one
run shows the parallel speed-up; the 1-worker case is the baseline. The
tree and the warm cache are made once in ``setup_cache``.

Warm loads (issue 12: "most of it in build_package -- glob expansion,
label parsing"; Bazel's warm server is the peer, and it is not in CI):

- ``WarmLoad.time_load`` / ``peakmem_load``: a whole warm load of the tree
  (every script a cache hit) beside the stdlib floor -- ``os.walk`` of the
  same tree and ``fnmatch`` of the same globs, nothing else -- so the
  ratio says what the cache lookups, labels and interning cost above
  merely listing and matching the files;
- ``WarmGlobs.time_globs`` / ``peakmem_globs``: the glob part alone,
  discovery's listing plus ``PackageFiles.expand`` against ``os.walk`` plus
  ``fnmatch`` over the same packages and patterns.
"""

from __future__ import annotations

import fnmatch
import os
import shutil
import tempfile

from zako.devtools.gentree import generate
from zako.global_state import GlobalState, process_rss_bytes

N_PACKAGES = 1000


class LoadTree:
    params = [1, 2]
    param_names = ["jobs"]
    # One cold load is several seconds: one call per sample, few samples.
    number = 1
    repeat = (1, 3, 30.0)
    warmup_time = 0.0
    timeout = 300

    def setup_cache(self):
        base = os.path.abspath("zako-bench-load")
        shutil.rmtree(base, ignore_errors=True)
        tree = os.path.join(base, "tree")
        generate(tree, N_PACKAGES, libraries=8, seed=1)
        warm = os.path.join(base, "warm-cache")
        with GlobalState(cache_dir=warm, jobs=2) as state:
            result = state.load(tree)
        assert result.ok and result.stats["evaluated"] == N_PACKAGES + 1, result.stats
        return {"tree": tree, "warm": warm}

    def setup(self, paths, jobs):
        self.tree = paths["tree"]
        self.cold_dir = tempfile.mkdtemp(prefix="zako-cold-")
        self.cold = GlobalState(cache_dir=self.cold_dir, jobs=jobs)
        self.warm = GlobalState(cache_dir=paths["warm"], jobs=jobs)

    def teardown(self, paths, jobs):
        self.cold.close()
        self.warm.close()
        shutil.rmtree(self.cold_dir, ignore_errors=True)

    def time_cold(self, paths, jobs):
        self.cold.load(self.tree)

    def time_warm(self, paths, jobs):
        self.warm.load(self.tree)

    def peakmem_cold(self, paths, jobs):
        self.cold.load(self.tree)

    def peakmem_warm(self, paths, jobs):
        self.warm.load(self.tree)

    def track_rss_growth(self, paths, jobs):
        """Bytes of RSS added by loads 2..5 of the same tree (the first load
        pays for one-time allocations: engines, caches, interned strings)."""
        self.warm.load(self.tree)
        before = process_rss_bytes() or 0
        for _ in range(4):
            self.warm.load(self.tree)
        return (process_rss_bytes() or 0) - before

    track_rss_growth.unit = "bytes"


# What the generated build files glob (gentree): a library of every source but
# tests, and the tests. fnmatch's "*" crosses "/", so "src/*.ts" is the
# stdlib's spelling of "src/**/*.ts" on this tree (no hidden files).
_GLOBS = {
    ".ts": ([(["src/**/*.ts"], ["src/**/*.test.ts"]), (["src/**/*.test.ts"], [])],
            [(["src/*.ts"], ["src/*.test.ts"]), (["src/*.test.ts"], [])]),
    ".js": ([(["src/**/*.js"], ["src/**/*.test.js"]), (["src/**/*.test.js"], [])],
            [(["src/*.js"], ["src/*.test.js"]), (["src/*.test.js"], [])]),
}


def _zako_globs(tree: str) -> int:
    from zako.project.discovery import discover
    from zako.project.globs import PackageFiles

    layout = discover(tree, list_files=True)
    n = 0
    for entry in layout.packages:
        pkg_dir = os.path.join(tree, *entry.path.split("/"))
        files = PackageFiles(pkg_dir, project_root=tree, listing=layout.take_listing(entry.path))
        for include, exclude in _GLOBS[os.path.splitext(entry.build_file)[1]][0]:
            n += len(files.expand(include, exclude))
    return n


def _stdlib_globs(tree: str) -> int:
    """The same matches with the standard library: one ``os.walk``, each
    package's files collected below it, ``fnmatch`` per pattern."""
    packages: dict[str, list[str]] = {}
    ext: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(tree):
        dirnames[:] = [d for d in dirnames if not d.startswith(".") and d != "node_modules"]
        rel = os.path.relpath(dirpath, tree).replace(os.sep, "/")
        build = [f for f in filenames if f in ("BUILD.ts", "BUILD.js")]
        if build:
            packages[rel] = []
            ext[rel] = os.path.splitext(build[0])[1]
        owner = rel
        while owner not in packages and owner not in (".", ""):
            owner = os.path.dirname(owner) or "."
        if owner in packages:
            inner = "" if owner == rel else rel[len(owner) + 1:] + "/"
            packages[owner].extend(inner + f for f in filenames)
    n = 0
    for pkg, files in packages.items():
        files.sort()
        for include, exclude in _GLOBS[ext[pkg]][1]:
            matched = {f for p in include for f in fnmatch.filter(files, p)}
            matched -= {f for p in exclude for f in fnmatch.filter(files, p)}
            n += len(matched)
    return n


def _warm_tree(base: str, n_packages: int) -> dict:
    shutil.rmtree(base, ignore_errors=True)
    tree = os.path.join(base, "tree")
    generate(tree, n_packages, libraries=8, seed=1)
    warm = os.path.join(base, "warm-cache")
    with GlobalState(cache_dir=warm, jobs=2) as state:
        result = state.load(tree)
    assert result.ok and result.stats["evaluated"] == n_packages + 1, result.stats
    return {"tree": tree, "warm": warm}


class WarmLoad:
    """A warm ``zako load`` of 1,000 packages against the stdlib floor."""

    params = ["zako", "os.walk+fnmatch"]
    param_names = ["impl"]
    number = 1
    repeat = (1, 5, 20.0)
    warmup_time = 0.0
    timeout = 300

    def setup_cache(self):
        return _warm_tree(os.path.abspath("zako-bench-warm"), N_PACKAGES)

    def setup(self, paths, impl):
        self.tree = paths["tree"]
        self.state = GlobalState(cache_dir=paths["warm"], jobs=1) if impl == "zako" else None

    def teardown(self, paths, impl):
        if self.state is not None:
            self.state.close()

    def _run(self):
        if self.state is None:
            return _stdlib_globs(self.tree)
        result = self.state.load(self.tree)
        assert result.stats["evaluated"] == 0, result.stats
        return result

    def time_load(self, paths, impl):
        self._run()

    def peakmem_load(self, paths, impl):
        self._run()


class WarmGlobs:
    """The glob part of a warm load: zako's walk and matchers against
    ``os.walk`` + ``fnmatch``, over the same 1,000 packages and patterns."""

    params = ["zako", "os.walk+fnmatch"]
    param_names = ["impl"]
    number = 1
    repeat = (1, 5, 10.0)
    warmup_time = 0.0

    def setup_cache(self):
        base = os.path.abspath("zako-bench-globs")
        shutil.rmtree(base, ignore_errors=True)
        tree = os.path.join(base, "tree")
        generate(tree, N_PACKAGES, libraries=8, seed=1)
        zako_n, stdlib_n = _zako_globs(tree), _stdlib_globs(tree)
        assert zako_n == stdlib_n, (zako_n, stdlib_n)  # the two really do the same work
        return tree

    def _run(self, tree, impl):
        return _zako_globs(tree) if impl == "zako" else _stdlib_globs(tree)

    def time_globs(self, tree, impl):
        self._run(tree, impl)

    def peakmem_globs(self, tree, impl):
        self._run(tree, impl)
