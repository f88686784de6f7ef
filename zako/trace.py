"""Chrome trace-event / Perfetto recording of what a load does (``zako load --trace FILE``).

The format is the JSON object form of the Trace Event Format that
ui.perfetto.dev and ``chrome://tracing`` open: ``{"traceEvents": [...],
"displayTimeUnit": "ms"}``. What is written:

- one track (``tid``) per thread that did traced work, named after the
  thread (``zako-v8_0``..., the loader's ``MainThread``, cache lookup
  threads); on it complete events (``"ph": "X"``, ``ts``/``dur`` in
  microseconds since the recording started) that nest: a span opened
  inside another ends before it. Categories: ``eval`` (one per V8
  evaluation, on the worker's track: package, script, cache, heap after),
  ``package`` (a package's whole handling on the loader thread: cache hit
  or miss), ``cache`` (lookups, stores), ``glob`` (srcs expansion),
  ``remote`` (one HTTP request to a remote cache). A cache hit's package
  is one compact slice: its lookup time (``lookup_us``) and its glob
  expansions (``globs``, ``glob_us``) are args of that slice, not slices
  of their own (``folded``), so a warm load records about one event per
  package; misses keep a slice per lookup and per expansion;
- resource-pool waits as async events (``"ph": "b"``/``"e"``, one ``id``
  per job): many jobs wait at once, so they are no slices of any thread;
- counters (``"ph": "C"``): ``workers`` (live, busy), ``jobs`` (queued) and
  ``memory`` (RSS bytes), sampled every ``interval_s`` (50 ms) and at both ends.

When nothing records, ``current()`` is a module-level no-op recorder whose
``enabled`` is False: a hook costs one global lookup and one attribute
test (``span`` hands back a shared do-nothing context manager), so the
hooks stay in the hot paths for good.
"""

from __future__ import annotations

import json
import os
import threading
import time
from typing import Any, Callable, Iterator, Mapping

__all__ = ["NullRecorder", "TraceRecorder", "current", "span", "recording", "validate_events"]


class _NoSpan:
    __slots__ = ()

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


_NO_SPAN = _NoSpan()


class NullRecorder:
    """Records nothing; what ``current()`` is unless a recording runs."""

    enabled = False

    def span(self, name: str, cat: str, args: Mapping[str, Any] | None = None) -> _NoSpan:
        return _NO_SPAN

    def complete(self, name: str, cat: str, start_ns: int, end_ns: int, args: Mapping[str, Any] | None = None) -> None:
        pass

    def async_begin(self, name: str, cat: str, ident: int, args: Mapping[str, Any] | None = None) -> None:
        pass

    def async_end(self, name: str, cat: str, ident: int, args: Mapping[str, Any] | None = None) -> None:
        pass

    def counter(self, name: str, values: Mapping[str, float]) -> None:
        pass

    def folded(self, cat: str) -> "_Fold":
        """``with rec.folded("glob") as fold:`` -- slices of ``cat`` that this
        thread records inside the block are summed into ``fold.args()``
        instead of being recorded one by one (nothing, when not recording)."""
        return _Fold(cat)


class _Fold:
    __slots__ = ("cat", "count", "total_ns", "rec", "ident", "outer")

    def __init__(self, cat: str, rec: "TraceRecorder | None" = None) -> None:
        self.cat = cat
        self.count = 0
        self.total_ns = 0
        self.rec = rec
        self.ident = 0
        self.outer = None

    def __enter__(self) -> "_Fold":
        if self.rec is not None:
            self.ident = threading.get_ident()
            self.outer = self.rec._folds.get(self.ident)
            self.rec._folds[self.ident] = self
        return self

    def __exit__(self, *exc: object) -> None:
        if self.rec is not None:
            if self.outer is None:
                del self.rec._folds[self.ident]
            else:
                self.rec._folds[self.ident] = self.outer

    def args(self) -> dict[str, Any]:
        """``{"<cat>s": count, "<cat>_us": total}`` (empty when none)."""
        if not self.count:
            return {}
        return {f"{self.cat}s": self.count, f"{self.cat}_us": round(self.total_ns / 1000, 1)}


_NULL = NullRecorder()
_current: NullRecorder = _NULL


def current() -> NullRecorder:
    """The recorder hooks report to (the no-op one unless recording)."""
    return _current


def span(name: str, cat: str, args: Mapping[str, Any] | None = None):
    """``with trace.span("expand", "glob", {...}):`` on the current recorder."""
    return _current.span(name, cat, args)


class _Span:
    __slots__ = ("rec", "name", "cat", "args", "start")

    def __init__(self, rec: "TraceRecorder", name: str, cat: str, args: Mapping[str, Any] | None) -> None:
        self.rec = rec
        self.name = name
        self.cat = cat
        self.args = args

    def __enter__(self) -> "_Span":
        self.start = time.perf_counter_ns()
        return self

    def __exit__(self, *exc: object) -> None:
        self.rec.complete(self.name, self.cat, self.start, time.perf_counter_ns(), self.args)


def _rss_bytes() -> int | None:
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


class TraceRecorder(NullRecorder):
    """Collects events in memory; ``write(path)`` saves the trace.

    Events are appended as tuples (``list.append`` is atomic, so any thread
    may record without a lock) and made into JSON objects only when written.
    ``pools`` maps a name to a callable returning a pool's ``PoolStats``
    mapping (``live_workers``, ``busy_workers``, ``queued``): a sampler
    thread reads them, and RSS, every ``interval_s`` between ``start`` and
    ``stop``.
    """

    enabled = True

    def __init__(self, *, pools: Mapping[str, Callable[[], Mapping[str, int]]] | None = None,
                 interval_s: float = 0.05) -> None:
        self._t0 = time.perf_counter_ns()
        self._events: list[tuple] = []
        self._pools = dict(pools or {})
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._sampler: threading.Thread | None = None
        self._pid = os.getpid()
        self._names: dict[int, str] = {}  # thread ident -> name, taken while the thread lives
        self._folds: dict[int, _Fold] = {}  # thread ident -> the fold its slices go to

    def _ident(self) -> int:
        ident = threading.get_ident()
        if ident not in self._names:
            self._names[ident] = threading.current_thread().name
        return ident

    # recording ----------------------------------------------------------------

    def span(self, name: str, cat: str, args: Mapping[str, Any] | None = None) -> _Span:
        return _Span(self, name, cat, args)

    def complete(self, name: str, cat: str, start_ns: int, end_ns: int, args: Mapping[str, Any] | None = None) -> None:
        if self._folds:
            fold = self._folds.get(threading.get_ident())
            if fold is not None and fold.cat == cat:
                fold.count += 1
                fold.total_ns += end_ns - start_ns
                return
        self._events.append(("X", name, cat, start_ns, end_ns, self._ident(), args))

    def folded(self, cat: str) -> _Fold:
        return _Fold(cat, self)

    def async_begin(self, name: str, cat: str, ident: int, args: Mapping[str, Any] | None = None) -> None:
        self._events.append(("b", name, cat, time.perf_counter_ns(), ident, self._ident(), args))

    def async_end(self, name: str, cat: str, ident: int, args: Mapping[str, Any] | None = None) -> None:
        self._events.append(("e", name, cat, time.perf_counter_ns(), ident, self._ident(), args))

    def counter(self, name: str, values: Mapping[str, float]) -> None:
        self._events.append(("C", name, "counter", time.perf_counter_ns(), None, 0, dict(values)))

    def sample(self) -> None:
        """One reading of every counter source."""
        live = busy = queued = 0
        for stats in self._pools.values():
            try:
                s = stats()
            except Exception:  # noqa: BLE001 - a closed pool is simply not counted
                continue
            live += s["live_workers"]
            busy += s["busy_workers"]
            queued += s["queued"]
        if self._pools:
            self.counter("workers", {"live": live, "busy": busy})
            self.counter("jobs", {"queued": queued})
        rss = _rss_bytes()
        if rss is not None:
            self.counter("memory", {"rss_bytes": rss})

    def start(self) -> "TraceRecorder":
        self.sample()
        self._sampler = threading.Thread(target=self._run_sampler, name="zako-trace-sampler", daemon=True)
        self._sampler.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._sampler is not None:
            self._sampler.join()
            self._sampler = None
            self.sample()

    def _run_sampler(self) -> None:
        while not self._stop.wait(self._interval_s):
            self.sample()

    # output -------------------------------------------------------------------

    def events(self) -> list[dict]:
        """The trace-event objects: thread names first, then events in time order."""
        t0 = self._t0
        pid = self._pid
        tids: dict[int, int] = {}
        names = self._names
        out: list[dict] = []
        for kind, name, cat, start, extra, ident, args in sorted(self._events, key=_start):
            tid = 0 if kind == "C" else tids.get(ident)  # counters belong to the process
            if tid is None:
                # Small stable numbers in order of first appearance: the
                # loader's thread is 1, so it is the first track.
                tid = tids[ident] = len(tids) + 1
            ev: dict[str, Any] = {"name": name, "cat": cat, "ph": kind, "ts": (start - t0) / 1000, "pid": pid, "tid": tid}
            if kind == "X":
                ev["dur"] = (extra - start) / 1000
            elif kind != "C":
                ev["id"] = extra
            if args:
                ev["args"] = dict(args)
            out.append(ev)
        meta = [{"name": "process_name", "ph": "M", "pid": pid, "tid": 0, "args": {"name": "zako"}}]
        for ident, tid in tids.items():
            label = names.get(ident) or f"thread {tid}"
            meta.append({"name": "thread_name", "ph": "M", "pid": pid, "tid": tid, "args": {"name": label}})
            meta.append({"name": "thread_sort_index", "ph": "M", "pid": pid, "tid": tid, "args": {"sort_index": tid}})
        return meta + out

    def write(self, path: str | os.PathLike[str]) -> None:
        """Write the trace to ``path`` (through a temporary file, so a
        reader never sees half of it)."""
        doc = {"traceEvents": self.events(), "displayTimeUnit": "ms",
               "otherData": {"producer": "zako load --trace"}}
        path = os.fspath(path)
        tmp = f"{path}.tmp-{os.getpid()}"
        # dumps, not dump: dump streams through the pure-Python encoder,
        # several times slower on a trace of a few thousand events.
        text = json.dumps(doc, separators=(",", ":"))
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)


def _start(event: tuple) -> int:
    return event[3]


class recording:
    """``with trace.recording(path, pools=...) as rec:`` makes ``rec`` the
    current recorder, samples counters while the block runs and writes
    ``path`` at its end (also when it raises: a failed load's trace is the
    one most worth reading). One recording at a time per process."""

    def __init__(self, path: str | os.PathLike[str], *, pools: Mapping[str, Callable[[], Mapping[str, int]]] | None = None,
                 interval_s: float = 0.05) -> None:
        self.path = path
        self.recorder = TraceRecorder(pools=pools, interval_s=interval_s)

    def __enter__(self) -> TraceRecorder:
        global _current
        if _current.enabled:
            raise RuntimeError("a trace is already being recorded in this process")
        _current = self.recorder.start()
        return self.recorder

    def __exit__(self, *exc: object) -> None:
        global _current
        _current = _NULL
        self.recorder.stop()
        self.recorder.write(self.path)


def validate_events(events: list[dict]) -> list[str]:
    """Problems with a trace-event list (empty when it is well formed):
    required fields, known phases, and per (pid, tid) that complete and
    B/E slices nest (a slice that starts inside another ends inside it).
    The tests use it; so can anyone checking a file by hand."""
    problems: list[str] = []
    per_track: dict[tuple, list[tuple[float, float, str]]] = {}
    open_be: dict[tuple, list[tuple[float, str]]] = {}
    for i, ev in enumerate(events):
        ph = ev.get("ph")
        if ph not in ("X", "B", "E", "b", "e", "n", "C", "M", "i", "I"):
            problems.append(f"event {i}: unknown phase {ph!r}")
            continue
        if not isinstance(ev.get("name"), str) or "pid" not in ev or "tid" not in ev:
            problems.append(f"event {i}: needs name, pid and tid")
            continue
        if ph == "M":
            continue
        ts = ev.get("ts")
        if not isinstance(ts, (int, float)) or ts < 0:
            problems.append(f"event {i} ({ev['name']}): bad ts {ts!r}")
            continue
        track = (ev["pid"], ev["tid"])
        if ph == "X":
            dur = ev.get("dur")
            if not isinstance(dur, (int, float)) or dur < 0:
                problems.append(f"event {i} ({ev['name']}): bad dur {dur!r}")
                continue
            per_track.setdefault(track, []).append((ts, ts + dur, ev["name"]))
        elif ph == "B":
            open_be.setdefault(track, []).append((ts, ev["name"]))
        elif ph == "E":
            stack = open_be.get(track)
            if not stack:
                problems.append(f"event {i}: E without B on track {track}")
                continue
            b_ts, b_name = stack.pop()
            per_track.setdefault(track, []).append((b_ts, ts, b_name))
        elif ph in ("b", "e") and "id" not in ev:
            problems.append(f"event {i} ({ev['name']}): async event without id")
    for track, stack in open_be.items():
        for _, name in stack:
            problems.append(f"track {track}: B {name!r} never ended")
    for track, slices in per_track.items():
        problems.extend(f"track {track}: {p}" for p in _nesting_problems(slices))
    return problems


def _nesting_problems(slices: list[tuple[float, float, str]]) -> Iterator[str]:
    # Sorted by start, longer first at equal starts: each slice must end
    # no later than every slice still open around it.
    stack: list[tuple[float, float, str]] = []
    for start, end, name in sorted(slices, key=lambda s: (s[0], -s[1])):
        while stack and stack[-1][1] <= start:
            stack.pop()
        if stack and end > stack[-1][1]:
            outer = stack[-1]
            yield f"{name!r} [{start}, {end}] overlaps {outer[2]!r} [{outer[0]}, {outer[1]}] without nesting"
        stack.append((start, end, name))


def describe_job(pool: str, job: Any, output: Any, error: BaseException | None) -> tuple[str, str, dict]:
    """(name, category, args) of the slice of one pool job. A V8 job (it
    has a ``specifier``) is an ``eval`` slice named for its package, with
    its script, context, the cache state of the load that submitted it
    (every evaluation of a load is a cache miss, or the cache is off) and
    V8's used heap after it; any other job is a ``job`` slice."""
    script = getattr(job, "specifier", None)
    if not isinstance(script, str):
        return f"{pool} job", "job", {"pool": pool, "error": type(error).__name__} if error else {"pool": pool}
    package = script.rpartition("/")[0] or "."
    args: dict[str, Any] = {"package": package, "script": script,
                            "context": str(getattr(getattr(job, "context_type", None), "value", None) or getattr(job, "context_type", "")),
                            "cache": _current_cache_state}
    if output is not None:
        args["heap_after_bytes"] = getattr(output, "heap_used_bytes", None)
        args["peak_heap_bytes"] = getattr(output, "peak_heap_bytes", None)
    if error is not None:
        args["error"] = type(error).__name__
    return f"eval {script}", "eval", args


# What an evaluation slice says of the cache: "miss" while a load that reads
# the cache runs, "off" under --no-cache (load_project sets it).
_current_cache_state = "miss"


def note_cache_mode(use_cache: bool) -> None:
    global _current_cache_state
    _current_cache_state = "miss" if use_cache else "off"
