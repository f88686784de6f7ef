"""``load_project``: a source tree in, the target graph out.

Steps, in order:

1. read the manifest and discover packages (``discovery``);
2. evaluate the package script (``zako.ts``/``zako.js``, context *package*)
   with the manifest's fields; what it sets through ``zako:project`` becomes
   the project every BUILD file sees (``executionContext.project``);
3. evaluate every ``BUILD.ts``/``BUILD.js`` (context *build*) on the
   global state's V8 pool -- admitted through its resource pool, so the
   number of live V8 contexts is bounded by memory as well as by ``jobs``;
   each evaluation is first looked up in the cache (``cache_key``);
4. for each package, as its result arrives: expand ``srcs`` globs against
   the package directory, normalize paths and labels, intern everything;
5. check that every dep names an existing target.

Every problem becomes a ``Problem`` with ``file:line``; without
``keep_going`` the first one stops the load (pending evaluations are
cancelled) and ``LoadFailed`` is raised; with it, all are collected and
returned in ``LoadResult.problems``.
"""

from __future__ import annotations

import json
import os
import posixpath
import re
import resource
import threading
import time
import logging
import queue
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
from blake3 import blake3

from .. import trace as _trace
from ..exceptions import PathError
from ._paths import neutral_path
from .cache_key import FileDigests, graph_key, inline_result_max, result_key
from .cycles import find_cycles
from .discovery import PackageEntry, discover, match_files, select_packages
from .errors import LoadFailed, ManifestError, Problem
from .globs import GlobError, PackageFiles
from .labels import Label, LabelError, label_text, target_label_text
from .pack import pack_key
from .import_map import read_import_map
from .manifest import Manifest, parse_config_text, read_manifest
from .model import LoadResult, Package, Target, canonical_json

__all__ = ["load_project", "LoadOptions", "peak_rss_bytes"]

_log = logging.getLogger(__name__)

_FRAME = re.compile(r"\(?([^()\s]+?):(\d+)(?::\d+)?\)?\s*$")
_WHO_LINE = re.compile(r"from ([^\s:]+):(\d+)")
_PLAIN_NAME = re.compile(r"[^():\s]+")


@dataclass(frozen=True)
class LoadOptions:
    keep_going: bool = False
    use_cache: bool = True
    progress: Callable[[int, int], None] | None = None  # progress(packages done, packages in all)


class _Stop(Exception):
    """Internal: the first problem when not keeping going."""


# --- helpers -------------------------------------------------------------------


def peak_rss_bytes() -> int:
    """This process's resident-set high-water mark, as the OS keeps it:
    ``VmHWM`` of ``/proc/self/status`` where there is one, else
    ``getrusage``'s ``ru_maxrss``. Prefer VmHWM: Linux's ``ru_maxrss``
    survives ``exec``, so a program started by a large process (a test
    runner, a build driver) reports that process's memory as its own
    peak (measured: 414 MiB for a child whose VmHWM was 13 MiB)."""
    try:
        with open("/proc/self/status", "rb") as f:
            for line in f:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    # ru_maxrss is KiB on Linux, bytes on macOS.
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if os.uname().sysname == "Darwin" else peak * 1024


def _parse_location(location: Any) -> tuple[str | None, int | None]:
    if not isinstance(location, str):
        return None, None
    # The builtin's own form, "path/BUILD.ts:12": what _FRAME finds in it
    # when the path holds no ':', parenthesis or space.
    file, sep, line = location.rpartition(":")
    if sep and file and line.isascii() and line.isdigit() and _PLAIN_NAME.fullmatch(file):
        return file, int(line)
    m = _FRAME.search(location)
    if not m:
        return None, None
    return m.group(1), int(m.group(2))


def _rel_name(name: str | None, root: str) -> str | None:
    """A module name from a stack or error as a root-relative path."""
    if not name:
        return None
    if name.startswith("file://"):
        from urllib.parse import unquote, urlparse

        name = unquote(urlparse(name).path)
    if os.path.isabs(name):
        try:
            rel = os.path.relpath(name, root)
        except ValueError:
            return name
        return name if rel.startswith("..") else rel.replace(os.sep, "/")
    return name


def _frame_in_project(stack: str | None, root: str) -> tuple[str | None, int | None]:
    """First ``file:line`` of a JS stack that is a project file (not a
    ``zako:`` builtin or the engine's own glue)."""
    if not stack:
        return None, None
    for line in stack.splitlines()[1:] if "\n" in stack else stack.splitlines():
        m = _FRAME.search(line.strip())
        if not m:
            continue
        name = _rel_name(m.group(1), root)
        if not name or name.startswith(("zako:", "zako-memory:", "__zako", "<")):
            continue
        return name, int(m.group(2))
    return None, None


def _line_of(text: str | None, needle: str, start_line: int | None = None) -> int | None:
    """Line (1-based) of the first quoted occurrence of ``needle`` at or after
    ``start_line``; used to point at the exact dep or src string."""
    if not text:
        return None
    lines = text.splitlines()
    first = max((start_line or 1) - 1, 0)
    for quote in ('"', "'", "`"):
        q = f"{quote}{needle}{quote}"
        for i in range(first, len(lines)):
            if q in lines[i]:
                return i + 1
    return None


@dataclass(frozen=True)
class _Evaluated:
    """What one evaluation's result was computed from: ``files`` maps each
    file module's root-relative name to the blake3 of the exact text read;
    ``probes`` are the (path, observation) pairs of its module resolution."""

    files: dict[str, str]
    probes: list[tuple[str, str]]


class _RecordingLoader:
    """A ``ModuleLoader`` that remembers what each evaluated entry's graph
    was made from (``_Evaluated``).

    The V8 worker calls ``load_graph`` on the worker thread; the record is
    kept under the entry's name until ``take`` collects it. Keying the cache
    by the text that was evaluated and the probes made while resolving it
    (not by a later re-read) means a file edited during a load can never be
    cached with a result computed from its old text.
    """

    def __new__(cls, root: str, import_map: dict[str, str] | None = None):
        from ..v8 import ModuleLoader
        from ..v8.specifier import ModuleType

        class RecordingLoader(ModuleLoader):
            def __init__(self, root: str) -> None:
                # A snapshot: each file is read once per load, so the digest
                # kept for a name is always that of the text evaluated.
                super().__init__(root, import_map=import_map, snapshot=True)
                self._graphs: dict[str, _Evaluated] = {}
                self._graphs_lock = threading.Lock()
                self._digests: dict[str, str] = {}

            def _digest(self, m) -> str:
                d = self._digests.get(m.name)
                if d is None:
                    d = self._digests[m.name] = blake3(m.source.encode("utf-8")).hexdigest()
                return d

            def load_graph(self, entry, *, context_type):
                graph = super().load_graph(entry, context_type=context_type)
                files = {
                    m.name: self._digest(m)
                    for m in graph.modules
                    if m.specifier.module_type is ModuleType.FILE
                }
                with self._graphs_lock:
                    self._graphs[graph.modules[graph.entry].name] = _Evaluated(files, list(graph.probes))
                return graph

            def take(self, entry_name: str) -> _Evaluated | None:
                with self._graphs_lock:
                    return self._graphs.pop(entry_name, None)

        return RecordingLoader(root)


# --- the loader ----------------------------------------------------------------


class _Loader:
    def __init__(self, root: str, state: Any, options: LoadOptions) -> None:
        self.root = os.path.abspath(root)
        self.state = state
        self.options = options
        self.interner = state.interner
        self.problems: list[Problem] = []
        self.digests = FileDigests(self.root)
        self.inline_max = inline_result_max()
        self.cache_hits = 0
        self.evaluated: list[str] = []
        self.peak_heap = 0
        self.module_loader = None
        self.layout = None  # the ProjectLayout, once discovered
        self.manifest_digest = ""
        self.import_map: dict[str, str] | None = None
        self.import_map_digest = ""
        self.pack_key: str | None = None  # the remote pack this load reads and publishes
        self.pack_read = 0
        self._bad_entries: set[str] = set()
        self._bad_lock = threading.Lock()
        self._sources: dict[str, str] = {}
        # (package, target name) -> declared dep texts, for the line of a missing dep
        self._dep_texts: dict[tuple[str, str], list[str]] = {}
        self._writer: ThreadPoolExecutor | None = None
        self._writes: list[Future] = []
        self._hit_lookup_ns: dict[str, int] = {}  # traced cache hits' lookup time, until build_package reports it
        self.extra_scripts = 0  # rule and toolchain scripts the project's patterns selected
        self.manifest: Manifest | None = None
        self.dependencies: dict[str, LoadResult] = {}
        self._dep_labels: dict[str, set[str]] = {}

    # problems ----------------------------------------------------------------

    def problem(self, p: Problem) -> None:
        self.problems.append(p)
        if not self.options.keep_going:
            raise _Stop()

    # cache -------------------------------------------------------------------

    def _imports_digests(self, files: list[str]) -> list[tuple[str, str]] | None:
        out = []
        for rel in files:
            d = self.digests.digest(rel)
            if d is None:
                return None  # an import vanished: the graph changed, evaluate again
            out.append((rel, d))
        return out

    def _checked_entry(self, raw: bytes, key: str, script: str, sd: str, ctx: str) -> dict | None:
        """The entry stored under ``key`` if it says it was computed for
        that key, script, script digest and context; otherwise None and one
        warning naming it (a swapped or damaged entry must never be served;
        the fresh evaluation's store then replaces it)."""
        try:
            entry = json.loads(raw)
        except ValueError:
            entry = None
        if isinstance(entry, dict) and (
            entry.get("key") == key and entry.get("script") == script
            and entry.get("script_digest") == sd and entry.get("context") == ctx
        ):
            return entry
        if isinstance(entry, dict):
            why = (f"it was computed for key {str(entry.get('key'))[:16]!r}..., {str(entry.get('context'))!r} "
                   f"script {entry.get('script')!r}, not for {ctx} script {script!r} at this digest")
        else:
            why = "it is not a well-formed entry"
        self._bad_entry(key, why)
        return None

    def _bad_entry(self, key: str, why: str) -> None:
        with self._bad_lock:  # lookups run on a thread pool: still one warning per entry
            first = key not in self._bad_entries
            self._bad_entries.add(key)
        if first:
            _log.warning("action-cache entry ac/%s is ignored and will be replaced: %s", key, why)
            invalid = getattr(self.state.action_cache, "invalid", None)
            if invalid is not None:  # drop the local copy now, and count it in -v's repairs
                invalid(key, why)

    def _inline_result(self, inline: Any, gk: str, rk: str) -> dict | None | bool:
        """The result a graph entry carries inline, if it is the one for
        ``rk``: the payload, ``False`` if it is another key's (ask the result
        entry), ``None`` if it is damaged or tampered (a miss and one
        warning: its text must hash to the digest beside it)."""
        if not isinstance(inline, dict):
            self._bad_entry(gk, "its inline result is not well-formed")
            return None
        if inline.get("result_key") != rk:
            return False  # computed with other imports or inputs: the result entry may still hit
        text, want = inline.get("payload"), inline.get("blake3")
        if not isinstance(text, str) or not isinstance(want, str):
            self._bad_entry(gk, "its inline result is not well-formed")
            return None
        data = text.encode("utf-8")
        if blake3(data).hexdigest() != want:
            self._bad_entry(gk, "its inline result does not hash to the digest it names (tampered?)")
            return None
        try:
            payload = json.loads(data)
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            self._bad_entry(gk, "its inline result is not a result")
            return None
        return payload

    def cache_lookup(self, script: str, ctx: str, inputs_json: str, *, fold_hit: bool = False,
                     remote: bool = True) -> dict | None:
        """``fold_hit``: the caller hands a hit to ``build_package``, whose
        slice then carries the lookup's time (``lookup_us``): a warm load
        records one slice per package, not one per step. ``remote=False``:
        answer from the local cache and the pack only (None: ask again)."""
        rec = _trace.current()
        if not rec.enabled:
            return self._cache_lookup(script, ctx, inputs_json, remote)
        t0 = time.perf_counter_ns()
        payload = self._cache_lookup(script, ctx, inputs_json, remote)
        t1 = time.perf_counter_ns()
        if fold_hit and payload is not None:
            self._hit_lookup_ns[script] = t1 - t0  # lookups may run on other threads: keyed, not thread-local
        elif payload is None and not remote:
            pass  # asked again with the remote: that lookup is the one recorded
        else:
            rec.complete("cache lookup", "cache", t0, t1, {"script": script, "hit": payload is not None})
        return payload

    def _cache_lookup(self, script: str, ctx: str, inputs_json: str, remote: bool = True) -> dict | None:
        if not self.options.use_cache:
            return None
        sd = self.digests.digest(script)
        if sd is None:
            return None
        ac = self.state.action_cache
        gk = graph_key(script, sd, ctx, self.import_map_digest)
        raw = ac.get(gk, remote=remote)
        if raw is None:
            return None
        entry = self._checked_entry(raw, gk, script, sd, ctx)
        if entry is None:
            return None
        try:
            files = [str(f) for f in entry["files"]]
            recorded = [(str(path), str(seen)) for path, seen in entry["probes"]]
        except (KeyError, TypeError, ValueError):
            return None
        # Resolution looks at the same paths again: a candidate that appeared,
        # vanished or now leads elsewhere means the graph may differ -- miss
        # at once, without asking the (perhaps remote) cache for the result.
        observe = self.digests.observe
        for path, seen in recorded:
            if observe(path) != seen:
                return None
        imports = self._imports_digests(files)
        if imports is None:
            return None
        rk = result_key(script, sd, ctx, imports, self.manifest_digest, inputs_json, recorded, self.import_map_digest)
        inline = entry.get("inline")
        if inline is not None and self.inline_max > 0:  # 0: inlining off, reads too
            # One read answers the whole lookup when the graph entry carries
            # the result for this very key (a remote hit: one round trip).
            payload = self._inline_result(inline, gk, rk)
            if payload is not False:
                return payload
        raw = ac.get(rk, remote=remote)
        if raw is None:
            return None
        entry = self._checked_entry(raw, rk, script, sd, ctx)
        if entry is None:
            return None
        try:
            from ..cas import Digest

            digest = Digest.parse(entry["result"])
            return json.loads(self.state.cas.read(digest))
        except Exception:  # a damaged or vanished entry is a miss, never a failure
            return None

    def cache_store(self, script: str, ctx: str, inputs_json: str, evaluated: _Evaluated | None, payload: dict) -> None:
        """Store a result in the background: file creation is slow on many
        file systems and must not hold up the next evaluation's host work."""
        if not self.options.use_cache or evaluated is None:
            return
        if self._writer is None:
            self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="zako-cache-write")
        self._writes.append(self._writer.submit(self._cache_store_now, script, ctx, inputs_json, evaluated, payload))

    def finish_writes(self) -> None:
        if self._writer is None:
            return
        self._writer.shutdown(wait=True)
        self._writer = None
        for fut in self._writes:
            exc = fut.exception()
            if exc is not None:  # a cache must never fail a load
                _log.warning("could not store an evaluation result in the cache: %s", exc)
                break
        self._writes.clear()

    def _cache_store_now(self, script: str, ctx: str, inputs_json: str, evaluated: _Evaluated, payload: dict) -> None:
        with _trace.span("cache store", "cache", {"script": script}):
            self._cache_store_traced(script, ctx, inputs_json, evaluated, payload)

    def _cache_store_traced(self, script: str, ctx: str, inputs_json: str, evaluated: _Evaluated, payload: dict) -> None:
        files = evaluated.files
        sd = files.get(script)
        if sd is None or sd != self.digests.digest(script):
            return  # the script changed while it was evaluated: do not cache
        imports = sorted((name, digest) for name, digest in files.items() if name != script)
        probes = sorted(evaluated.probes)
        ac = self.state.action_cache
        text = canonical_json(payload)
        data = text.encode("utf-8")
        handle = self.state.cas.put_bytes(data)
        # Each entry names what it was computed from, so a lookup can tell an
        # entry swapped in under its key (by a remote, a copy, a bug) from its own.
        origin = {"script": script, "script_digest": sd, "context": ctx}
        gk = graph_key(script, sd, ctx, self.import_map_digest)
        rk = result_key(script, sd, ctx, imports, self.manifest_digest, inputs_json, probes, self.import_map_digest)
        graph = {
            "key": gk, **origin,
            "files": [name for name, _ in imports],
            "probes": [list(p) for p in probes],
        }
        inlined = len(data) <= self.inline_max
        if inlined:
            # The digest is bare hex (no "/size"), so a REAPI remote does not
            # take it for a blob the entry keeps alive.
            graph["inline"] = {"result_key": rk, "blake3": handle.digest.hex, "payload": text}
        ac.put(gk, canonical_json(graph).encode("utf-8"))
        # An inlined result's own entry stays local: remote readers get it
        # from the graph entry, and a cold load's uploads are the cost of a
        # remote (one UpdateActionResult fewer per package; buildgrid takes
        # ~440 a second). Locally it still answers an older result (a file
        # edited and back).
        ac.put(rk, canonical_json({"key": rk, **origin, "result": str(handle.digest)}).encode("utf-8"),
               remote=not inlined)

    # evaluation --------------------------------------------------------------

    def submit(self, script: str, ctx: str, inputs: dict) -> Future:
        from ..worker import V8Job

        if self.module_loader is None:
            self.module_loader = _RecordingLoader(self.root, self.import_map)
        job = V8Job(specifier=script, context_type=ctx, inputs=inputs, loader=self.module_loader)
        return self.state.v8_pool.submit(job)

    def outcome(self, script: str, future: Future) -> tuple[dict | None, _Evaluated | None]:
        """(payload, what the evaluated graph was made from) of a finished
        evaluation, or (None, None) after recording a problem."""
        files = None
        try:
            output = future.result()
        except CancelledError:
            return None, None
        except Exception as exc:  # noqa: BLE001 - every engine/loader failure becomes a Problem
            self.module_loader and self.module_loader.take(script)
            self.problem(self.problem_from_error(script, exc))
            return None, None
        files = self.module_loader.take(script) if self.module_loader is not None else None
        self.peak_heap = max(self.peak_heap, int(output.peak_heap_bytes or 0))
        result = output.result
        if result.exception is not None:
            self.problem(self.problem_from_js(script, result.exception))
            return None, None
        decl = result.declarations or {}
        payload = {"targets": decl.get("targets") or [], "project": decl.get("project") or []}
        for kind in ("rules", "toolchains"):  # what rule / toolchain scripts declare
            if decl.get(kind):
                payload[kind] = decl[kind]
        return payload, files

    def problem_from_js(self, script: str, exc: Any) -> Problem:
        file, line = _frame_in_project(exc.stack, self.root)
        if file is None and getattr(exc, "line", None):
            file, line = _rel_name(exc.specifier, self.root), exc.line
        message = exc.exception or exc.message
        kind = "duplicate-target" if "duplicate target" in (exc.message or "") else "script-error"
        if kind == "duplicate-target":
            # The builtin names both places as file:line; point at the second.
            locs = re.findall(r"at ([^\s]+):(\d+)", exc.message)
            if locs:
                file, line = locs[-1][0], int(locs[-1][1])
        return Problem(kind, file or script, line, message, stack=exc.stack, package=self._package_of(script))

    def problem_from_error(self, script: str, exc: BaseException) -> Problem:
        from ..v8.errors import ModuleLoadError, ScriptTimeoutError, TranspileError, V8Error

        pkg = self._package_of(script)
        if isinstance(exc, TranspileError):
            return Problem("transpile", _rel_name(exc.file, self.root) or script, exc.line, str(exc), package=pkg)
        if isinstance(exc, ModuleLoadError):
            m = _WHO_LINE.search(str(exc))
            file, line = (m.group(1), int(m.group(2))) if m else (exc.importer or script, None)
            if file in (None, "<entry>"):
                file = script
            if line is None and exc.specifier:
                line = _line_of(self._source(file), exc.specifier)
            return Problem("module", file, line, str(exc), package=pkg)
        if isinstance(exc, V8Error):
            file, line = _frame_in_project(exc.stack, self.root)
            kind = "timeout" if isinstance(exc, ScriptTimeoutError) else "engine"
            return Problem(kind, file or script, line, str(exc), stack=exc.stack, package=pkg)
        return Problem("engine", script, None, f"{type(exc).__name__}: {exc}", package=pkg)

    def _package_of(self, script: str) -> str:
        d = os.path.dirname(script)
        return d or "."

    def _source(self, rel: str) -> str | None:
        text = self._sources.get(rel)
        if text is None:
            try:
                with open(os.path.join(self.root, rel), encoding="utf-8") as f:
                    text = f.read()
            except (OSError, UnicodeDecodeError):
                return None
            # Only build files are kept: they are where dep/src lines are searched.
            self._sources[rel] = text
        return text

    # building the graph ------------------------------------------------------

    def build_package(self, entry: PackageEntry, payload: dict, cached: bool) -> Package | None:
        rec = _trace.current()
        if not rec.enabled:
            return self._build_package(entry, payload, cached)
        t0 = time.perf_counter_ns()
        if cached:
            # A hit is one compact slice: its glob expansions and its lookup
            # are summed into the args rather than recorded one by one.
            with rec.folded("glob") as fold:
                pkg = self._build_package(entry, payload, cached)
        else:
            pkg = self._build_package(entry, payload, cached)
        args = {"script": entry.build_file, "cache": "hit" if cached else "miss",
                "targets": len(pkg.targets) if pkg is not None else None}
        if cached:
            args.update(fold.args())
            lookup_ns = self._hit_lookup_ns.pop(entry.build_file, None)
            if lookup_ns is not None:
                args["lookup_us"] = round(lookup_ns / 1000, 1)
        rec.complete("package //" + ("" if entry.path == "." else entry.path), "package", t0, time.perf_counter_ns(), args)
        return pkg

    def _build_package(self, entry: PackageEntry, payload: dict, cached: bool) -> Package | None:
        """The package of one evaluation's declarations: srcs expanded,
        labels made full, everything interned. Cost (it runs for every
        package of a warm load): no file system access beyond the package's
        listing, which discovery already made."""
        interner = self.interner
        get_or_intern = interner.get_or_intern
        intern_many = interner.intern_many
        script = entry.build_file
        pkg = entry.path
        pkg_dir = os.path.join(self.root, *pkg.split("/")) if pkg != "." else self.root
        layout = self.layout
        files = PackageFiles(pkg_dir, project_root=self.root,
                             listing=layout.take_listing(pkg) if layout is not None else None)
        text = None
        keyed: list[tuple[str, Target]] = []
        names: dict[str, int | None] = {}
        ok = True
        prefix = "" if pkg == "." else pkg + "/"
        for record in payload.get("targets", []):
            name = record.get("name")
            loc_file, line = _parse_location(record.get("location"))
            where_file = _rel_name(loc_file, self.root) or script
            try:
                label = target_label_text(pkg, name)
            except LabelError as e:
                self.problem(Problem("bad-label", where_file, line, str(e), package=pkg))
                ok = False
                continue
            if name in names:
                self.problem(
                    Problem(
                        "duplicate-target",
                        where_file,
                        line,
                        f"duplicate target {label!r}: first declared at line {names[name]}",
                        package=pkg,
                    )
                )
                ok = False
                continue
            names[name] = line
            src_set: set[str] = set()
            for src in record.get("srcs") or []:
                try:
                    if isinstance(src, dict):
                        with _trace.span("expand srcs", "glob"):
                            matched = files.expand(src.get("include") or [], src.get("exclude") or [])
                    else:
                        matched = [self._plain_src(src, files, label)]
                except (GlobError, PathError, _BadSrc) as e:
                    if text is None:
                        text = self._source(script)
                    needle = src if isinstance(src, str) else (src.get("include") or [""])[0]
                    src_line = _line_of(text, needle, line) if where_file == script else None
                    self.problem(Problem("bad-path", where_file, src_line or line, f"target {label}: {e}", package=pkg))
                    ok = False
                    continue
                src_set.update(matched)
            src_paths = sorted(prefix + s for s in src_set) if prefix else sorted(src_set)
            deps: list[str] = []
            seen: set[str] = set()
            declared = record.get("deps") or []
            verbatim = True  # every declared dep text is its full label
            for dep in declared:
                try:
                    dep_label = label_text(dep, pkg)
                except LabelError as e:
                    if text is None:
                        text = self._source(script)
                    dep_line = _line_of(text, dep, line) if where_file == script and isinstance(dep, str) else None
                    self.problem(Problem("bad-label", where_file, dep_line or line, f"target {label}: {e}", package=pkg))
                    ok = False
                    verbatim = False
                    continue
                if dep_label != dep:
                    verbatim = False
                if dep_label not in seen:
                    seen.add(dep_label)
                    deps.append(dep_label)
            kind = record.get("kind") or ""
            attrs = record.get("attrs") or {}
            keyed.append((label, Target(
                get_or_intern(label),
                get_or_intern(kind),
                intern_many(src_paths) if src_paths else _EMPTY,
                intern_many(deps) if deps else _EMPTY,
                get_or_intern(canonical_json(attrs)),
                line,
            )))
            # The declared dep texts give the line of a missing dep; when each
            # is its own full label, that label is the text to look for.
            if deps and not verbatim:
                self._dep_texts[(pkg, name)] = [d for d in declared if isinstance(d, str)]
        if not ok and not self.options.keep_going:
            return None
        keyed.sort(key=_first)
        return Package(get_or_intern(pkg), script, tuple(t for _, t in keyed), cached)

    def _plain_src(self, src: Any, files: PackageFiles, label: str) -> str:
        if not isinstance(src, str) or not src:
            raise _BadSrc(f"src {src!r} is not a path")
        if src.startswith(("/", "\\")) or re.match(r"[A-Za-z]:", src):
            raise _BadSrc(f"src {src!r} is absolute: srcs are relative to the package directory")
        rel = neutral_path(src)
        if rel == "." or rel.startswith("../") or rel == "..":
            raise _BadSrc(f"src {src!r} leaves its package")
        if not files.contains(rel):
            raise _BadSrc(f"src {src!r} does not exist in the package (or lies in a subpackage)")
        refusal = files.outside_link(rel)
        if refusal is not None:
            raise _BadSrc("src " + refusal)
        return rel

    def _dep_line(self, pkg_path: str, build_file: str, target: Target, dep: str) -> int | None:
        """Line of the declared dep text that names ``dep`` (a full label) in
        ``target``'s deps, else the target's own line."""
        name = self.interner.resolve(target.label).rsplit(":", 1)[1]
        text = self._source(build_file)
        for cand in self._dep_texts.get((pkg_path, name)) or [dep]:
            try:
                if str(Label.parse(cand, pkg_path)) == dep:
                    return _line_of(text, cand, target.line) or target.line
            except LabelError:
                pass
        return target.line

    def check_deps(self, packages: list[Package], entries: dict[str, PackageEntry]) -> None:
        """Every dep names a target, and no target depends on itself,
        directly or through others (one problem per cycle, at the dep that
        closes it). Cost: linear in targets plus deps."""
        interner = self.interner
        # node number of each target, in package then label order, so each
        # cycle is reported from its first label
        node_of: dict[int, int] = {}
        nodes: list[tuple[Package, str, Target]] = []
        for p in packages:
            path = interner.resolve(p.path)
            for t in p.targets:
                node_of[t.label] = len(nodes)
                nodes.append((p, path, t))
        missing: list[Problem] = []
        succ: list[list[int]] = []
        for p, path, t in nodes:
            out = []
            for key in t.deps.tolist():
                node = node_of.get(key)
                if node is not None:
                    out.append(node)
                    continue
                dep = interner.resolve(key)
                label = interner.resolve(t.label)
                line = self._dep_line(path, p.build_file, t, dep)
                dep_label = Label.parse(dep)
                if dep_label.repo:
                    why = self._missing_in_dependency(dep_label)
                    if why is None:
                        continue
                elif dep_label.package in entries:
                    why = f"package //{'' if dep_label.package == '.' else dep_label.package} has no target {dep_label.name!r}"
                else:
                    why = f"there is no package {dep_label.package!r}"
                missing.append(
                    Problem("missing-dep", p.build_file, line, f"target {label} depends on {dep}, but {why}", package=path)
                )
            succ.append(out)
        for problem in missing:
            self.problem(problem)
        for cycle in find_cycles(succ):
            labels = [interner.resolve(nodes[i][2].label) for i in cycle]
            p, path, t = nodes[cycle[-1]]
            line = self._dep_line(path, p.build_file, t, labels[0])
            self.problem(
                Problem("cycle", p.build_file, line, "cycle in dependency graph: " + " -> ".join(labels + labels[:1]), package=path)
            )


    def _missing_in_dependency(self, dep: Label) -> str | None:
        """None when the dependency ``dep.repo`` has target ``dep``, else why not."""
        repo = dep.repo
        declared = self.manifest.dependencies if self.manifest is not None else {}
        where = self.manifest.file if self.manifest is not None else "the manifest"
        if repo not in declared:
            names = ", ".join(sorted(declared)) or "none"
            return f"@{repo} is not a declared dependency (dependencies in {where}: {names})"
        if "path" not in declared[repo]:
            form = "{" + ", ".join(sorted(declared[repo])) + "}"
            return f"dependency {repo!r} is a {form} dependency: zako loads only {{path}} dependencies"
        result = self.dependencies.get(repo)
        if result is None:
            return f"dependency {repo!r} did not load"
        labels = self._dep_labels.get(repo)
        if labels is None:
            labels = self._dep_labels[repo] = {
                self.interner.resolve(t.label) for p in result.packages for t in p.targets
            }
        inner = str(Label(dep.package, dep.name))
        if inner in labels:
            return None
        pkgs = {self.interner.resolve(p.path) for p in result.packages}
        if dep.package in pkgs:
            return f"package {inner.rsplit(':', 1)[0]} of dependency {repo!r} has no target {dep.name!r}"
        return f"dependency {repo!r} has no package {dep.package!r}"


def _inner_dependency_dirs(root: str, manifest: Manifest) -> list[str]:
    """Root-relative directories of the ``{path}`` dependencies inside the
    root: their projects load as their own roots, not as packages here."""
    out = []
    for source in manifest.dependencies.values():
        path = source.get("path")
        if path is not None:
            rel = os.path.normpath(path).replace(os.sep, "/")
            if rel != "." and not rel.startswith("../") and rel != "..":
                out.append(rel)
    return out


def _manifest_line(manifest: Manifest, key: str) -> int | None:
    from .manifest import _line_of_key

    try:
        return _line_of_key(manifest.raw.decode("utf-8"), key)
    except UnicodeDecodeError:
        return None


def _load_declared(ld: "_Loader", project: dict, key: str, ctx: str, suffixes: tuple[str, ...],
                   skip: list[str], manifest_file: str) -> list[dict] | None:
    """Evaluate the ``ctx`` scripts the project's ``key`` pattern selects
    and return what they declared (each record with its ``file`` and
    ``line``), sorted by name; None when the project has no such pattern."""
    pattern = project.get(key)
    if pattern is None:
        return None
    bad = _pattern_problem(project, key, manifest_file)
    if bad is not None:
        ld.problem(bad)
        return []
    files = match_files(ld.root, pattern, suffixes, skip)
    ld.extra_scripts += len(files)
    inputs = {"project": project}
    inputs_json = canonical_json(inputs)
    pending = []
    payloads = []
    for f in files:
        payload = ld.cache_lookup(f, ctx, inputs_json)
        if payload is not None:
            ld.cache_hits += 1
            payloads.append((f, payload))
        else:
            pending.append((f, ld.submit(f, ctx, inputs)))
    for f, fut in pending:
        payload, evaluated = ld.outcome(f, fut)
        if payload is not None:
            ld.evaluated.append(f)
            ld.cache_store(f, ctx, inputs_json, evaluated, payload)
            payloads.append((f, payload))
    records = []
    for f, payload in payloads:
        for rec in payload.get(key) or []:
            file, line = _parse_location(rec.get("location"))
            doc = {k: v for k, v in rec.items() if k != "location"}
            doc["file"] = _rel_name(file, ld.root) or f
            doc["line"] = line
            records.append(doc)
    records.sort(key=lambda r: (str(r.get("name")), r["file"]))
    return records


def _load_dependencies(ld: "_Loader", manifest: Manifest, loading: frozenset[str], *,
                       keep_going: bool, use_cache: bool) -> dict[str, LoadResult]:
    """Load each ``{path}`` dependency as its own root (problems shown at
    their files, relative to this root)."""
    out: dict[str, LoadResult] = {}
    for name, source in sorted(manifest.dependencies.items()):
        path = source.get("path")
        if path is None:
            continue
        dep_root = os.path.normpath(os.path.join(ld.root, path))
        line = _manifest_line(manifest, name)
        if not os.path.isdir(dep_root):
            ld.problem(Problem("manifest", manifest.file, line,
                               f"field 'dependencies': dependency {name!r}: path {path!r} is not a directory"))
            continue
        if os.path.realpath(dep_root) in loading:
            ld.problem(Problem("manifest", manifest.file, line,
                               f"field 'dependencies': dependency {name!r} at {path!r} is a project being loaded "
                               "already: dependencies form a cycle"))
            continue
        prefix = os.path.normpath(path).replace(os.sep, "/")
        try:
            result = load_project(dep_root, ld.state, keep_going=keep_going, use_cache=use_cache, _loading=loading)
            problems = result.problems
        except LoadFailed as failed:
            result, problems = None, failed.problems
        for p in problems:
            ld.problem(Problem(p.kind, posixpath.normpath(posixpath.join(prefix, p.file)), p.line,
                               f"in dependency {name!r}: {p.message}", stack=p.stack, package=p.package))
        if result is not None:
            result.root = prefix  # shown relative to this root, never as a machine path
            out[name] = result
    return out


class _BadSrc(ValueError):
    pass


_EMPTY = np.zeros(0, dtype=np.uint32)


def _first(pair: tuple) -> Any:
    return pair[0]


_PROJECT_KEYS = ("group", "artifact", "version", "description", "options", "license", "authors",
                 "builds", "rules", "toolchains")


def _merge_project(base: dict, records: list) -> dict:
    project = dict(base)
    for rec in records or []:
        if isinstance(rec, dict):
            for key in _PROJECT_KEYS:
                if rec.get(key) is not None:
                    project[key] = rec[key]
    return project


def _license_problem(project: dict, records: list | None, script: str, root: str) -> Problem | None:
    """The package script set a license that is no SPDX expression: the
    check the manifest's own ``license`` gets, at the script's line."""
    from .manifest import check_spdx_expression

    license_ = project.get("license")
    if license_ is None:
        return None
    err = check_spdx_expression(license_)
    if err is None:
        return None
    rec = next((r for r in records or [] if isinstance(r, dict) and r.get("license") is not None), {})
    file, line = _parse_location(rec.get("location"))
    return Problem("script-error", _rel_name(file, root) or script, line, f"project license: {err}", package=".")


def _pattern_problem(project: dict, key: str, where: str) -> Problem | None:
    """A malformed glob in the project's ``key`` pattern, as a problem."""
    from .discovery import pattern_matcher

    try:
        pattern_matcher(project[key])
    except GlobError as e:
        return Problem("manifest", where, None, f"field {key!r}: {e}")
    return None


def _lookups_as_done(entries: list, lookup: Callable[[Any], Any], workers: int,
                     quick: Callable[[Any], Any] | None = None):
    """``(entry, lookup(entry))`` for each entry. With a remote cache a lookup
    is a few dependent round trips, so they run ``workers`` at a time and
    come back as they finish (a 50 ms remote then costs 50 ms per
    ``workers`` packages, and one slow answer holds up nothing else); local
    lookups are cheap and run inline, in order. ``quick``: a lookup without
    requests, tried inline first; only what it misses goes to the threads
    (a warm pack answers from memory: a thread hop each would cost more)."""
    if workers <= 1 or len(entries) < 2:
        for e in entries:
            yield e, lookup(e)
        return
    done: queue.SimpleQueue[Future] = queue.SimpleQueue()
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="zako-cache-lookup") as pool:
        futures = {}
        try:
            for e in entries:
                if quick is not None:
                    hit = quick(e)
                    if hit is not None:
                        yield e, hit
                        continue
                fut = pool.submit(lookup, e)
                futures[fut] = e
                fut.add_done_callback(done.put)
            for _ in range(len(futures)):
                fut = done.get()
                yield futures[fut], fut.result()
        finally:  # the consumer stopped early: do not start the rest
            for fut in futures:
                fut.cancel()


def load_project(root: str, state: Any, *, keep_going: bool = False, use_cache: bool = True,
                 progress: Callable[[int, int], None] | None = None,
                 config: dict[str, str] | None = None, _loading: frozenset[str] = frozenset()) -> LoadResult:
    """Load the project at ``root`` with ``state`` (a ``GlobalState``).

    Returns a ``LoadResult`` (packages sorted by path, targets by label,
    ``stats``); with ``keep_going`` problems are collected into
    ``result.problems`` instead of raising. Raises ``LoadFailed`` with the
    first problem otherwise (a missing manifest included). Cost: one V8
    evaluation per package whose script or imports changed since the
    cached run, plus one directory listing per package with globs.

    ``config``: ``{name: text}`` overrides of the manifest's ``config``
    values (``zako load --config name=text``), typed by the declared type;
    a wrong type or an undeclared name is a ``manifest`` problem. The
    project's ``{path}`` dependencies load as their own roots (their
    targets are ``@name//pkg:target``); ``_loading`` holds the real roots
    being loaded, so a dependency cycle is an error, not a recursion.
    """
    t0 = time.perf_counter()
    if _trace.current().enabled:
        _trace.note_cache_mode(use_cache)
    options = LoadOptions(keep_going=keep_going, use_cache=use_cache, progress=progress)
    ld = _Loader(root, state, options)
    futures: dict[Future, tuple[str, Any]] = {}
    packages: list[Package] = []
    project: dict = {}
    layout = None
    rules = toolchains = None
    dependencies: dict[str, LoadResult] = {}
    try:
        try:
            manifest = read_manifest(ld.root)
            import_map, raw_map = read_import_map(ld.root)
            config_values = {name: parse_config_text(manifest, name, text) for name, text in (config or {}).items()}
            inner_deps = _inner_dependency_dirs(ld.root, manifest)
            layout = discover(ld.root, list_files=True, skip_dirs=inner_deps)
            ld.layout = layout
        except ManifestError as e:
            ld.problems.append(e.problem)
            raise _Stop() from None
        # The name as well: zako.toml and zako.json with one text are not one input.
        ld.manifest_digest = manifest.file + ":" + (ld.digests.digest(manifest.file) or "")
        ld.import_map = import_map
        ld.import_map_digest = blake3(raw_map).hexdigest() if import_map is not None else ""
        if use_cache and not _loading and getattr(state.action_cache, "remote", None) is not None:
            # Every entry the remote has for this project, in two requests,
            # before the first lookup (dependencies' entries ride along).
            ld.pack_key = pack_key(ld.manifest_digest, ld.import_map_digest)
            with _trace.span("read pack", "cache"):
                ld.pack_read = state.action_cache.read_pack(ld.pack_key)
        for p in layout.problems:
            ld.problem(p)
        entries = {e.path: e for e in layout.packages}
        # Discovery followed no links: each package directory is where it
        # seems, and so is each build file it saw as a regular file.
        ld.digests.known_directories(entries)
        ld.digests.known_plain_files(e.build_file for e in layout.packages if e.build_file_plain)
        # Package paths must be valid neutral paths (a label must be able to name them).
        valid_entries = []
        for e in layout.packages:
            try:
                if e.path != ".":
                    neutral_path(e.path)
                target_label_text(e.path, "x")
                valid_entries.append(e)
            except (PathError, LabelError) as err:
                ld.problem(Problem("bad-path", e.build_file, None, f"package directory {e.path!r} cannot be a package: {err}", package=e.path))

        # 1. the package script
        project = manifest.project_fields(config_values)
        if layout.package_script:
            script = layout.package_script
            inputs = {"project": project}
            inputs_json = canonical_json(inputs)
            payload = ld.cache_lookup(script, "package", inputs_json)
            if payload is not None:
                ld.cache_hits += 1
            else:
                fut = ld.submit(script, "package", inputs)
                payload, files = ld.outcome(script, fut)
                if payload is not None:
                    ld.evaluated.append(".")
                    ld.cache_store(script, "package", inputs_json, files, payload)
            if payload is not None:
                project = _merge_project(project, payload.get("project"))
                bad = _license_problem(project, payload.get("project"), script, ld.root)
                if bad is not None:
                    ld.problem(bad)
        # The manifest's (or the package script's) builds select the packages.
        if project.get("builds") is not None:
            bad = _pattern_problem(project, "builds", layout.package_script or manifest.file)
            if bad is not None:
                ld.problem(bad)
            else:
                chosen = {e.path for e in select_packages(layout, project["builds"])}
                ld.extra_scripts -= len(layout.packages) - len(chosen)  # build files not selected never run
                valid_entries = [e for e in valid_entries if e.path in chosen]
                entries = {path: e for path, e in entries.items() if path in chosen}

        # 2. every build file, pipelined: lookups on this thread, misses to the pool
        project_json = canonical_json(project)
        by_future: dict[Future, PackageEntry] = {}
        done_count = 0
        if progress:
            progress(0, len(valid_entries))
        # Completed futures arrive here in completion order: one callback per
        # future instead of concurrent.futures.wait's waiter on every pending one.
        done_queue: queue.SimpleQueue[Future] = queue.SimpleQueue()

        def build_inputs_json(e: PackageEntry) -> str:
            return '{"package":' + json.dumps(e.path) + ',"project":' + project_json + "}"

        lookups = _lookups_as_done(
            valid_entries, lambda e: ld.cache_lookup(e.build_file, "build", build_inputs_json(e), fold_hit=True),
            getattr(state.action_cache, "lookup_workers", 1) if use_cache else 1,
            quick=lambda e: ld.cache_lookup(e.build_file, "build", build_inputs_json(e), fold_hit=True, remote=False))
        for e, payload in lookups:
            inputs = {"project": project, "package": e.path}
            inputs_json = build_inputs_json(e)
            if payload is not None:
                ld.cache_hits += 1
                pkg = ld.build_package(e, payload, cached=True)
                if pkg is not None:
                    packages.append(pkg)
                done_count += 1
                if progress:
                    progress(done_count, len(valid_entries))
                continue
            fut = ld.submit(e.build_file, "build", inputs)
            by_future[fut] = e
            futures[fut] = (inputs_json, e)
            fut.add_done_callback(done_queue.put)
        for _ in range(len(by_future)):
            fut = done_queue.get()
            e = by_future.pop(fut)
            inputs_json, _ = futures.pop(fut)
            payload, files = ld.outcome(e.build_file, fut)
            if payload is not None:
                ld.evaluated.append(e.path)
                ld.cache_store(e.build_file, "build", inputs_json, files, payload)
                pkg = ld.build_package(e, payload, cached=False)
                if pkg is not None:
                    packages.append(pkg)
            done_count += 1
            if progress:
                progress(done_count, len(valid_entries))
        packages.sort(key=lambda p: ld.interner.resolve(p.path))
        # 3. the rule and toolchain scripts the project's patterns select
        rules = _load_declared(ld, project, "rules", "rule", (".rule.ts", ".rule.js"), inner_deps, manifest.file)
        toolchains = _load_declared(ld, project, "toolchains", "toolchain", (".toolchain.ts", ".toolchain.js"),
                                    inner_deps, manifest.file)
        # 4. {path} dependencies, each its own root
        dependencies = _load_dependencies(ld, manifest, _loading | {os.path.realpath(ld.root)},
                                          keep_going=keep_going, use_cache=use_cache)
        ld.dependencies = dependencies
        ld.manifest = manifest
        ld.check_deps(packages, entries)
    except _Stop:
        for fut in futures:
            fut.cancel()
        if not keep_going:
            raise LoadFailed(ld.problems[:1]) from None
    finally:
        ld.finish_writes()
        if ld.pack_key is not None:
            state.action_cache.publish_pack(ld.pack_key)
        try:
            state.cas.flush()
        except Exception:  # noqa: BLE001 - an upload failure must not fail the load
            pass

    ld.evaluated.sort()
    # Problems arrive in the order evaluations finish: sorted, a --keep-going
    # report is the same on every run and with any number of workers.
    ld.problems.sort(key=lambda p: (p.file, p.line or 0, p.kind, p.message))
    interner_usage = ld.interner.memory_usage()
    n_targets = sum(len(p.targets) for p in packages)
    src_keys: set[int] = set()
    for p in packages:
        for t in p.targets:
            src_keys.update(t.srcs.tolist())
    scripts = len(layout.packages) + (1 if layout and layout.package_script else 0) if layout else 0
    scripts += ld.extra_scripts
    ac = state.action_cache
    stats = {
        "packages": len(packages),
        "targets": n_targets,
        "source_files": len(src_keys),
        "scripts": scripts,
        "cache_hits": ld.cache_hits,
        "evaluated": len(ld.evaluated),
        "wall_time_s": round(time.perf_counter() - t0, 4),
        "peak_rss_bytes": peak_rss_bytes(),
        "interner_strings": int(interner_usage.get("strings", len(ld.interner))),
        "interner_bytes": int(interner_usage.get("total_bytes", 0)),
        "peak_v8_heap_bytes": ld.peak_heap,
        "files_hashed": ld.digests.reads,
        "jobs": state.jobs,
        "errors": len(ld.problems),
    }
    if getattr(ac, "remote", None) is not None:
        stats["remote_cache"] = ac.remote_error or f"{ac.remote_hits} hits, {ac.remote_puts} uploads"
        stats["remote_hits"] = ac.remote_hits
        if ld.pack_key is not None:
            # the pack read first (its entries count as remote hits when used)
            stats["remote_pack"] = {"key": ld.pack_key, "entries": ld.pack_read}
    state.note_load(stats)
    return LoadResult(ld.root, project, packages, ld.problems, stats, ld.evaluated, rules=rules,
                      toolchains=toolchains, dependencies=dependencies)
