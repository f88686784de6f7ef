"""zako against its peer, Bazel, on the same generated 500-package tree.

``tools/bench_vs_bazel.py`` does the measuring (and documents how); this
file runs it once in ``setup_cache`` and reports its figures as ``track_``
benchmarks, so the ratio to Bazel is kept with every commit asv measures:

- ``track_{zako,bazel}_{cold,warm}_s``: wall seconds of ``zako load
  --jobs 2`` without, then with a filled cache, and of ``bazel query //...``
  on a new server, then on the same warm server;
- ``track_{zako,bazel}_{cold,warm}_cpu_s``: the CPU seconds of the same
  runs (Bazel: the server's share plus the client), steadier than wall
  time on shared cores;
- ``track_{zako,bazel}_{cold,warm}_mib``: their peak RSS (Bazel: server +
  client);
- ``track_cold_bazel_over_zako``: Bazel's cold wall time over zako's (the
  issue's goal is >= 5 at 10,000 packages).

Every figure comes from subprocesses, so zako is measured as a user runs it
(interpreter start included), on equal terms with Bazel's client. Bazel is
not a dependency: without ``bazel`` on PATH every benchmark here is skipped
with a message. The full-size comparison (10,000 packages) is the script's
job, not asv's.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
import tempfile

N_PACKAGES = 500
JOBS = 2

_TOOL = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "tools", "bench_vs_bazel.py")


def _load_tool():
    # tools/ is not part of the installed package; asv imports benchmarks
    # from the checkout, where the script sits beside this directory.
    if not os.path.exists(_TOOL):
        return None
    spec = importlib.util.spec_from_file_location("bench_vs_bazel_tool", _TOOL)
    module = importlib.util.module_from_spec(spec)
    # Registered first: its dataclasses look their module up in sys.modules.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


class VsBazel:
    # Each figure is one measurement taken in setup_cache, not a timed loop.
    number = 1
    repeat = 1
    warmup_time = 0.0
    timeout = 120

    def setup_cache(self):
        if shutil.which("bazel") is None:
            return {"skip": "bazel is not on PATH (apt-get install bazel-bootstrap to compare; CI does not install it)"}
        tool = _load_tool()
        if tool is None:
            return {"skip": "tools/bench_vs_bazel.py is not beside asv_benchmarks/"}
        base = os.path.abspath("zako-bench-vs-bazel")
        zako_root, bazel_root, _reused = tool.prepare_trees(base, N_PACKAGES)
        scratch = tempfile.mkdtemp(prefix="scratch-", dir=base)
        try:
            runs = tool.measure_zako(zako_root, jobs=JOBS, scratch=scratch)
            runs += tool.measure_bazel(bazel_root, scratch=scratch)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        return {"runs": {r.name: {"ok": r.ok, "wall_s": r.wall_s, "cpu_s": r.cpu_s, "rss": r.peak_rss_bytes, "error": r.error} for r in runs}}

    # A zako cold load, a Bazel server start and two queries of 500 packages.
    setup_cache.timeout = 600

    def setup(self, measured):
        if "skip" in measured:
            raise NotImplementedError(measured["skip"])

    def _get(self, measured, name, key):
        run = measured["runs"].get(name)
        if run is None or not run["ok"]:
            raise RuntimeError(f"{name} failed: {run['error'] if run else 'not run'}")
        if run[key] is None:
            raise NotImplementedError(f"{name}: no {key} figure on this platform")
        return run[key]

    def track_zako_cold_s(self, measured):
        return self._get(measured, "zako cold", "wall_s")

    def track_zako_warm_s(self, measured):
        return self._get(measured, "zako warm", "wall_s")

    def track_bazel_cold_s(self, measured):
        return self._get(measured, "bazel cold", "wall_s")

    def track_bazel_warm_s(self, measured):
        return self._get(measured, "bazel warm", "wall_s")

    def track_zako_cold_cpu_s(self, measured):
        return self._get(measured, "zako cold", "cpu_s")

    def track_zako_warm_cpu_s(self, measured):
        return self._get(measured, "zako warm", "cpu_s")

    def track_bazel_cold_cpu_s(self, measured):
        return self._get(measured, "bazel cold", "cpu_s")

    def track_bazel_warm_cpu_s(self, measured):
        return self._get(measured, "bazel warm", "cpu_s")

    def track_zako_cold_mib(self, measured):
        return self._get(measured, "zako cold", "rss") / 2**20

    def track_zako_warm_mib(self, measured):
        return self._get(measured, "zako warm", "rss") / 2**20

    def track_bazel_cold_mib(self, measured):
        return self._get(measured, "bazel cold", "rss") / 2**20

    def track_bazel_warm_mib(self, measured):
        return self._get(measured, "bazel warm", "rss") / 2**20

    def track_cold_bazel_over_zako(self, measured):
        return self._get(measured, "bazel cold", "wall_s") / self._get(measured, "zako cold", "wall_s")

    track_zako_cold_s.unit = track_zako_warm_s.unit = "seconds"
    track_bazel_cold_s.unit = track_bazel_warm_s.unit = "seconds"
    track_zako_cold_cpu_s.unit = track_zako_warm_cpu_s.unit = "seconds"
    track_bazel_cold_cpu_s.unit = track_bazel_warm_cpu_s.unit = "seconds"
    track_zako_cold_mib.unit = track_zako_warm_mib.unit = "MiB"
    track_bazel_cold_mib.unit = track_bazel_warm_mib.unit = "MiB"
    track_cold_bazel_over_zako.unit = "ratio"
