"""Client for the Bazel HTTP remote-cache protocol (``/cas/<hex>``, ``/ac/<hex>``).

Standard library only: ``http.client`` with one keep-alive connection per
thread. Works against any server that stores PUT bodies and serves them
back with GET/HEAD and ``Range`` (nginx WebDAV, bazel-remote, ...). Such a
server accepts any body under any key, so every whole-blob read is checked
against the digest and a mismatch raises :class:`DigestMismatchError`.
"""

from __future__ import annotations

import http.client
import io
import os
import re
import tempfile
import threading
import weakref
from typing import BinaryIO
from urllib.parse import urlsplit

from blake3 import blake3 as _Blake3

from .blob_range import BlobRange, check_range
from .digest import CHUNK_BYTES, Digest
from .errors import BlobNotFoundError, DigestMismatchError, RemoteCasError
from .reader import BlobReader

__all__ = ["HttpCas", "ActionCache"]

_FULL = BlobRange()
_HEX64 = re.compile(r"[0-9a-fA-F]{64}")
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")
# Connection-level failures after which a keep-alive connection is retried once.
_STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError,
          ConnectionAbortedError)
_OK_PUT = (200, 201, 204)


class _HashingBody:
    """Upload body that hashes what is sent, so the upload itself is checked."""

    def __init__(self, f: BinaryIO, limit: int) -> None:
        self._f = f
        self._start = f.tell()
        self._limit = limit  # never send more than the Content-Length announced
        self.hasher = _Blake3()
        self.sent = 0

    def read(self, n: int = -1) -> bytes:
        want = min(n if n and n > 0 else CHUNK_BYTES, self._limit - self.sent)
        data = self._f.read(want) if want > 0 else b""
        self.hasher.update(data)
        self.sent += len(data)
        return data

    def rewind(self) -> None:
        self._f.seek(self._start)
        self.hasher = _Blake3()
        self.sent = 0


def _key_hex(key) -> str:
    if isinstance(key, Digest):
        return key.hex
    if isinstance(key, str):
        if _HEX64.fullmatch(key):
            return key.lower()
        return _Blake3(key.encode("utf-8")).hexdigest()
    if isinstance(key, (bytes, bytearray, memoryview)):
        return _Blake3(key).hexdigest()
    raise TypeError(f"action cache key must be a Digest, str or bytes, got {type(key).__name__}")


class HttpCas:
    """Remote CAS over HTTP: ``PUT``/``GET``/``HEAD`` of ``{base_url}/cas/<hex>``.

    Same read/write surface as :class:`LocalCas` (``store``, ``store_file``,
    ``store_stream``, ``contains``, ``check``, ``fetch``, ``read_bytes``,
    ``delete``) so ``CasStore`` can use either as its remote. Partial reads
    use ``Range`` requests and are not hashed; whole reads are verified.
    Failures to reach the server or unexpected statuses raise
    :class:`RemoteCasError` naming the URL. Thread-safe: each thread uses
    its own keep-alive connection. ``timeout`` is per socket operation.
    """

    def __init__(self, base_url: str, timeout: float = 30.0, *, max_ac_bytes: int = 64 << 20) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"HttpCas base_url must be an http(s) URL, got {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.max_ac_bytes = max_ac_bytes
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port
        self._prefix = parts.path.rstrip("/")
        self._local = threading.local()
        self._conns: "weakref.WeakSet[http.client.HTTPConnection]" = weakref.WeakSet()
        self._conns_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"HttpCas({self.base_url!r})"

    # --- connections ----------------------------------------------------------

    def _take_conn(self) -> http.client.HTTPConnection:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            self._local.conn = None
            return conn
        cls = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
        conn = cls(self._host, self._port, timeout=self.timeout, blocksize=CHUNK_BYTES)
        with self._conns_lock:
            self._conns.add(conn)
        return conn

    def _give_back(self, conn: http.client.HTTPConnection, resp: http.client.HTTPResponse,
                   complete: bool = True) -> None:
        # Reuse only a connection whose response was read to the end and that
        # the server keeps open; otherwise its state is unknown.
        reusable = complete and resp.isclosed() and not resp.will_close
        if reusable and getattr(self._local, "conn", None) is None:
            self._local.conn = conn
        else:
            conn.close()

    def close(self) -> None:
        """Close every connection this client opened (any thread)."""
        with self._conns_lock:
            conns = list(self._conns)
        for conn in conns:
            conn.close()
        self._local.conn = None

    def __enter__(self) -> "HttpCas":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def _send(self, method: str, path: str, body=None, headers: dict | None = None):
        """``(conn, response)`` with the status line and headers read.

        A keep-alive connection the server has dropped is retried once on a
        fresh one (when the body can be sent again).
        """
        for attempt in (0, 1):
            conn = self._take_conn()
            reused = conn.sock is not None
            try:
                conn.request(method, self._prefix + path, body=body, headers=headers or {})
                return conn, conn.getresponse()
            except _STALE as exc:
                conn.close()
                rewind = getattr(body, "rewind", None)
                if attempt == 0 and reused and (body is None or isinstance(body, (bytes, memoryview))
                                                or rewind is not None):
                    if rewind is not None:
                        rewind()
                    continue
                raise RemoteCasError(f"{method} {self._url(path)} failed: {exc}",
                                     url=self._url(path)) from exc
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                raise RemoteCasError(f"{method} {self._url(path)} failed: {exc}",
                                     url=self._url(path)) from exc
        raise AssertionError("unreachable")

    def _call(self, method: str, path: str, body=None, headers: dict | None = None,
              max_body: int | None = None) -> tuple[int, dict, bytes]:
        """A whole request: ``(status, headers, body)``; the connection is returned."""
        conn, resp = self._send(method, path, body, headers)
        try:
            length = resp.getheader("Content-Length")
            if max_body is not None and length is not None and int(length) > max_body:
                raise RemoteCasError(
                    f"{method} {self._url(path)}: body of {length} bytes exceeds limit {max_body}",
                    url=self._url(path), status=resp.status)
            data = resp.read()
            hdrs = {k.lower(): v for k, v in resp.getheaders()}
            return resp.status, hdrs, data
        except (OSError, http.client.HTTPException) as exc:
            raise RemoteCasError(f"{method} {self._url(path)} failed: {exc}",
                                 url=self._url(path)) from exc
        finally:
            self._give_back(conn, resp)

    def _unexpected(self, method: str, path: str, status: int) -> RemoteCasError:
        return RemoteCasError(f"{method} {self._url(path)} answered HTTP {status}",
                              url=self._url(path), status=status)

    # --- CAS --------------------------------------------------------------------

    @staticmethod
    def _cas_path(digest: Digest) -> str:
        if not isinstance(digest, Digest):
            raise TypeError(f"expected a Digest, got {type(digest).__name__} {digest!r}")
        return f"/cas/{digest.hex}"

    def check(self, digest: Digest) -> int | None:
        """Size the server reports for the blob, or ``None`` if absent (one HEAD).

        A stored body of the wrong size counts as absent.
        """
        path = self._cas_path(digest)
        status, hdrs, _ = self._call("HEAD", path)
        if status == 404:
            return None
        if status != 200:
            raise self._unexpected("HEAD", path, status)
        size = int(hdrs.get("content-length", -1))
        return size if size == digest.size_bytes else None

    def contains(self, digest: Digest) -> bool:
        return self.check(digest) is not None

    __contains__ = contains

    def store(self, digest: Digest, data: bytes | bytearray | memoryview) -> Digest:
        """Upload ``data`` under ``digest`` (checked first: :class:`DigestMismatchError`)."""
        path = self._cas_path(digest)
        actual = Digest.of_bytes(data)
        if actual != digest:
            raise DigestMismatchError(
                f"data given for blob {digest} hashes to {actual}; not uploaded to {self!r}",
                expected=digest, actual=actual)
        body = data if isinstance(data, bytes) else memoryview(data).cast("B")
        status, _, _ = self._call("PUT", path, body,
                                  {"Content-Length": str(digest.size_bytes),
                                   "Content-Type": "application/octet-stream"})
        if status not in _OK_PUT:
            raise self._unexpected("PUT", path, status)
        return digest

    def store_file(self, path: str | os.PathLike, expected: Digest | None = None) -> Digest:
        """Upload a file, streamed; returns its digest.

        Without ``expected`` the file is hashed first (one extra read). The
        bytes are hashed again as they are sent; if they differ from
        ``expected`` (file changed meanwhile) the upload is deleted and
        :class:`DigestMismatchError` raised.
        """
        if expected is None:
            expected = Digest.of_file(path)
        with open(path, "rb") as f:
            sent = self._put_open_file(f, expected)
        if sent != expected:
            self.delete(expected)
            raise DigestMismatchError(
                f"file {os.fspath(path)!r} uploaded as blob {expected} hashed to {sent} "
                "while sending (changed meanwhile?); upload deleted",
                expected=expected, actual=sent)
        return expected

    def store_stream(self, stream: BinaryIO, expected: Digest | None = None) -> Digest:
        """Upload everything left in ``stream``; spooled to a temp file first.

        (The URL names the digest, so it must be known before sending.)
        """
        with tempfile.TemporaryFile() as spool:
            while True:
                chunk = stream.read(CHUNK_BYTES)
                if not chunk:
                    break
                spool.write(chunk)
            spool.flush()
            spool.seek(0)
            digest = Digest.of_stream(spool)
            if expected is not None and digest != expected:
                raise DigestMismatchError(
                    f"stream given for blob {expected} hashes to {digest}; not uploaded to {self!r}",
                    expected=expected, actual=digest)
            spool.seek(0)
            self._put_open_file(spool, digest)
            return digest

    def _put_open_file(self, f: BinaryIO, digest: Digest) -> Digest:
        """PUT the rest of ``f`` as ``digest``; returns the digest of what was sent."""
        key = self._cas_path(digest)
        body = _HashingBody(f, digest.size_bytes)
        status, _, _ = self._call("PUT", key, body,
                                  {"Content-Length": str(digest.size_bytes),
                                   "Content-Type": "application/octet-stream"})
        if status not in _OK_PUT:
            raise self._unexpected("PUT", key, status)
        return Digest._trusted(body.sent, body.hasher.digest())

    def delete(self, digest: Digest) -> bool:
        """Remove the blob from the server (needs DELETE support); True if it was there."""
        path = self._cas_path(digest)
        status, _, _ = self._call("DELETE", path)
        if status in (200, 202, 204):
            return True
        if status == 404:
            return False
        raise self._unexpected("DELETE", path, status)

    def fetch(self, digest: Digest, range: BlobRange = _FULL) -> BlobReader:
        """Streaming binary file object over ``range`` of the blob.

        Whole reads are verified as they stream (the final read raises
        :class:`DigestMismatchError` on a tampered body); a body of the wrong
        length fails at once. :class:`RangeError` before any request if the
        range does not fit; :class:`BlobNotFoundError` on 404. Close it.
        """
        path = self._cas_path(digest)
        start, stop = check_range(digest, range)
        size = digest.size_bytes
        whole = range.covers_whole(size)

        def fail(actual: Digest | None) -> BaseException:
            what = "ended early" if actual is None else f"hashes to {actual}"
            return DigestMismatchError(
                f"body served for blob {digest} by {self._url(path)} {what}",
                expected=digest, actual=actual)

        if start == stop:
            # Empty read: HTTP cannot express it as a range; just check presence.
            if self.check(digest) is None:
                raise BlobNotFoundError(f"blob {digest} is not in {self!r}", digest=digest)
            return BlobReader(io.BytesIO(b""), 0, verify=digest if whole else None, fail=fail)

        headers = {} if whole else {"Range": f"bytes={start}-{stop - 1}"}
        conn, resp = self._send("GET", path, None, headers)
        try:
            status = resp.status
            if status == 404:
                resp.read()
                raise BlobNotFoundError(f"blob {digest} is not in {self!r}", digest=digest)
            if status == 416:
                resp.read()
                raise fail(None)
            if status == 206 and not whole:
                m = _CONTENT_RANGE.fullmatch(resp.getheader("Content-Range", ""))
                if not m or int(m.group(1)) != start or int(m.group(2)) != stop - 1:
                    raise RemoteCasError(
                        f"GET {self._url(path)} answered range {resp.getheader('Content-Range')!r} "
                        f"for {range!r}", url=self._url(path), status=status)
                if m.group(3) != "*" and int(m.group(3)) != size:
                    raise fail(None)
            elif status == 200:
                length = resp.getheader("Content-Length")
                if length is not None and int(length) != size:
                    raise fail(None)
                # A server that ignores Range sends the whole blob: skip ahead.
                skip = start
                while skip:
                    got = len(resp.read(min(skip, CHUNK_BYTES)))
                    if not got:
                        raise fail(None)
                    skip -= got
            else:
                resp.read()
                raise self._unexpected("GET", path, status)
        except BaseException:
            conn.close()
            raise
        return BlobReader(resp, stop - start, verify=digest if whole else None, fail=fail,
                          on_close=lambda complete: self._give_back(conn, resp, complete),
                          name=self._url(path))

    def read_bytes(self, digest: Digest, range: BlobRange = _FULL) -> bytes:
        """The bytes of ``range``; whole reads are verified before returning."""
        try:
            with self.fetch(digest, range) as reader:
                return reader.read()
        except (OSError, http.client.HTTPException) as exc:
            raise RemoteCasError(f"reading blob {digest} from {self!r} failed: {exc}",
                                 url=self._url(self._cas_path(digest))) from exc

    # --- action cache ---------------------------------------------------------

    def ac_get(self, key) -> bytes | None:
        """Bytes stored under ``key`` in ``/ac/``, or ``None``.

        ``key`` is a :class:`Digest` (its hex), 64 hex digits (used as is), or
        any other str/bytes (its blake3 hex). Entries are not content-checked:
        store something self-verifying if that matters.
        """
        path = f"/ac/{_key_hex(key)}"
        status, _, data = self._call("GET", path, max_body=self.max_ac_bytes)
        if status == 404:
            return None
        if status != 200:
            raise self._unexpected("GET", path, status)
        return data

    def ac_put(self, key, data: bytes) -> None:
        """Store ``data`` under ``key`` in ``/ac/`` (replacing any entry)."""
        path = f"/ac/{_key_hex(key)}"
        data = bytes(data)
        if len(data) > self.max_ac_bytes:
            raise ValueError(f"action cache entry for {path} is {len(data)} bytes, "
                             f"over max_ac_bytes={self.max_ac_bytes}")
        status, _, _ = self._call("PUT", path, data, {"Content-Length": str(len(data)),
                                                      "Content-Type": "application/octet-stream"})
        if status not in _OK_PUT:
            raise self._unexpected("PUT", path, status)

    def ac_contains(self, key) -> bool:
        path = f"/ac/{_key_hex(key)}"
        status, _, _ = self._call("HEAD", path)
        if status == 404:
            return False
        if status != 200:
            raise self._unexpected("HEAD", path, status)
        return True

    @property
    def ac(self) -> "ActionCache":
        """Mapping-like view of the action cache: ``get``, ``put``, ``in``."""
        return ActionCache(self)


class ActionCache:
    """``cas.ac``: key -> small bytes, shared through the remote's ``/ac/``."""

    __slots__ = ("_cas",)

    def __init__(self, cas: HttpCas) -> None:
        self._cas = cas

    def get(self, key) -> bytes | None:
        return self._cas.ac_get(key)

    def put(self, key, data: bytes) -> None:
        self._cas.ac_put(key, data)

    def __contains__(self, key) -> bool:
        return self._cas.ac_contains(key)
