"""blake3 -> remote digest hash, for servers that only speak SHA-256.

zako names every blob by its blake3 digest; a SHA-256 server names it by
its SHA-256 hash, which cannot be computed from the blake3 one. The
mapping is learned when a blob is uploaded (both hashes of the bytes) or
when an action result names it (its output files carry both), and kept in
the local cache directory so the next process knows it too. A wrong entry
(a damaged file, a lying server) costs a miss, never a wrong result: every
blob read is checked against its blake3 digest.

The file is an append-only log of ``<blake3 hex> <sha256 hex>`` lines, read
once, lazily, the first time a hash is not in memory; appends from several
processes interleave by whole lines (one ``O_APPEND`` write each).
"""

from __future__ import annotations

import os
import re
import threading

__all__ = ["DigestMap"]

_LINE = re.compile(rb"([0-9a-f]{64}) ([0-9a-f]{64})")


class DigestMap:
    """Thread-safe blake3-hex -> remote-hex map, persisted under ``path``
    (``None``: in memory only)."""

    def __init__(self, path: str | None) -> None:
        self.path = path
        self._map: dict[str, str] = {}
        self._loaded = path is None
        self._lock = threading.Lock()
        self._fd: int | None = None

    def get(self, b3_hex: str) -> str | None:
        found = self._map.get(b3_hex)
        if found is None and not self._loaded:
            self._load()
            found = self._map.get(b3_hex)
        return found

    def add(self, b3_hex: str, remote_hex: str) -> None:
        if self._map.get(b3_hex) == remote_hex:
            return
        self._map[b3_hex] = remote_hex
        if self.path is None:
            return
        line = f"{b3_hex} {remote_hex}\n".encode("ascii")
        with self._lock:
            try:
                if self._fd is None:
                    os.makedirs(os.path.dirname(self.path), exist_ok=True)
                    self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
                os.write(self._fd, line)
            except OSError:
                pass  # only a later process loses the entry: a miss, not an error

    def _load(self) -> None:
        with self._lock:
            if self._loaded:
                return
            self._loaded = True
            try:
                with open(self.path, "rb") as f:  # type: ignore[arg-type]
                    data = f.read()
            except OSError:
                return
        for m in _LINE.finditer(data):
            self._map.setdefault(m.group(1).decode(), m.group(2).decode())

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
