"""The action cache: small mutable entries keyed by a computed digest.

The CAS answers "what are the bytes with this content digest"; loading also
needs "what did evaluating *this* script with *these* inputs produce", a key
that is not the digest of its value. That is Bazel's action cache (``/ac/``
beside ``/cas/`` in its HTTP cache protocol). Entries here are tiny JSON
documents pointing into the CAS.

Local entries live in ``root/<2 hex>/<hex>``, written to a temporary file
and renamed (a crash never leaves half an entry). The remote side speaks
``GET``/``PUT {base}/ac/<hex>`` over one keep-alive connection per thread;
a remote that fails is reported once and then ignored for the rest of the
run (a cache must never fail a build).
"""

from __future__ import annotations

import http.client
import logging
import os
import tempfile
import threading
import urllib.parse

__all__ = ["ActionCache", "RemoteActionCache"]

_log = logging.getLogger(__name__)

MAX_ENTRY_BYTES = 1 << 20


class RemoteActionCache:
    """``GET``/``PUT {base_url}/ac/<hex>`` against a Bazel HTTP cache."""

    def __init__(self, base_url: str, *, timeout_s: float = 10.0) -> None:
        parsed = urllib.parse.urlsplit(base_url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ValueError(f"remote cache URL must be http(s)://host[:port][/path], got {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self._scheme = parsed.scheme
        self._host = parsed.hostname
        self._port = parsed.port
        self._prefix = parsed.path.rstrip("/")
        self._timeout = timeout_s
        self._local = threading.local()
        self.disabled_reason: str | None = None
        self.gets = self.hits = self.puts = 0

    def _conn(self) -> http.client.HTTPConnection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            cls = http.client.HTTPSConnection if self._scheme == "https" else http.client.HTTPConnection
            conn = cls(self._host, self._port, timeout=self._timeout)
            self._local.conn = conn
        return conn

    def _request(self, method: str, key_hex: str, body: bytes | None = None) -> tuple[int, bytes]:
        path = f"{self._prefix}/ac/{key_hex}"
        headers = {"Content-Type": "application/octet-stream"} if body is not None else {}
        for attempt in (0, 1):  # one retry: a keep-alive connection may have been closed by the server
            conn = self._conn()
            try:
                conn.request(method, path, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read(MAX_ENTRY_BYTES + 1)
                return resp.status, data
            except (OSError, http.client.HTTPException):
                conn.close()
                self._local.conn = None
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def _fail(self, what: str, error: object) -> None:
        if self.disabled_reason is None:
            self.disabled_reason = f"{what} {self.base_url}: {error}"
            _log.warning("remote cache disabled for this run: %s", self.disabled_reason)

    def get(self, key_hex: str) -> bytes | None:
        if self.disabled_reason:
            return None
        self.gets += 1
        try:
            status, data = self._request("GET", key_hex)
        except (OSError, http.client.HTTPException) as e:
            self._fail("GET from", e)
            return None
        if status == 200 and len(data) <= MAX_ENTRY_BYTES:
            self.hits += 1
            return data
        if status not in (404, 200):
            self._fail(f"GET {key_hex} from", f"HTTP {status}")
        return None

    def put(self, key_hex: str, data: bytes) -> None:
        if self.disabled_reason:
            return
        try:
            status, _ = self._request("PUT", key_hex, data)
        except (OSError, http.client.HTTPException) as e:
            self._fail("PUT to", e)
            return
        if status not in (200, 201, 204):
            self._fail(f"PUT {key_hex} to", f"HTTP {status}")
        else:
            self.puts += 1

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


class ActionCache:
    """Local action-cache entries under ``root``, optionally backed by a remote.

    ``get(key_hex)`` tries local then remote (a remote hit is kept locally);
    ``put(key_hex, data)`` writes both. Thread-safe; the directory may be
    shared between processes.
    """

    def __init__(self, root: str, remote: RemoteActionCache | None = None) -> None:
        self.root = root
        self.remote = remote
        os.makedirs(root, exist_ok=True)
        self.local_hits = self.remote_hits = self.misses = 0

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
        if self.remote is not None:
            data = self.remote.get(key_hex)
            if data is not None:
                self.remote_hits += 1
                self._write_local(key_hex, data)
                return data
        self.misses += 1
        return None

    def put(self, key_hex: str, data: bytes, *, remote: bool = True) -> None:
        self._write_local(key_hex, data)
        if remote and self.remote is not None:
            self.remote.put(key_hex, data)

    def _write_local(self, key_hex: str, data: bytes) -> None:
        path = self._path(key_hex)
        directory = os.path.dirname(path)
        os.makedirs(directory, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=directory)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise

    def close(self) -> None:
        if self.remote is not None:
            self.remote.close()
