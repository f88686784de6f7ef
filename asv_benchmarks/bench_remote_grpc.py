"""``zako load`` through a REAPI v2 gRPC remote (a real buildgrid on
loopback), against local-only.

- ``ColdLoad.time_load``: empty local cache; ``local`` is the baseline,
  ``grpc`` also uploads every result to an empty buildgrid (goal: <= 1.3x
  local).
- ``WarmLoad.time_load``: ``local`` reads a filled local cache; ``grpc``
  starts from an empty local cache and gets every entry from a filled
  buildgrid (goal: <= 2x local); ``grpc_blobs`` the same with results kept
  out of their graph entries (``ZAKO_CACHE_INLINE_MAX=0``: two dependent
  ``GetActionResult`` and a blob read per package, as before inline
  results), the "before" in the same run.

buildgrid runs in its own venv (``tests/buildgrid_server.py``: the tests
build it, or ``$ZAKO_BUILDGRID`` names a ``bgd``); without one the ``grpc``
cases are skipped with the reason. Each timed call builds a ``GlobalState``
on a fresh cache directory, loads, and closes it (the close waits for
uploads). asv uses ``ZAKO_BENCH_REMOTE_PACKAGES`` packages (default 100);
the figures in ``docs/remote-cache.md`` come from running this file as a
script::

    python asv_benchmarks/bench_remote_grpc.py --packages 2000
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time

from zako.devtools.gentree import generate
from zako.global_state import GlobalState

_TESTS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests")
N_PACKAGES = int(os.environ.get("ZAKO_BENCH_REMOTE_PACKAGES", "100"))


def _start_buildgrid(workdir: str):
    if _TESTS not in sys.path:
        sys.path.insert(0, _TESTS)
    from buildgrid_server import BuildgridUnavailable, start_buildgrid

    try:
        return start_buildgrid(workdir, build=False)
    except BuildgridUnavailable as exc:
        raise NotImplementedError(f"needs buildgrid: {exc}") from None


def _make_tree(base: str, packages: int) -> dict:
    tree = os.path.join(base, "tree")
    generate(tree, packages, libraries=8, seed=5)
    warm = os.path.join(base, "warm-cache")
    with GlobalState(cache_dir=warm) as state:
        result = state.load(tree)
    assert result.ok and result.stats["evaluated"] == packages + 1, result.stats
    return {"tree": tree, "warm": warm}


def _inline_off(on: bool):
    """Set ``ZAKO_CACHE_INLINE_MAX=0`` (the blob path) if ``on``; returns the undo."""
    saved = os.environ.get("ZAKO_CACHE_INLINE_MAX")
    if on:
        os.environ["ZAKO_CACHE_INLINE_MAX"] = "0"

    def undo() -> None:
        if not on:
            return
        if saved is None:
            os.environ.pop("ZAKO_CACHE_INLINE_MAX", None)
        else:
            os.environ["ZAKO_CACHE_INLINE_MAX"] = saved
    return undo


class _GrpcBench:
    number = 1
    repeat = (1, 3, 60.0)
    warmup_time = 0.0
    timeout = 900
    params = ["local", "grpc", "grpc_blobs"]
    param_names = ["mode"]

    def setup_cache(self):
        base = os.path.abspath("zako-bench-remote-grpc")
        shutil.rmtree(base, ignore_errors=True)
        return _make_tree(base, N_PACKAGES)

    def setup(self, paths, mode):
        self.tree = paths["tree"]
        self.tmp = tempfile.mkdtemp(prefix="zako-bench-grpc-")
        self.server = None
        self.url = None
        self.undo_inline = _inline_off(mode.endswith("_blobs"))
        if mode.startswith("grpc"):
            # A fresh, empty server for every sample: a cold load must upload everything.
            self.server = _start_buildgrid(os.path.join(self.tmp, "buildgrid"))
            self.url = self.server.url

    def teardown(self, paths, mode):
        self.undo_inline()
        if self.server is not None:
            self.server.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def _load(self, cache_dir: str):
        with GlobalState(cache_dir=cache_dir, remote_cache=self.url) as state:
            return state.load(self.tree)


class ColdLoad(_GrpcBench):
    params = ["local", "grpc"]

    def time_load(self, paths, mode):
        result = self._load(tempfile.mkdtemp(dir=self.tmp))
        assert result.stats.get("remote_cache", "0 hits").startswith("0 hits"), result.stats


class WarmLoad(_GrpcBench):
    def setup(self, paths, mode):
        super().setup(paths, mode)
        self.warm = paths["warm"]
        if self.url is not None:
            result = self._load(tempfile.mkdtemp(dir=self.tmp))  # machine 1 fills the server
            if "uploads" not in result.stats["remote_cache"]:  # a remote that failed says why instead
                raise RuntimeError(f"filling buildgrid failed: {result.stats['remote_cache']}")

    def time_load(self, paths, mode):
        if mode == "local":
            result = self._load(self.warm)
        else:
            result = self._load(tempfile.mkdtemp(dir=self.tmp))  # every entry comes from the remote
        assert result.stats["evaluated"] == 0, result.stats


def main(argv: list[str] | None = None) -> int:
    """Each case ``--repeat`` times on one tree; prints the best and the ratios."""
    import argparse

    p = argparse.ArgumentParser(description="gRPC remote-cache load figures")
    p.add_argument("--packages", type=int, default=2000)
    p.add_argument("--repeat", type=int, default=1)
    p.add_argument("--cases", default="", help="comma-separated Class:mode to run (default: all)")
    args = p.parse_args(argv)
    wanted = {c.strip() for c in args.cases.split(",") if c.strip()}
    base = tempfile.mkdtemp(prefix="zako-grpc-figures-")
    try:
        paths = _make_tree(base, args.packages)
        best = {}
        for cls in (ColdLoad, WarmLoad):
            for mode in cls.params:
                if wanted and f"{cls.__name__}:{mode}" not in wanted:
                    continue
                times = []
                for _ in range(args.repeat):
                    bench = cls()
                    bench.setup(paths, mode)
                    try:
                        t0 = time.perf_counter()
                        bench.time_load(paths, mode)
                        times.append(time.perf_counter() - t0)
                    finally:
                        bench.teardown(paths, mode)
                best[cls.__name__, mode] = min(times)
                print(f"{cls.__name__:9} {mode:10} {' '.join(f'{t:.2f}' for t in times)} s "
                      f"(load average {' '.join(f'{x:.1f}' for x in os.getloadavg())})", flush=True)
        for (name, mode), t in best.items():
            if mode != "local" and (name, "local") in best:
                print(f"{name:9} {mode} / local = {t / best[name, 'local']:.2f}x")
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
