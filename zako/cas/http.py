"""Client for the Bazel HTTP remote-cache protocol (``/cas/<hex>``, ``/ac/<hex>``).

Built on ``http.client`` with a pool of keep-alive connections shared by
every thread (so many uploads and lookups run at once over few sockets;
``docs/remote-cache.md`` says why not urllib3: measured, it costs twice the
CPU per request, and a load makes thousands). Works
against any server that stores PUT bodies and serves them back with
GET/HEAD and ``Range`` (nginx WebDAV, bazel-remote, ...). Such a server
accepts any body under any key, so every whole-blob read is checked
against the digest and a mismatch raises :class:`DigestMismatchError`.

Every request has a **total deadline** -- connect, headers and body
together -- not a per-read timeout: a watchdog thread shuts the socket of a
request that outlives it, so a server trickling one byte every few seconds
is cut off like one that never answers. Failures feed the shared
:class:`CacheHealth` circuit breaker; once it is open no request is made.

Authentication is HTTP Basic (from the URL's userinfo, else the netrc file)
and/or headers the caller gives (``--remote-header``), sent with every
request; ``https://`` verifies the server against the system store or a
given ``ssl.SSLContext`` (private CA, client certificate). The URL shown in
messages, reprs and ``base_url`` has its userinfo masked
(``zako.cas.redact``): credentials are sent, never shown.
"""

from __future__ import annotations

import heapq
import http.client
import io
import os
import re
import socket
import ssl
import tempfile
import threading
import time
from collections.abc import Mapping
from typing import BinaryIO
from urllib.parse import unquote, urlsplit

import select

from blake3 import blake3 as _Blake3

from .. import trace as _trace
from .blob_range import BlobRange, check_range
from .breaker import CacheHealth
from .credentials import basic_authorization, netrc_credentials
from .digest import CHUNK_BYTES, Digest
from .errors import (BlobNotFoundError, DigestMismatchError, RemoteCasError, RemoteConfigError,
                     RemoteDisabledError, RemoteTimeoutError)
from .reader import BlobReader
from .redact import redact_url, register_header_value, register_url_secrets

__all__ = ["HttpCas", "ActionCache", "DEFAULT_TIMEOUT_S"]

_FULL = BlobRange()
_HEX64 = re.compile(r"[0-9a-fA-F]{64}")
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")
_OK_PUT = (200, 201, 204)
_TRANSPORT = (OSError, http.client.HTTPException)
# Failures after which a kept-alive connection is retried once on a fresh one:
# the server closed it while it sat in the pool.
_STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError, ConnectionAbortedError)

#: Default total deadline of one request. Cache entries and most blobs are
#: small; a bigger transfer gets ``size / min_rate`` seconds more.
DEFAULT_TIMEOUT_S = 5.0


# --- total deadlines ------------------------------------------------------------


class _DeadlineExceeded(Exception):
    """Raised in place of sending a request whose deadline has already passed."""


class _Deadline:
    __slots__ = ("at", "seconds", "conn", "active", "expired")

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + seconds
        self.conn = None
        self.active = True
        self.expired = False

    def left(self) -> float:
        return self.at - time.monotonic()


class _Watchdog:
    """One thread for every client: shuts the socket of a request whose
    deadline passed, which wakes its blocked ``recv``/``send`` at once."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, _Deadline]] = []
        self._cond = threading.Condition()
        self._seq = 0
        self._thread: threading.Thread | None = None

    def arm(self, seconds: float) -> _Deadline:
        d = _Deadline(seconds)
        with self._cond:
            self._seq += 1
            heapq.heappush(self._heap, (d.at, self._seq, d))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="zako-http-deadlines", daemon=True)
                self._thread.start()
            elif self._heap[0][2] is d:
                self._cond.notify()
        return d

    def attach(self, d: _Deadline, conn) -> None:
        with self._cond:
            if d.expired or d.at <= time.monotonic():
                d.expired = True
                raise _DeadlineExceeded()
            d.conn = conn

    def disarm(self, d: _Deadline) -> None:
        with self._cond:
            d.active = False
            d.conn = None

    def _run(self) -> None:
        heap, cond = self._heap, self._cond
        with cond:
            while True:
                while heap and not heap[0][2].active:
                    heapq.heappop(heap)
                if not heap:
                    cond.wait()
                    continue
                now = time.monotonic()
                at, _seq, d = heap[0]
                if at > now:
                    cond.wait(at - now)
                    continue
                heapq.heappop(heap)
                d.expired = True
                sock = getattr(d.conn, "sock", None)
                if sock is None:
                    # Still connecting (bounded by the connect timeout): look again soon,
                    # so a trickle that starts once connected is still cut off.
                    self._seq += 1
                    heapq.heappush(heap, (now + 0.05, self._seq, d))
                    continue
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


_WATCHDOG = _Watchdog()


class _Pool:
    """Idle keep-alive connections, shared by every thread, newest first.

    A connection is handed back only after a response read to its end on a
    connection the server keeps open. One that became readable while idle
    (the server closed it, or sent bytes nobody asked for) is dropped when
    taken. At most ``maxsize`` idle connections are kept.
    """

    # A connection idle for less than this is taken without the readability
    # check: a server does not close a keep-alive connection that fast, and
    # if it did, the failed first use is retried once on a fresh one. At
    # thousands of requests a load, one syscall less each is worth it.
    FRESH_S = 1.0

    def __init__(self, host: str, port: int | None, context: ssl.SSLContext | None, maxsize: int) -> None:
        if context is not None:
            self._new = lambda timeout: http.client.HTTPSConnection(
                host, port, timeout=timeout, blocksize=CHUNK_BYTES, context=context)
        else:
            self._new = lambda timeout: http.client.HTTPConnection(
                host, port, timeout=timeout, blocksize=CHUNK_BYTES)
        self._maxsize = maxsize
        self._idle: list[tuple[http.client.HTTPConnection, float]] = []
        self._lock = threading.Lock()

    def get(self, timeout: float) -> http.client.HTTPConnection:
        while True:
            with self._lock:
                conn, since = self._idle.pop() if self._idle else (None, 0.0)
            if conn is None:
                return self._new(timeout)
            sock = conn.sock
            try:
                if sock is not None and (time.monotonic() - since < self.FRESH_S
                                         or not select.select([sock], [], [], 0)[0]):
                    conn.timeout = timeout
                    return conn
            except (OSError, ValueError):
                pass
            conn.close()

    def put(self, conn: http.client.HTTPConnection) -> None:
        with self._lock:
            if len(self._idle) < self._maxsize:
                self._idle.append((conn, time.monotonic()))
                return
        conn.close()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn, _since in idle:
            conn.close()


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


def _has_client_cert(context: ssl.SSLContext) -> bool:
    # SSLContext does not say whether load_cert_chain was called; the
    # marker is set by zako.cas.credentials.tls_context.
    return bool(getattr(context, "zako_client_cert", False))


# OpenSSL verify codes that mean "signed by a CA you do not trust".
_UNTRUSTED_ISSUER = frozenset({2, 18, 19, 20, 21})


def _describe(exc: BaseException) -> str:
    """One line for a transport failure; TLS failures say what to do."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        detail = exc.verify_message or exc.reason
        if exc.verify_code in _UNTRUSTED_ISSUER:
            return f"TLS: the server's certificate is not trusted ({detail}); give its CA with --remote-ca"
        return f"TLS: the server's certificate was refused ({detail})"
    if isinstance(exc, ssl.SSLError):
        reason = str(exc.reason or exc)
        if "CERTIFICATE_REQUIRED" in reason:
            return "TLS: the server requires a client certificate (--remote-client-cert)"
        if reason.endswith(("ALERT_UNKNOWN_CA", "ALERT_BAD_CERTIFICATE", "ALERT_CERTIFICATE_UNKNOWN")):
            return f"TLS: the server refused the client certificate ({reason})"
        return f"TLS: {reason}"
    return str(exc)


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


class _Body:
    """A response body for ``BlobReader``: transport errors become
    ``RemoteCasError`` (and count against the breaker)."""

    __slots__ = ("_cas", "_resp", "_d", "_path")

    def __init__(self, cas: "HttpCas", resp, d: _Deadline, path: str) -> None:
        self._cas, self._resp, self._d, self._path = cas, resp, d, path

    def read(self, n: int = -1) -> bytes:
        try:
            return self._resp.read(n if n is not None and n >= 0 else None)
        except _TRANSPORT as exc:
            raise self._cas._failed("GET", self._path, exc, self._d) from exc

    def readinto(self, b) -> int:
        try:
            return self._resp.readinto(b)
        except _TRANSPORT as exc:
            raise self._cas._failed("GET", self._path, exc, self._d) from exc

    def close(self) -> None:
        pass  # the reader's on_close returns or drops the connection


class HttpCas:
    """Remote CAS over HTTP: ``PUT``/``GET``/``HEAD`` of ``{base_url}/cas/<hex>``.

    Same read/write surface as :class:`LocalCas` (``store``, ``store_file``,
    ``store_stream``, ``contains``, ``check``, ``fetch``, ``read_bytes``,
    ``delete``) so ``CasStore`` can use either as its remote. Partial reads
    use ``Range`` requests and are not hashed; whole reads are verified.

    ``timeout`` is the total deadline of one request (connect, headers,
    body); transfers of more than ``min_rate`` bytes get one more second per
    ``min_rate`` bytes. Up to ``max_connections`` keep-alive connections are
    kept (more threads may run requests at once; their extra connections are
    closed after use). ``health`` is the circuit breaker shared with the
    stores using this remote (a new one by default).

    Credentials: ``user:password@`` in ``base_url`` (percent-decoded) or,
    without it and when ``netrc`` is true, the netrc entry of the host
    (``$NETRC``, default ``~/.netrc``) become an ``Authorization: Basic``
    header; ``headers`` (e.g. ``{"Authorization": "Bearer ..."}``) are sent
    with every request and win over both. ``https://`` uses ``ssl_context``
    (see ``zako.cas.credentials.tls_context``; default: the system trust
    store). ``base_url``, ``repr`` and every message show the URL with its
    userinfo masked. A malformed URL, or an ``ssl_context`` for ``http://``,
    raises :class:`RemoteConfigError` (a ``ValueError``).

    Failures raise :class:`RemoteCasError` naming the URL:
    :class:`RemoteTimeoutError` past the deadline, :class:`RemoteDisabledError`
    when the breaker lets no request through (open, or suspect and another
    request probing). Thread-safe.
    """

    def __init__(self, base_url: str, timeout: float = DEFAULT_TIMEOUT_S, *, max_ac_bytes: int = 64 << 20,
                 max_connections: int = 64, min_rate: int = 1 << 20, health: CacheHealth | None = None,
                 headers: Mapping[str, str] | None = None, ssl_context: ssl.SSLContext | None = None,
                 netrc: bool = True) -> None:
        # Before anything can quote it: a parse error below, a repr, a log line.
        register_url_secrets(base_url)
        shown = redact_url(base_url)
        try:
            parts = urlsplit(base_url)
            port = parts.port  # raises on a non-numeric port
        except ValueError:
            raise RemoteConfigError(f"HttpCas base_url is not a valid URL: {shown!r}") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise RemoteConfigError(f"HttpCas base_url must be an http(s) URL, got {shown!r}")
        if ssl_context is not None and parts.scheme != "https":
            raise RemoteConfigError(f"TLS options (CA, client certificate) given for {shown!r}: "
                                    "use an https:// URL")
        if not timeout > 0:
            raise ValueError(f"HttpCas timeout must be > 0, got {timeout!r}")
        self.base_url = shown.rstrip("/")
        self.timeout = float(timeout)
        self.max_ac_bytes = max_ac_bytes
        self.min_rate = min_rate
        self.health = health if health is not None else CacheHealth(f"remote cache {self.base_url}")
        self._prefix = parts.path.rstrip("/")
        self._headers = self._auth_headers(parts, headers, netrc)
        self._client_cert = ssl_context is not None and _has_client_cert(ssl_context)
        context = (ssl_context or ssl.create_default_context()) if parts.scheme == "https" else None
        self._pool = _Pool(parts.hostname, port, context, max_connections)

    @staticmethod
    def _auth_headers(parts, headers: Mapping[str, str] | None, use_netrc: bool) -> dict[str, str]:
        given = {str(k): str(v) for k, v in (headers or {}).items()}
        for name, value in given.items():
            register_header_value(name, value)
        if any(k.lower() == "authorization" for k in given):
            return given
        auth: str | None = None
        if parts.username is not None or parts.password is not None:
            auth = basic_authorization(unquote(parts.username or ""), unquote(parts.password or ""))
        elif use_netrc:
            found = netrc_credentials(parts.hostname)
            if found is not None:
                auth = basic_authorization(*found)
        return {"Authorization": auth, **given} if auth is not None else given

    @property
    def header_names(self) -> list[str]:
        """Names of the headers sent with every request (values never shown)."""
        return sorted(self._headers)

    def __repr__(self) -> str:
        return f"HttpCas({self.base_url!r})"

    def close(self) -> None:
        """Close every idle pooled connection (a later request opens new ones)."""
        self._pool.close()

    def __enter__(self) -> "HttpCas":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    # --- requests ---------------------------------------------------------------

    def _seconds(self, nbytes: int) -> float:
        return self.timeout + nbytes / self.min_rate

    @staticmethod
    def _kind(method: str, path: str) -> str:
        area = "action-cache" if path.startswith("/ac/") else "blob"
        return f"{area} {'read' if method in ('GET', 'HEAD') else 'write'}"

    @staticmethod
    def _short(path: str) -> str:
        # Warnings name the request; a full 64-hex key only makes them unreadable.
        head, _, key = path.rpartition("/")
        return f"{head}/{key[:12]}…" if len(key) > 16 else path

    def _failed(self, method: str, path: str, exc: BaseException, d: _Deadline | None) -> RemoteCasError:
        """The error for a failed request, recorded against the breaker."""
        url = self._url(path)
        timed_out = (d is not None and (d.expired or d.left() <= 0)) or isinstance(
            exc, (socket.timeout, _DeadlineExceeded))
        if timed_out:
            seconds = d.seconds if d is not None else self.timeout
            why = f"no complete answer within {seconds:.1f} s (total deadline: connect, headers and body)"
            err: RemoteCasError = RemoteTimeoutError(f"{method} {url}: {why}", url=url)
        else:
            why = f"failed: {_describe(exc)}"
            err = RemoteCasError(f"{method} {url} {why}", url=url)
        self.health.failure(f"{method} {self._short(path)} {why}")
        return err

    def _unexpected(self, method: str, path: str, status: int) -> RemoteCasError:
        hint = self._status_hint(status)
        err = RemoteCasError(f"{method} {self._url(path)} answered HTTP {status}{hint}",
                             url=self._url(path), status=status)
        self.health.failure(f"{method} {self._short(path)} answered HTTP {status}{hint}")
        return err

    def _status_hint(self, status: int) -> str:
        if status == 401:
            return (" (credentials rejected)" if "Authorization" in self._headers
                    else " (credentials required: user:password@ in the URL, ~/.netrc or --remote-header)")
        if status == 403:
            return " (forbidden)"
        if status in (400, 495, 496) and self.base_url.startswith("https:"):
            # nginx answers a TLS client that sent no certificate, or one it
            # does not accept, with an HTTP error rather than a TLS alert.
            if not self._client_cert:
                return " (the server may require a client certificate: --remote-client-cert)"
            return " (the server may have refused the client certificate)"
        return ""

    def _open(self, method: str, path: str, body=None, headers: dict | None = None, *,
              seconds: float | None = None):
        """``(connection, response, deadline)`` with the status line and
        headers read and the body not; hand them to :meth:`_finish`. A
        keep-alive connection the server dropped is retried once on a fresh
        one, within the deadline."""
        seconds = self.timeout if seconds is None else seconds
        if not self.health.acquire(seconds + 1.0):
            self.health.skipped(self._kind(method, path))
            why = self.health.reason or "the remote is failing and another request is probing it"
            raise RemoteDisabledError(f"{method} {self._url(path)} not sent: {why}", url=self._url(path))
        d = _WATCHDOG.arm(seconds)
        rewind = getattr(body, "rewind", None)
        can_retry = body is None or isinstance(body, (bytes, memoryview)) or rewind is not None
        for attempt in (0, 1):
            left = d.left()
            conn = self._pool.get(max(left, 0.001))
            reused = conn.sock is not None
            try:
                if left <= 0:
                    raise _DeadlineExceeded()
                _WATCHDOG.attach(d, conn)
                if reused:
                    conn.sock.settimeout(left)
                if headers:
                    sent = {**self._headers, **headers} if self._headers else headers
                else:
                    sent = self._headers
                conn.request(method, self._prefix + path, body=body, headers=sent)
                return conn, conn.getresponse(), d
            except _STALE as exc:
                conn.close()
                if attempt == 0 and reused and can_retry and not d.expired and d.left() > 0:
                    if rewind is not None:
                        rewind()
                    continue
                _WATCHDOG.disarm(d)
                raise self._failed(method, path, exc, d) from exc
            except (_DeadlineExceeded, *_TRANSPORT) as exc:
                conn.close()
                _WATCHDOG.disarm(d)
                raise self._failed(method, path, exc, d) from exc
            except BaseException:
                conn.close()
                _WATCHDOG.disarm(d)
                raise
        raise AssertionError("unreachable")

    def _finish(self, conn, resp, d: _Deadline, complete: bool) -> None:
        # Stop the watchdog before the connection goes back to the pool, so it
        # can never shut a socket another request has taken meanwhile.
        _WATCHDOG.disarm(d)
        if complete and resp.isclosed() and not resp.will_close:
            self._pool.put(conn)
        else:
            conn.close()  # unknown state: never reused

    def _call(self, method: str, path: str, body=None, headers: dict | None = None,
              max_body: int | None = None, seconds: float | None = None) -> tuple[int, dict, bytes]:
        """A whole request: ``(status, headers, body)``; the connection is returned."""
        rec = _trace.current()
        if rec.enabled:  # one slice per remote request, on the calling thread's track
            t0 = time.perf_counter_ns()
            try:
                return self._call_untraced(method, path, body, headers, max_body, seconds)
            finally:
                rec.complete(f"{method} {self._kind(method, path)}", "remote", t0, time.perf_counter_ns(),
                             {"path": self._short(path)})
        return self._call_untraced(method, path, body, headers, max_body, seconds)

    def _call_untraced(self, method: str, path: str, body=None, headers: dict | None = None,
                       max_body: int | None = None, seconds: float | None = None) -> tuple[int, dict, bytes]:
        conn, resp, d = self._open(method, path, body, headers, seconds=seconds)
        complete = False
        try:
            status = resp.status
            length = resp.getheader("Content-Length")
            if max_body is not None and length is not None and length.isdigit() and int(length) > max_body:
                raise self._unexpected_size(method, path, length, max_body, status)
            if max_body is not None:
                data = resp.read(max_body + 1)
                if len(data) > max_body:
                    raise self._unexpected_size(method, path, "more than that", max_body, status)
                if not resp.isclosed():
                    data += resp.read()  # reaches the end: the connection can be reused
            else:
                data = resp.read()
            hdrs = {k.lower(): v for k, v in resp.getheaders()}
            complete = True
        except _TRANSPORT as exc:
            raise self._failed(method, path, exc, d) from exc
        finally:
            self._finish(conn, resp, d, complete)
        if status < 400 or status in (404, 416):
            self.health.success()
        return status, hdrs, data

    def _unexpected_size(self, method, path, length, max_body, status) -> RemoteCasError:
        err = RemoteCasError(f"{method} {self._url(path)}: body of {length} bytes exceeds limit {max_body}",
                             url=self._url(path), status=status)
        self.health.failure(str(err))
        return err

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
                                   "Content-Type": "application/octet-stream"},
                                  seconds=self._seconds(digest.size_bytes))
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
                                   "Content-Type": "application/octet-stream"},
                                  seconds=self._seconds(digest.size_bytes))
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

        def fail(actual: Digest | None, what: str = "ended early") -> BaseException:
            if actual is not None:
                what = f"hashes to {actual} (tampered?)"
            err = DigestMismatchError(
                f"body served for blob {digest} by {self._url(path)} {what}",
                expected=digest, actual=actual)
            self.health.failure(f"GET {self._short(path)}: body {what}")
            return err

        if start == stop:
            # Empty read: HTTP cannot express it as a range; just check presence.
            if self.check(digest) is None:
                raise BlobNotFoundError(f"blob {digest} is not in {self!r}", digest=digest)
            return BlobReader(io.BytesIO(b""), 0, verify=digest if whole else None, fail=fail)

        headers = {} if whole else {"Range": f"bytes={start}-{stop - 1}"}
        conn, resp, d = self._open("GET", path, None, headers, seconds=self._seconds(stop - start))
        body = _Body(self, resp, d, path)
        try:
            status = resp.status
            if status == 404:
                body.read()
                self._finish(conn, resp, d, True)
                self.health.success()
                raise BlobNotFoundError(f"blob {digest} is not in {self!r}", digest=digest)
            if status == 416:
                raise fail(None)
            if status == 206 and not whole:
                m = _CONTENT_RANGE.fullmatch(resp.getheader("Content-Range", ""))
                if not m or int(m.group(1)) != start or int(m.group(2)) != stop - 1:
                    err = RemoteCasError(
                        f"GET {self._url(path)} answered range {resp.getheader('Content-Range')!r} "
                        f"for {range!r}", url=self._url(path), status=status)
                    self.health.failure(str(err))
                    raise err
                if m.group(3) != "*" and int(m.group(3)) != size:
                    raise fail(None)
            elif status == 200:
                length = resp.getheader("Content-Length")
                if length is not None and length != str(size):
                    raise fail(None, f"announced {length} bytes for a blob of {size}")
                # A server that ignores Range sends the whole blob: skip ahead.
                skip = start
                while skip:
                    got = len(body.read(min(skip, CHUNK_BYTES)))
                    if not got:
                        raise fail(None)
                    skip -= got
            else:
                raise self._unexpected("GET", path, status)
        except BlobNotFoundError:
            raise
        except BaseException:
            self._finish(conn, resp, d, False)
            raise
        self.health.success()
        return BlobReader(body, stop - start, verify=digest if whole else None, fail=fail,
                          on_close=lambda complete: self._finish(conn, resp, d, complete),
                          name=self._url(path))

    def read_bytes(self, digest: Digest, range: BlobRange = _FULL) -> bytes:
        """The bytes of ``range``; whole reads are verified before returning."""
        try:
            with self.fetch(digest, range) as reader:
                return reader.read()
        except _TRANSPORT as exc:
            raise self._failed("GET", self._cas_path(digest), exc, None) from exc

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
