"""Cache keys for package evaluations.

An evaluation's result depends on the script, every file it imports
(transitively), the manifest, the inputs handed to it and the zako version.
The import graph is only known after evaluating, so lookups go in two steps:

1. ``graph_key`` (script path + content, context type, version) names an
   action-cache entry listing the files the last evaluation imported;
2. ``result_key`` digests those files' *current* contents together with the
   script, manifest, inputs and version, and names the result.

Editing a library changes step 2 only for scripts that imported it, so
exactly those re-evaluate. A script whose imports changed has a changed
text (or an imported file changed), so its step-2 key changes as well; the
fresh evaluation then rewrites its graph entry.
"""

from __future__ import annotations

import os
import threading

from blake3 import blake3

from .._version import __version__

__all__ = ["FileDigests", "graph_key", "result_key", "KEY_SCHEMA"]

# Bump when what is cached (or how keys are made) changes meaning.
KEY_SCHEMA = "zako-load-v1"


class FileDigests:
    """blake3 hex of files under ``root``, each file read once per run.

    ``digest(rel)`` returns None for a missing file. Thread-safe. A run is
    one load: edits made while loading are not seen (as in any build tool).
    """

    def __init__(self, root: str) -> None:
        self.root = root
        self._memo: dict[str, str | None] = {}
        self._lock = threading.Lock()
        self.reads = 0

    def digest(self, rel: str) -> str | None:
        memo = self._memo.get(rel, False)
        if memo is not False:
            return memo
        try:
            with open(os.path.join(self.root, rel), "rb") as f:
                value: str | None = blake3(f.read()).hexdigest()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            value = None
        with self._lock:
            self.reads += 1
            self._memo[rel] = value
        return value


def _h(*parts: str) -> str:
    h = blake3()
    for part in parts:
        data = part.encode("utf-8")
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)
    return h.hexdigest()


def graph_key(script: str, script_digest: str, context_type: str) -> str:
    """Key of the import-list entry of ``script`` (root-relative)."""
    return _h(KEY_SCHEMA, "graph", __version__, context_type, script, script_digest)


def result_key(
    script: str,
    script_digest: str,
    context_type: str,
    imports: list[tuple[str, str]],
    manifest_digest: str,
    inputs_json: str,
) -> str:
    """Key of the evaluation result; ``imports`` are (path, digest) pairs of
    every transitively imported file, in a fixed order."""
    parts = [KEY_SCHEMA, "result", __version__, context_type, script, script_digest, manifest_digest, inputs_json]
    for path, digest in imports:
        parts.append(path)
        parts.append(digest)
    return _h(*parts)
