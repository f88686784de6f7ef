"""``GlobalState``: the one owner of everything a zako process shares.

One interner (every path, label and kind of a load lives there once), one
``ResourcePool`` sized from the machine, one ``CasStore`` (local store under
the cache directory, a memory cache in front, an optional remote
``HttpCas``), the action cache that maps evaluation keys to CAS blobs, one
transpiler pool and one V8 pool admitted through the resource pool, and
the interned strings every load uses.

Use it as a context manager: leaving it shuts the pools down (closing every
V8 context), flushes pending uploads and closes the store. Construction is
cheap: worker threads start on demand.
"""

from __future__ import annotations

import os
import sys
import threading
from typing import Any

from .intern import Interner

__all__ = ["GlobalState", "CommonStrings", "default_cache_dir", "process_rss_bytes"]

_MIB = 1 << 20


def default_cache_dir() -> str:
    """``$ZAKO_CACHE_DIR``, else ``$XDG_CACHE_HOME/zako``, else
    ``~/.cache/zako`` (``%LOCALAPPDATA%\\zako`` on Windows)."""
    explicit = os.environ.get("ZAKO_CACHE_DIR")
    if explicit:
        return os.path.abspath(explicit)
    if sys.platform == "win32" and os.environ.get("LOCALAPPDATA"):
        return os.path.join(os.environ["LOCALAPPDATA"], "zako")
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg and os.path.isabs(xdg):  # the XDG spec says relative values are ignored
        return os.path.join(xdg, "zako")
    return os.path.join(os.path.expanduser("~"), ".cache", "zako")


def process_rss_bytes() -> int | None:
    """Current resident set size from ``/proc/self/statm`` (None elsewhere)."""
    try:
        with open("/proc/self/statm", "rb") as f:
            pages = int(f.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError, AttributeError):
        return None


def peak_rss_bytes() -> int:
    """The process's RSS high-water mark: the figure ``zako load`` prints
    (``VmHWM``; see ``zako.project.load.peak_rss_bytes`` for why not
    ``ru_maxrss``)."""
    from .project.load import peak_rss_bytes as high_water_mark

    return high_water_mark()


class CommonStrings:
    """Keys of strings every load interns, made once per ``GlobalState``."""

    __slots__ = ("root_package", "build_ts", "build_js", "zako_ts", "zako_js", "empty_attrs")

    def __init__(self, interner: Interner) -> None:
        intern = interner.get_or_intern_static
        self.root_package = intern(".")
        self.build_ts = intern("BUILD.ts")
        self.build_js = intern("BUILD.js")
        self.zako_ts = intern("zako.ts")
        self.zako_js = intern("zako.js")
        self.empty_attrs = intern("{}")


class GlobalState:
    """Owns the shared machinery of one zako process.

    - ``cache_dir``: where the local CAS (``cas/``) and action cache
      (``ac/``) live; default ``default_cache_dir()``.
    - ``remote_cache``: base URL of a Bazel-protocol HTTP cache, or None
      (``self.remote_cache`` keeps it with its credentials masked).
    - ``remote_headers``: headers sent with every remote request (parsed
      ``--remote-header`` values); ``remote_netrc``: read Basic credentials
      from ``$NETRC``/``~/.netrc`` when the URL has none; ``remote_ca``,
      ``remote_client_cert``, ``remote_client_key``: PEM files for
      ``https://`` (a private CA instead of the system store; mutual TLS).
    - ``remote_timeout_s``: total deadline of one remote request (connect,
      headers, body; large transfers get 1 s more per MiB);
      ``remote_max_failures``: failures in a row after which the remote is
      off for the rest of the load; ``remote_flush_timeout_s``: how long the
      end of a load waits for uploads still queued.
    - ``jobs``: V8 (and transpiler) worker threads; default: the cpu count
      of the resource pool.
    - ``heap_limit_bytes`` / ``timeout_s``: per V8 worker's isolate / per
      evaluation.
    - ``isolation``: ``"realm"`` (one locked-down context per V8 worker,
      fresh module instances per evaluation) or ``"isolate"`` (a new
      isolate per evaluation); see ``zako.v8.Engine``.
    - ``memory_cache_bytes``: size of the CAS memory cache.
    - ``resources``: overrides for ``ResourcePool.from_system``.

    Raises ``ValueError`` for ``jobs < 1`` or a malformed remote URL. All
    parts are created eagerly but start no threads until used.
    """

    def __init__(
        self,
        cache_dir: str | os.PathLike[str] | None = None,
        remote_cache: str | None = None,
        jobs: int | None = None,
        *,
        heap_limit_bytes: int = 256 * _MIB,
        timeout_s: float = 30.0,
        memory_cache_bytes: int = 32 * _MIB,
        resources: dict[str, int] | None = None,
        remote_timeout_s: float = 2.0,
        remote_max_failures: int = 3,
        remote_flush_timeout_s: float = 10.0,
        isolation: str = "realm",
        remote_headers: dict[str, str] | None = None,
        remote_netrc: bool = True,
        remote_ca: str | None = None,
        remote_client_cert: str | None = None,
        remote_client_key: str | None = None,
    ) -> None:
        from .cas import CacheHealth, CasStore, HttpCas, LocalCas, MemoryCache
        from .project.action_cache import ActionCache
        from .resource import ResourcePool
        from .worker import PoolConfig, TranspilerWorker, V8Worker, WorkerPool

        if jobs is not None and (isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1):
            raise ValueError(f"GlobalState jobs must be an int >= 1, got {jobs!r}")
        self.cache_dir = os.path.abspath(os.fspath(cache_dir)) if cache_dir is not None else default_cache_dir()
        from .cas.redact import redact_url

        self.remote_cache = redact_url(remote_cache) if remote_cache else remote_cache
        self.interner = Interner()
        self.strings = CommonStrings(self.interner)
        overrides = dict(resources or {})
        self.resources = ResourcePool.from_system(**overrides)
        cpus = int(self.resources.snapshot()["total"].get("cpu", 1) or 1)
        self.jobs = jobs if jobs is not None else max(1, cpus)
        # A V8 job asks for one cpu and its heap limit in memory: an explicit
        # --jobs above the cpu count must be able to run that many at once.
        if self.jobs > cpus and "cpu" not in overrides:
            self.resources = ResourcePool.from_system(**{**overrides, "cpu": self.jobs})

        self._closed = False
        self._lock = threading.Lock()
        os.makedirs(self.cache_dir, exist_ok=True)
        if not remote_timeout_s > 0 or not remote_flush_timeout_s >= 0:
            raise ValueError(f"remote timeouts must be > 0, got {remote_timeout_s!r} and {remote_flush_timeout_s!r}")
        # One breaker for the remote's CAS and action-cache halves: when it
        # fails, both are off, and the load ends with one warning.
        self.cache_health = CacheHealth(f"remote cache {self.remote_cache}" if remote_cache else "cache",
                                        max_failures=remote_max_failures)
        self.remote = None
        from .cas.reapi import is_grpc_url, open_reapi_cas

        if remote_cache and is_grpc_url(remote_cache):
            # REAPI over gRPC: same deadline and breaker; the blake3 -> SHA-256
            # map of a SHA-256 server lives beside the local store.
            self.remote = open_reapi_cas(remote_cache, timeout=remote_timeout_s, health=self.cache_health,
                                         map_path=os.path.join(self.cache_dir, "reapi", "sha256.map"),
                                         headers=remote_headers, ca_file=remote_ca,
                                         client_cert=remote_client_cert, client_key=remote_client_key)
        elif remote_cache:
            from .cas.credentials import tls_context

            tls = (tls_context(remote_ca, remote_client_cert, remote_client_key)
                   if remote_ca or remote_client_cert or remote_client_key else None)
            self.remote = HttpCas(remote_cache, timeout=remote_timeout_s, health=self.cache_health,
                                  headers=remote_headers, ssl_context=tls, netrc=remote_netrc)
        self.memory_cache = MemoryCache(memory_cache_bytes)
        # Cache entries can always be recomputed: skip fsync (a torn blob is
        # caught by verification and treated as a miss).
        self.cas = CasStore(
            LocalCas(os.path.join(self.cache_dir, "cas"), fsync=False),
            remote=self.remote,
            cache=self.memory_cache,
            health=self.cache_health,
            flush_timeout=remote_flush_timeout_s,
        )
        if getattr(self.remote, "local", False) is None:
            self.remote.local = self.cas.local  # a gRPC remote hashes blobs an entry names from here
        self.action_cache = ActionCache(os.path.join(self.cache_dir, "ac"), remote=self.remote,
                                        uploads=self.cas.uploads, health=self.cache_health,
                                        local_writes=self.cas.local_writes)
        self.isolation = isolation
        self.heap_limit_bytes = heap_limit_bytes
        self.timeout_s = timeout_s
        self.transpiler_pool = WorkerPool(
            TranspilerWorker(), PoolConfig(max_workers=self.jobs, idle_timeout_s=5.0), name="zako-transpile"
        )
        self.v8_pool = WorkerPool(
            V8Worker(heap_limit_bytes=heap_limit_bytes, timeout_s=timeout_s, isolation=isolation),
            # Recycle engines now and then so a long load's RSS stays flat.
            PoolConfig(max_workers=self.jobs, idle_timeout_s=30.0, max_jobs_per_worker=2000,
                       max_heap_bytes_per_worker=heap_limit_bytes // 2),
            resource_pool=self.resources,
            name="zako-v8",
        )
        self.transpiler_pool.start()
        self.v8_pool.start()
        self._loads: list[dict[str, Any]] = []

    # --- lifecycle -------------------------------------------------------------

    def __enter__(self) -> "GlobalState":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Shut down both pools (closing their V8 contexts), flush uploads and
        close the store. Idempotent; an upload failure is not raised here."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        try:
            self.v8_pool.shutdown(wait=True, cancel_pending=True)
            self.transpiler_pool.shutdown(wait=True, cancel_pending=True)
        finally:
            try:
                self.cas.close()
            except Exception:  # noqa: BLE001 - shutting down must not fail on a cache upload
                pass
            if self.remote is not None:
                self.remote.close()

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def resource_pool(self):
        """The ``ResourcePool`` (same object as ``resources``)."""
        return self.resources

    # --- loading ---------------------------------------------------------------

    def load(self, root: str | os.PathLike[str], **kwargs: Any):
        """``zako.project.load.load_project(root, self, **kwargs)``."""
        from .project.load import load_project

        return load_project(os.fspath(root), self, **kwargs)

    def note_load(self, stats: dict[str, Any]) -> None:
        """Remember a load's stats (``memory_report`` shows the peaks)."""
        self._loads.append({k: stats[k] for k in ("peak_v8_heap_bytes", "wall_time_s") if k in stats})

    # --- reporting -------------------------------------------------------------

    def memory_report(self) -> dict[str, Any]:
        """Where the memory is: interner bytes, CAS memory-cache bytes, V8
        heap peaks of the loads so far, worker pool and resource figures,
        and process RSS (current and peak) in bytes."""
        usage = self.interner.memory_usage()
        cache = self.memory_cache.stats()
        pool = self.v8_pool.stats()
        return {
            "interner": {"strings": int(usage.get("strings", len(self.interner))),
                         "total_bytes": int(usage.get("total_bytes", 0)),
                         **{k: int(v) for k, v in usage.items() if k not in ("strings", "total_bytes")}},
            "cas_cache": {"entries": cache.entries, "bytes": cache.current_bytes, "max_bytes": cache.max_bytes,
                          "hits": cache.hits, "misses": cache.misses, "evictions": cache.evictions},
            "v8": {"peak_heap_bytes": max((l.get("peak_v8_heap_bytes", 0) for l in self._loads), default=0),
                   "heap_limit_bytes": self.heap_limit_bytes},
            "pools": {"v8": dict(pool), "transpiler": dict(self.transpiler_pool.stats())},
            "resources": self.resources.stats(),
            "process": {"rss_bytes": process_rss_bytes(), "peak_rss_bytes": peak_rss_bytes()},
        }

    def __repr__(self) -> str:
        return f"<GlobalState cache_dir={self.cache_dir!r} jobs={self.jobs} remote={self.remote_cache!r}>"
