"""``zako load`` through a remote cache that is slow or broken, against local-only.

A fault-injecting proxy (``tests/fault_server.py``) on 127.0.0.1 stands in
front of a real nginx WebDAV cache (``tests/nginx_server.py``):

- ``ColdLoad.time_load``: empty local cache (and, with a remote, an empty
  remote prefix): every script evaluated, every result uploaded.
  ``local`` is the baseline; ``remote_50ms`` adds 50 ms to every request
  (goal: <= 1.3x local); ``blackhole`` accepts connections and never
  answers, ``trickle`` answers one byte a second (goal for both: <= local
  + 5 s, with the default 2 s request deadline).
- ``WarmLoad.time_load``: ``local`` reads a filled local cache; ``remote_50ms``
  starts from an empty local cache and gets every entry from the remote at
  50 ms a request (goal: <= 3x local); ``nginx`` the same straight from
  nginx (no proxy, no added latency; goal: <= 2x local), and
  ``nginx_blobs`` with results kept out of their graph entries
  (``ZAKO_CACHE_INLINE_MAX=0``: three dependent requests per package, as
  before inline results), the "before" in the same run.
- ``ColdLoad.time_load`` ``nginx``: uploading straight to nginx.

Each timed call builds a ``GlobalState`` on a fresh cache directory, loads,
and closes it (the close waits for uploads), so every mode pays the same
fixed costs. asv uses ``ZAKO_BENCH_REMOTE_PACKAGES`` packages (default
100, so CI's one-shot ``--quick`` run stays short); the figures in
``docs/remote-cache.md`` come from running this file as a script::

    python asv_benchmarks/bench_remote.py --packages 2000
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid

from zako.devtools.gentree import generate
from zako.global_state import GlobalState

_TESTS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests")
N_PACKAGES = int(os.environ.get("ZAKO_BENCH_REMOTE_PACKAGES", "100"))
LATENCY_S = 0.05


def _nginx():
    if _TESTS not in sys.path:
        sys.path.insert(0, _TESTS)
    from nginx_server import NginxUnavailable, start_nginx

    return NginxUnavailable, start_nginx


class _FaultProcess:
    """``tests/fault_server.py`` in its own process: a real remote does not
    share the client's interpreter lock, and neither should the proxy."""

    def __init__(self, upstream: str, fault: str, latency_s: float, lifetime_s: float) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(_TESTS, "fault_server.py"), upstream, "--fault", fault,
             "--latency", str(latency_s), "--trickle", "1.0", "--lifetime", str(lifetime_s)],
            stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
        self.url = self.proc.stdout.readline().strip()
        if not self.url.startswith("http://"):
            self.stop()
            raise RuntimeError("fault server did not start")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


class _InlineOff:
    """``ZAKO_CACHE_INLINE_MAX=0`` while in effect (the blob path), restored after."""

    def __init__(self, on: bool) -> None:
        self.on = on
        self.saved = os.environ.get("ZAKO_CACHE_INLINE_MAX")

    def __enter__(self):
        if self.on:
            os.environ["ZAKO_CACHE_INLINE_MAX"] = "0"
        return self

    def __exit__(self, *exc) -> None:
        if not self.on:
            return
        if self.saved is None:
            os.environ.pop("ZAKO_CACHE_INLINE_MAX", None)
        else:
            os.environ["ZAKO_CACHE_INLINE_MAX"] = self.saved


def _make_tree(base: str, packages: int, blobs: bool = False) -> dict:
    tree = os.path.join(base, "tree")
    generate(tree, packages, libraries=8, seed=3)
    out = {"tree": tree}
    for name, off in (("warm", False), ("warm_blobs", True)) if blobs else (("warm", False),):
        out[name] = os.path.join(base, name.replace("_", "-") + "-cache")
        with _InlineOff(off), GlobalState(cache_dir=out[name]) as state:
            result = state.load(tree)
        assert result.ok and result.stats["evaluated"] == packages + 1, result.stats
    return out


def _copy_cache_to_remote(cache_dir: str, data_dir: str) -> None:
    """Lay a local cache out as the remote holds it (``ac/<hex>``, ``cas/<hex>``):
    a warm remote without a second cold load."""
    for part in ("ac", "cas"):
        out = os.path.join(data_dir, part)
        os.makedirs(out, exist_ok=True)
        for dirpath, _dirs, names in os.walk(os.path.join(cache_dir, part)):
            for name in names:
                if ".tmp" not in name:
                    shutil.copyfile(os.path.join(dirpath, name), os.path.join(out, name))


class _RemoteBench:
    number = 1
    repeat = (1, 3, 60.0)
    warmup_time = 0.0
    timeout = 600

    def setup_cache(self):
        base = os.path.abspath("zako-bench-remote")
        shutil.rmtree(base, ignore_errors=True)
        return _make_tree(base, N_PACKAGES)

    def setup(self, paths, mode):
        self.tree = paths["tree"]
        self.tmp = tempfile.mkdtemp(prefix="zako-bench-remote-")
        self.nginx = self.fault = None
        self.url = None
        self.inline_off = _InlineOff(mode.endswith("_blobs")).__enter__()
        if mode == "local":
            return
        NginxUnavailable, start_nginx = _nginx()
        try:
            self.nginx = start_nginx(os.path.join(self.tmp, "nginx"))
        except NginxUnavailable as exc:
            raise NotImplementedError(f"needs nginx: {exc}") from None
        self.prefix = uuid.uuid4().hex
        if mode.startswith("nginx"):
            self.url = f"{self.nginx.url}/{self.prefix}"
            return
        fault = {"remote_50ms": "none"}.get(mode, mode)
        self.fault = _FaultProcess(self.nginx.url, fault, LATENCY_S if fault == "none" else 0.0, self.timeout)
        self.url = f"{self.fault.url}/{self.prefix}"

    def teardown(self, paths, mode):
        self.inline_off.__exit__()
        if self.fault is not None:
            self.fault.stop()
        if self.nginx is not None:
            self.nginx.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def _load(self, cache_dir: str):
        with GlobalState(cache_dir=cache_dir, remote_cache=self.url) as state:
            return state.load(self.tree)


class ColdLoad(_RemoteBench):
    params = ["local", "nginx", "remote_50ms", "blackhole", "trickle"]
    param_names = ["mode"]

    def time_load(self, paths, mode):
        self._load(tempfile.mkdtemp(dir=self.tmp))


class WarmLoad(_RemoteBench):
    params = ["local", "nginx", "nginx_blobs", "remote_50ms"]
    param_names = ["mode"]

    def setup_cache(self):
        base = os.path.abspath("zako-bench-remote-warm")
        shutil.rmtree(base, ignore_errors=True)
        return _make_tree(base, N_PACKAGES, blobs=True)

    def setup(self, paths, mode):
        super().setup(paths, mode)
        self.warm = paths["warm_blobs" if mode.endswith("_blobs") else "warm"]
        if self.nginx is not None:
            _copy_cache_to_remote(self.warm, os.path.join(self.nginx.data_dir, self.prefix))

    def time_load(self, paths, mode):
        if mode == "local":
            result = self._load(self.warm)
        else:
            result = self._load(tempfile.mkdtemp(dir=self.tmp))  # every entry comes from the remote
        assert result.stats["evaluated"] == 0, result.stats


class ClientOverhead:
    """The client's own cost per request, against nginx directly (no added
    latency): 4,000 GETs of 300-byte action-cache entries from 32 threads,
    through ``HttpCas`` (urllib3 pool, total deadline, breaker) and through
    a bare ``http.client`` connection per thread (the ``baseline``: the
    least a Python client can do). This is why ``docs/remote-cache.md``
    says what urllib3 costs."""

    params = ["zako", "baseline"]
    param_names = ["client"]
    number = 1
    repeat = (1, 5, 30.0)
    warmup_time = 0.0
    timeout = 120
    THREADS = 32
    GETS = 4000

    def setup(self, client):
        NginxUnavailable, start_nginx = _nginx()
        self.tmp = tempfile.mkdtemp(prefix="zako-bench-client-")
        try:
            self.nginx = start_nginx(os.path.join(self.tmp, "nginx"))
        except NginxUnavailable as exc:
            raise NotImplementedError(f"needs nginx: {exc}") from None
        from zako.cas import HttpCas

        self.keys = ["%064x" % i for i in range(200)]
        self.cas = HttpCas(f"{self.nginx.url}/p")
        for k in self.keys:
            self.cas.ac_put(k, b"x" * 300)

    def teardown(self, client):
        self.cas.close()
        self.nginx.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def time_gets(self, client):
        import http.client
        import threading

        keys, per = self.keys, self.GETS // self.THREADS

        def zako(t):
            for i in range(per):
                self.cas.ac_get(keys[(t + i) % len(keys)])

        def baseline(t):
            conn = http.client.HTTPConnection("127.0.0.1", self.nginx.port, timeout=10)
            for i in range(per):
                conn.request("GET", f"/p/ac/{keys[(t + i) % len(keys)]}")
                conn.getresponse().read()
            conn.close()

        threads = [threading.Thread(target=zako if client == "zako" else baseline, args=(t,))
                   for t in range(self.THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()


def main(argv: list[str] | None = None) -> int:
    """Each case once (the first warm-up load of each kind is discarded)."""
    import argparse

    p = argparse.ArgumentParser(description="remote-cache load figures")
    p.add_argument("--packages", type=int, default=2000)
    p.add_argument("--repeat", type=int, default=1)
    p.add_argument("--cases", default="", help="comma-separated Class:mode to run (default: all), "
                   "e.g. ColdLoad:local,ColdLoad:nginx,WarmLoad:local,WarmLoad:nginx")
    p.add_argument("--no-client", action="store_true", help="skip ClientOverhead")
    args = p.parse_args(argv)
    wanted = {c.strip() for c in args.cases.split(",") if c.strip()}
    base = tempfile.mkdtemp(prefix="zako-remote-figures-")
    try:
        paths = _make_tree(base, args.packages, blobs=not wanted or "WarmLoad:nginx_blobs" in wanted)
        rows = []
        for cls, modes in ((ColdLoad, ColdLoad.params), (WarmLoad, WarmLoad.params)):
            for mode in modes:
                if wanted and f"{cls.__name__}:{mode}" not in wanted:
                    continue
                times = []
                for _ in range(args.repeat):  # a fresh server each time: a cold load must upload everything
                    bench = cls()
                    bench.setup(paths, mode)
                    try:
                        t0 = time.perf_counter()
                        bench.time_load(paths, mode)
                        times.append(time.perf_counter() - t0)
                    finally:
                        bench.teardown(paths, mode)
                rows.append((cls.__name__, mode, min(times)))
                print(f"{cls.__name__:9} {mode:12} {' '.join(f'{t:.2f}' for t in times)} s "
                      f"(load average {' '.join(f'{x:.1f}' for x in os.getloadavg())})", flush=True)
        for client in ClientOverhead.params if not args.no_client else ():
            bench = ClientOverhead()
            bench.setup(client)
            try:
                times = []
                for _ in range(3):
                    t0 = time.perf_counter()
                    bench.time_gets(client)
                    times.append(time.perf_counter() - t0)
            finally:
                bench.teardown(client)
            print(f"4000 GETs, 32 threads, {client:8}: {min(times):6.2f} s "
                  f"({min(times) / ClientOverhead.GETS * 1e6:.0f} us a request)", flush=True)
        local = {name: t for name, mode, t in rows if mode == "local"}
        print()
        for name, mode, t in rows:
            if mode != "local" and name in local:
                print(f"{name:9} {mode:12} {t / local[name]:5.2f}x local, local + {t - local[name]:.2f} s")
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
