"""What ``zako load --trace FILE`` costs (issue 16: at most 5% over the same
load without it).

``TracedLoad.time_load``: a 1,000-package load (``zako.devtools.gentree``)
cold (every script evaluated, 2 workers) and warm (every script a cache
hit), with ``trace`` ``off`` (the baseline: the no-op recorder) and ``on``
(every slice and counter recorded and the JSON written to a file), in the
same class, so one run shows the ratio.

Measured (1 Dec 2026, in-process with this class's setup, load average
12-15 on the shared 2-core machine, medians): cold 6.15 s CPU off, 6.35 s
on (+3%); warm 0.47 s CPU off, 0.57 s on (+20%: about 4,300 events and
550 KB of JSON per load, ~35 ms of it building and encoding the JSON).

Since a cache hit is one package slice (its lookup time and glob
expansions folded into its args; 1 Dec 2026, process CPU, load average
5-9): warm, 12 alternating pairs, 0.354 s off, 0.384 s on (median +8%,
best of each +5%), about 1,050 events and 230 KB (writing them: ~14 ms);
the same measurement of the commit before: 0.338 s / 0.418 s (+24%),
4,070 events, 530 KB. Cold: 3 pairs, 7.60 s off, 7.35 s on (within noise).
"""

from __future__ import annotations

import os
import shutil
import tempfile

from zako.devtools.gentree import generate
from zako.global_state import GlobalState

N_PACKAGES = 1000


class TracedLoad:
    params = (["warm", "cold"], ["off", "on"])
    param_names = ["cache", "trace"]
    number = 1
    repeat = (1, 5, 40.0)
    warmup_time = 0.0
    timeout = 600

    def setup_cache(self):
        base = os.path.abspath("zako-bench-trace")
        shutil.rmtree(base, ignore_errors=True)
        tree = os.path.join(base, "tree")
        generate(tree, N_PACKAGES, libraries=8, seed=1)
        warm = os.path.join(base, "warm-cache")
        with GlobalState(cache_dir=warm, jobs=2) as state:
            result = state.load(tree)
        assert result.ok and result.stats["evaluated"] == N_PACKAGES + 1, result.stats
        return {"tree": tree, "warm": warm}

    def setup(self, paths, cache, trace):
        try:
            from zako import trace as _trace  # noqa: F401 - a commit without tracing has nothing to measure
        except ImportError:
            raise NotImplementedError("zako.trace is not in this commit") from None
        self.tree = paths["tree"]
        self.tmp = tempfile.mkdtemp(prefix="zako-bench-trace-")
        cache_dir = paths["warm"] if cache == "warm" else os.path.join(self.tmp, "cold-cache")
        self.state = GlobalState(cache_dir=cache_dir, jobs=2)
        self.out = os.path.join(self.tmp, "trace.json")

    def teardown(self, paths, cache, trace):
        self.state.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def time_load(self, paths, cache, trace):
        if trace == "off":
            self.state.load(self.tree)
            return
        from zako import trace as _trace

        pools = {"v8": self.state.v8_pool.stats, "transpiler": self.state.transpiler_pool.stats}
        with _trace.recording(self.out, pools=pools):
            self.state.load(self.tree)
