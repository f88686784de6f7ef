"""The action cache: small mutable entries keyed by a computed digest.

The CAS answers "what are the bytes with this content digest"; loading also
needs "what did evaluating *this* script with *these* inputs produce", a key
that is not the digest of its value. That is Bazel's action cache (``/ac/``
beside ``/cas/`` in its HTTP cache protocol). Entries here are tiny JSON
documents pointing into the CAS.

Local entries live in ``root/<2 hex>/<hex>``, written to a temporary file
and renamed (a crash never leaves half an entry). The remote side is the
``/ac/`` half of ``zako.cas.HttpCas`` (``ac_get``/``ac_put``); a remote that
fails is reported once and then ignored for the rest of the run (a cache
must never fail a build).
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

__all__ = ["ActionCache"]

_log = logging.getLogger(__name__)


class ActionCache:
    """Local action-cache entries under ``root``, optionally backed by a remote.

    ``remote`` is an ``HttpCas`` (anything with ``ac_get``/``ac_put``).
    ``get(key_hex)`` tries local then remote (a remote hit is kept locally);
    ``put(key_hex, data)`` writes both. Thread-safe; the directory may be
    shared between processes. A failing remote is disabled for the rest of
    the run (``remote_error`` says why) instead of failing the load.
    """

    def __init__(self, root: str, remote: Any = None) -> None:
        self.root = root
        self.remote = remote
        os.makedirs(root, exist_ok=True)
        self.local_hits = self.remote_hits = self.misses = self.remote_puts = 0
        self.remote_error: str | None = None
        self._dirs: set[str] = set()

    def _remote_failed(self, what: str, error: BaseException) -> None:
        if self.remote_error is None:
            self.remote_error = f"{what}: {error}"
            _log.warning("remote cache disabled for this run: %s", self.remote_error)

    def _path(self, key_hex: str) -> str:
        return os.path.join(self.root, key_hex[:2], key_hex)

    def get(self, key_hex: str) -> bytes | None:
        try:
            with open(self._path(key_hex), "rb") as f:
                data = f.read()
            self.local_hits += 1
            return data
        except FileNotFoundError:
            pass
        if self.remote is not None and self.remote_error is None:
            try:
                data = self.remote.ac_get(key_hex)
            except Exception as e:  # a cache must never fail a build
                self._remote_failed(f"GET ac/{key_hex}", e)
                data = None
            if data is not None:
                self.remote_hits += 1
                self._write_local(key_hex, data)
                return data
        self.misses += 1
        return None

    def put(self, key_hex: str, data: bytes, *, remote: bool = True) -> None:
        self._write_local(key_hex, data)
        if remote and self.remote is not None and self.remote_error is None:
            try:
                self.remote.ac_put(key_hex, data)
                self.remote_puts += 1
            except Exception as e:
                self._remote_failed(f"PUT ac/{key_hex}", e)

    def _write_local(self, key_hex: str, data: bytes) -> None:
        path = self._path(key_hex)
        directory = os.path.dirname(path)
        if directory not in self._dirs:  # one mkdir per shard per process, not per entry
            os.makedirs(directory, exist_ok=True)
            self._dirs.add(directory)
        # Unique per process and thread, so concurrent writers never share a temp file.
        tmp = f"{path}.tmp-{os.getpid()}-{threading.get_ident()}"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
            finally:
                os.close(fd)
            os.replace(tmp, path)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
