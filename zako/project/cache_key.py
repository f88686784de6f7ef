"""Cache keys for package evaluations.

An evaluation's result depends on the script, every file it imports
(transitively), *how* each import resolved, the manifest, the import map,
the inputs handed to it, and the zako version and evaluator code. The import graph is only
known after evaluating, so lookups go in two steps:

1. ``graph_key`` (script path + content, context type, import map,
   version) names an action-cache entry listing the files the last
   evaluation imported and every path its module resolution looked at
   (``probes``: a candidate that was missing, a directory, or a file and
   the real path it led to);
2. ``result_key`` digests those files' *current* contents and the
   *current* observation of every probe, together with the script,
   manifest, inputs and version, and names the result.

Editing a library changes step 2 only for scripts that imported it, so
exactly those re-evaluate. A file appearing where resolution once found
nothing (``mod.ts`` beside ``mod/index.ts``, ``util.js`` beside the
``util.ts`` it fell back to) or a symlink re-pointed changes a probe's
observation, so step 2 changes too -- as Bazel's and Buck2's directory
listings do. The fresh evaluation then rewrites the graph entry.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Iterable

from blake3 import blake3

from .._version import __version__

__all__ = ["FileDigests", "graph_key", "result_key", "evaluator_digest", "KEY_SCHEMA", "INLINE_RESULT_MAX",
           "inline_result_max"]

# Bump when what is cached (or how keys are made) changes meaning.
# v2: probes in the result key; entries carry what they were computed from.
# v3: a graph entry may carry its last result inline (``inline``), so a v2
# reader must never find one -- and a v3 reader never looks up a v2 entry.
KEY_SCHEMA = "zako-load-v3"

# Results up to this many bytes (their canonical JSON) ride inside the graph
# entry, so a warm hit is one action-cache read instead of three dependent
# ones (graph entry, result entry, result blob). 16 KiB: every result of a
# gentree tree and of examples/monorepo is 0.2-0.9 KiB, so all fit, as do
# packages of up to ~180 small targets; the
# inline copy is paid twice at most (written with each evaluation, read with
# each hit), and 16 KiB costs less than one more round trip (0.3-1 ms of
# client CPU, plus the latency) while staying one small HTTP body and far
# under any gRPC message limit. Larger results keep the blob path.
INLINE_RESULT_MAX = 16 * 1024


def inline_result_max() -> int:
    """The inline limit in bytes: ``$ZAKO_CACHE_INLINE_MAX`` if set (0 turns
    inlining off, e.g. to exercise the blob path), else ``INLINE_RESULT_MAX``."""
    value = os.environ.get("ZAKO_CACHE_INLINE_MAX")
    if value is None or not value.strip():
        return INLINE_RESULT_MAX
    try:
        return max(0, int(value))
    except ValueError:
        return INLINE_RESULT_MAX


class FileDigests:
    """blake3 hex of files under ``root``, each file read once per run.

    ``digest(rel)`` returns None for a missing file; ``observe(rel)`` is
    what module resolution sees at ``rel`` (``zako.v8.loader.observe_path``),
    one ``stat`` per path per run. Thread-safe. A run is one load: edits
    made while loading are not seen (as in any build tool).
    """

    def __init__(self, root: str) -> None:
        self.root = root
        # Probes are relative to the real root, as the module loader sees it.
        self.real_root = os.path.realpath(root)
        self._memo: dict[str, str | None] = {}
        self._seen: dict[str, str] = {}
        self._dirs: dict[str, str] = {}  # real paths of directories, for observe
        self._lock = threading.Lock()
        self.reads = 0

    def observe(self, rel: str) -> str:
        seen = self._seen.get(rel)
        if seen is None:
            from ..v8.loader import observe_path  # the engine layer loads lazily

            seen = observe_path(os.path.normpath(os.path.join(self.real_root, rel)), self.real_root, self._dirs)
            self._seen[rel] = seen  # a racing duplicate stat gives the same answer
        return seen

    def known_directories(self, rels: Iterable[str]) -> None:
        """Note directories (root-relative) known to be real directories, not
        symlinks, on a path of real directories from the root -- as package
        discovery, which follows no links, finds them. Their real path is
        then the real root joined with them, and ``observe`` skips the
        ``lstat`` that would establish it."""
        base = self.real_root
        dirs = self._dirs
        for rel in rels:
            path = os.path.normpath(os.path.join(base, rel))
            dirs.setdefault(path, path)

    def known_plain_files(self, rels: Iterable[str]) -> None:
        """Note files (root-relative, normalized) known to be regular files,
        not symlinks, in directories reached without links (as discovery
        finds build files): ``observe`` of each is then ``"file:<rel>"``,
        what it would find, without a ``stat``."""
        seen = self._seen
        for rel in rels:
            seen.setdefault(rel, "file:" + rel)

    def digest(self, rel: str) -> str | None:
        memo = self._memo.get(rel, False)
        if memo is not False:
            return memo
        try:
            value: str | None = blake3(_read_file(os.path.join(self.root, rel))).hexdigest()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            value = None
        with self._lock:
            self.reads += 1
            self._memo[rel] = value
        return value


def _read_file(path: str) -> bytes:
    """The bytes of ``path``, with the errors ``open(path, "rb").read()``
    raises. Plain descriptors: a warm load reads every build file, and the
    buffered file object costs more than the read itself."""
    fd = os.open(path, _O_RDONLY)
    try:
        size = os.fstat(fd).st_size
        want = size + 1 if size else _CHUNK  # one byte over: a short read is the end
        data = os.read(fd, want)
        if len(data) < want:
            return data
        chunks = [data]
        while True:  # the file grew since fstat, or reports no size
            data = os.read(fd, _CHUNK)
            if not data:
                return b"".join(chunks)
            chunks.append(data)
    finally:
        os.close(fd)


_O_RDONLY = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
_CHUNK = 1 << 20


@functools.cache
def evaluator_digest() -> str:
    """blake3 of the evaluator's own code: every ``.py`` and ``.js`` file of
    ``zako.v8`` (engine, prelude, builtins, transpiler, module loader).

    A release's version already names this code; a development checkout
    edits it without a new version, and a result computed by the old
    builtins must not be served then. Read once per process (~200 KB)."""
    base = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "v8")
    h = blake3()
    for dirpath, dirnames, filenames in os.walk(base):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        for name in sorted(filenames):
            if name.endswith((".py", ".js")):
                path = os.path.join(dirpath, name)
                with open(path, "rb") as f:
                    data = f.read()
                rel = os.path.relpath(path, base).replace(os.sep, "/").encode()
                h.update(len(rel).to_bytes(8, "little") + rel + len(data).to_bytes(8, "little"))
                h.update(data)
    return h.hexdigest()


def _frame(parts) -> bytes:
    # Each part as its 8-byte little-endian length and its UTF-8 bytes.
    out = bytearray()
    for part in parts:
        data = part.encode("utf-8")
        out += len(data).to_bytes(8, "little")
        out += data
    return bytes(out)


def _h(*parts: str) -> str:
    """blake3 of the framed parts (each length-prefixed, so no two part
    lists give one byte string)."""
    return blake3(_frame(parts)).hexdigest()


def _prefix(kind: str) -> bytes:
    return _head(kind, evaluator_digest())


@functools.lru_cache(maxsize=16)
def _head(kind: str, evaluator: str) -> bytes:
    # The parts every key of one kind starts with, framed once per process.
    return _frame((KEY_SCHEMA, kind, __version__, evaluator))


def graph_key(script: str, script_digest: str, context_type: str, import_map_digest: str = "") -> str:
    """Key of the import-graph entry of ``script`` (root-relative). The
    import map is part of it: a changed map can change every resolution."""
    return blake3(_prefix("graph") + _frame((context_type, script, script_digest, import_map_digest))).hexdigest()


def result_key(
    script: str,
    script_digest: str,
    context_type: str,
    imports: list[tuple[str, str]],
    manifest_digest: str,
    inputs_json: str,
    probes: list[tuple[str, str]] = (),  # type: ignore[assignment]
    import_map_digest: str = "",
) -> str:
    """Key of the evaluation result. ``imports``: (path, digest) of every
    transitively imported file; ``probes``: (path, observation) of every
    path module resolution looked at; both in a fixed order."""
    parts = [context_type, script, script_digest, manifest_digest, import_map_digest, inputs_json, str(len(imports))]
    for path, digest in imports:
        parts.append(path)
        parts.append(digest)
    parts.append(str(len(probes)))
    for path, seen in probes:
        parts.append(path)
        parts.append(seen)
    return blake3(_prefix("result") + _frame(parts)).hexdigest()
