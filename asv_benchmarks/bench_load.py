"""``zako load`` of a generated 1,000-package tree (``zako.devtools.gentree``).

- ``time_cold``: empty cache, every script evaluated in V8 (and stored);
- ``time_warm``: a cache filled by an earlier load: nothing evaluated;
- ``peakmem_cold`` / ``peakmem_warm``: the process's peak RSS for each;
- ``track_rss_growth``: RSS growth over 5 repeated in-process warm loads.

Each is run with ``jobs`` 1 and 2 (V8 workers) in the same class, so one
run shows the parallel speed-up; the 1-worker case is the baseline. The
tree and the warm cache are made once in ``setup_cache``.
"""

from __future__ import annotations

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
