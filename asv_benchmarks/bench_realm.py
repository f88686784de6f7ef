"""Realm benchmarks (issue 12): what one locked-down context per worker buys.

- ``Overhead``: ``Engine.evaluate("return 1")`` against a bare
  ``py_mini_racer.MiniRacer().eval("1")`` in a live context, timed in the
  same run, interleaved. ``time_return_1`` per implementation (``realm``,
  ``isolate``: a fresh isolate per evaluation, ``bare``);
  ``track_overhead_ms``: the engine's median minus the bare median, in ms
  (goal: realm ≤ 0.5 ms).
- ``ModuleEvaluation``: a typical BUILD file of a ``zako.devtools.gentree``
  tree (it imports ``zako:build``, a shared library and its helpers)
  through ``Engine.execute_module``, realm against isolate.
- ``CoreImport``: what importing ``zako:core`` (and so ``zako:semver``)
  adds to an evaluation: a build file that imports it and uses
  ``version``, against one that imports nothing, both through
  ``Engine.execute_module`` in a live realm. ``time_execute_module`` per
  file; ``track_core_cost_ms``: median of the importing file minus median
  of the plain one, sampled alternately in one call.
- ``WorkerScaling``: a cold in-process load (nothing cached) of a generated
  1,000-package tree with 1 worker and with 2; ``track_speedup`` is the
  one-worker time over the two-worker time (goal ≥ 1.7 on 2 cores). One
  load per worker count per sample, so a ``--quick`` run costs two loads.
- ``PeakRss``: ``python -m zako load TREE --no-cache --json`` of the same
  tree in a subprocess, as a user runs it; ``track_peak_rss_mib`` is the
  child's own high-water mark (``VmHWM``, the ``stats.peak_rss_bytes`` of
  its JSON), per isolation mode.

Timings on a shared machine are noisy; the ratios (overhead against a
bare eval run beside it, speed-up of two loads run back to back) are the
steadier figures.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from py_mini_racer import MiniRacer

from zako.devtools.gentree import generate, package_path
from zako.global_state import GlobalState
from zako.v8 import ContextType, Engine, ModuleLoader
from zako.v8.transpile import MemoryTransformCache

N_PACKAGES = 1000
#: Interleaved samples of each side in one ``track_overhead_ms`` call.
OVERHEAD_SAMPLES = 200


def _tree(n_packages: int, name: str) -> str:
    base = os.path.abspath(f"zako-bench-realm-{name}")
    shutil.rmtree(base, ignore_errors=True)
    tree = os.path.join(base, "tree")
    generate(tree, n_packages, libraries=8, seed=1)
    return tree


class Overhead:
    params = ["realm", "isolate", "bare"]
    param_names = ["impl"]

    def setup(self, impl):
        self.bare = MiniRacer()
        self.engine = Engine(isolation=impl) if impl != "bare" else None
        # warm both paths: the first context pays for V8 and thread start-up
        for _ in range(3):
            self._one(impl)
            self.bare.eval("1")

    def teardown(self, impl):
        if self.engine is not None:
            self.engine.close()
        self.bare.close()

    def _one(self, impl):
        if impl == "bare":
            return self.bare.eval("1")
        return self.engine.evaluate("return 1").value

    def time_return_1(self, impl):
        self._one(impl)

    def track_overhead_ms(self, impl):
        """Median ms of ``impl`` minus the median of a bare eval in a live
        context, sampled alternately in this call (0 for ``bare`` itself)."""
        if impl == "bare":
            return 0.0
        samples = OVERHEAD_SAMPLES if impl == "realm" else OVERHEAD_SAMPLES // 4
        ours, bare = [], []
        clock = time.perf_counter
        for _ in range(samples):
            t0 = clock()
            self.engine.evaluate("return 1")
            t1 = clock()
            self.bare.eval("1")
            t2 = clock()
            ours.append(t1 - t0)
            bare.append(t2 - t1)
        return (statistics.median(ours) - statistics.median(bare)) * 1000.0

    track_overhead_ms.unit = "ms"


class ModuleEvaluation:
    params = ["realm", "isolate"]
    param_names = ["isolation"]

    def setup_cache(self):
        return _tree(20, "modules")

    def setup(self, tree, isolation):
        # package 3: a BUILD file importing a library, with globbed sources and deps
        build = next(f for f in os.listdir(os.path.join(tree, *package_path(3).split("/"))) if f.startswith("BUILD."))
        self.specifier = f"{package_path(3)}/{build}"
        self.loader = ModuleLoader(tree, transform_cache=MemoryTransformCache())
        self.engine = Engine(isolation=isolation)
        result = self.time_execute_module(tree, isolation)
        assert result.exception is None and result.declarations["targets"], result

    def teardown(self, tree, isolation):
        self.engine.close()

    def time_execute_module(self, tree, isolation):
        return self.engine.execute_module(self.specifier, context_type=ContextType.BUILD, loader=self.loader)


_CORE_SOURCES = {
    "nothing": "export const ok = 1;\n",
    "zako:core": 'import { version } from "zako:core";\nexport const ok = `${version}`.length > 0 ? 1 : 0;\n',
}


class CoreImport:
    params = list(_CORE_SOURCES)
    param_names = ["imports"]

    def setup(self, imports):
        self.tmp = tempfile.mkdtemp(prefix="zako-bench-core-")
        self.loaders = {
            k: ModuleLoader(self.tmp, memory_modules={"main": src}, transform_cache=MemoryTransformCache())
            for k, src in _CORE_SOURCES.items()
        }
        self.engine = Engine()
        for k in _CORE_SOURCES:  # warm: the realm compiles each builtin's factory once
            for _ in range(5):
                result = self._one(k)
            assert result.exception is None and result.value["ok"] == 1, result

    def teardown(self, imports):
        self.engine.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def _one(self, imports):
        return self.engine.execute_module("zako-memory:main", context_type=ContextType.BUILD, loader=self.loaders[imports])

    def time_execute_module(self, imports):
        self._one(imports)

    def track_core_cost_ms(self, imports):
        """Median ms of the ``zako:core`` file minus the median of the plain
        one, sampled alternately in this call (the same for both params)."""
        core, plain = [], []
        clock = time.perf_counter
        for _ in range(OVERHEAD_SAMPLES):
            t0 = clock()
            self._one("zako:core")
            t1 = clock()
            self._one("nothing")
            t2 = clock()
            core.append(t1 - t0)
            plain.append(t2 - t1)
        return (statistics.median(core) - statistics.median(plain)) * 1000.0

    track_core_cost_ms.unit = "ms"


class WorkerScaling:
    # One sample is two cold loads of 1,000 packages.
    number = 1
    repeat = (1, 3, 60.0)
    warmup_time = 0.0
    timeout = 600

    def setup_cache(self):
        return _tree(N_PACKAGES, "scaling")

    def _cold_load_s(self, tree, jobs):
        cache = tempfile.mkdtemp(prefix="zako-bench-realm-cold-")
        try:
            with GlobalState(cache_dir=cache, jobs=jobs) as state:
                started = time.perf_counter()
                result = state.load(tree, use_cache=False)
                elapsed = time.perf_counter() - started
            assert result.ok and result.stats["evaluated"] == N_PACKAGES + 1, result.stats
            return elapsed
        finally:
            shutil.rmtree(cache, ignore_errors=True)

    def track_speedup(self, tree):
        """One-worker cold load time over the two-worker time (same run)."""
        one = self._cold_load_s(tree, 1)
        two = self._cold_load_s(tree, 2)
        return one / two

    track_speedup.unit = "ratio"


class PeakRss:
    params = ["realm", "isolate"]
    param_names = ["isolation"]
    number = 1
    repeat = (1, 2, 60.0)
    warmup_time = 0.0
    timeout = 600

    def setup_cache(self):
        return _tree(N_PACKAGES, "rss")

    def track_peak_rss_mib(self, tree, isolation):
        """The child's own VmHWM after a cold ``zako load --jobs 2``, in MiB."""
        cache = tempfile.mkdtemp(prefix="zako-bench-realm-rss-")
        try:
            proc = subprocess.run(
                [sys.executable, "-m", "zako", "load", tree, "--no-cache", "--json", "--jobs", "2",
                 "--isolation", isolation, "--cache-dir", cache],
                capture_output=True, text=True, timeout=600, check=True,
            )
        finally:
            shutil.rmtree(cache, ignore_errors=True)
        stats = json.loads(proc.stdout)["stats"]
        return stats["peak_rss_bytes"] / (1 << 20)

    track_peak_rss_mib.unit = "MiB"
