"""A fault-injecting HTTP server on 127.0.0.1 for remote-cache tests and benchmarks.

``FaultServer(upstream)`` proxies every request to ``upstream`` (the real
nginx of ``nginx_server.py``) over one keep-alive connection per client
connection, and can misbehave in the ways a real remote does::

    none        proxy faithfully (plus ``latency_s`` per request)
    refuse      nothing listens: connections are refused
    blackhole   accept connections, read requests, never answer
    trickle     proxy, but send the answer one byte every ``trickle_s``
    http500     answer every request with 500
    http403     answer every request with 403
    bad_length  proxy, announce 10 more body bytes than are sent, then close
    truncated   proxy, send half the body, then close
    tamper      proxy, but flip a byte of every ``/cas/`` body served
    kill_after  proxy the first ``kill_after`` requests, then die: close
                every connection and stop listening (a server killed mid-load)

``fault`` can be changed while the server runs (``server.fault = "..."``).
``requests`` counts the requests read (for a black hole: received). The
server stops by itself after ``lifetime_s`` and on :meth:`stop`; every
thread is a daemon, so a test that forgets to stop it cannot hang.

Run ``python tests/fault_server.py UPSTREAM --latency 0.05`` to try it (it
prints its URL); benchmarks run it so, in its own process, so the proxy's
work does not compete with the client for the interpreter lock.
"""

from __future__ import annotations

import http.client
import socket
import threading
import time
from urllib.parse import urlsplit

__all__ = ["FaultServer", "FAULTS"]

FAULTS = ("none", "refuse", "blackhole", "trickle", "http500", "http403", "bad_length",
          "truncated", "tamper", "kill_after")

_HOP = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "upgrade", "te", "trailer"}
_REASONS = {500: "Internal Server Error", 403: "Forbidden"}


class _Closed(Exception):
    pass


class FaultServer:
    def __init__(self, upstream: str | None = None, *, fault: str = "none", latency_s: float = 0.0,
                 trickle_s: float = 0.5, kill_after: int = 0, lifetime_s: float = 300.0) -> None:
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; one of {FAULTS}")
        self.fault = fault
        self.latency_s = latency_s
        self.trickle_s = trickle_s
        self.kill_after = kill_after
        self.requests = 0
        self._upstream = urlsplit(upstream) if upstream else None
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._conns: set[socket.socket] = set()
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(512)
        self._listener.settimeout(0.2)  # so the accept loop sees stop()
        self.port = self._listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        if fault == "refuse":
            self._close_listener()
        threading.Thread(target=self._accept_loop, name="fault-server", daemon=True).start()
        self._timer = threading.Timer(lifetime_s, self.stop)
        self._timer.daemon = True
        self._timer.start()

    # --- lifecycle --------------------------------------------------------------

    def _close_listener(self) -> None:
        try:
            self._listener.close()
        except OSError:
            pass

    def kill(self) -> None:
        """Die as a killed process would: stop listening, reset every connection."""
        self._close_listener()
        with self._lock:
            conns = list(self._conns)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            c.close()

    def stop(self) -> None:
        self._stopped.set()
        self._timer.cancel()
        self.kill()

    def __enter__(self) -> "FaultServer":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # --- serving ----------------------------------------------------------------

    def _accept_loop(self) -> None:
        while not self._stopped.is_set():
            try:
                conn, _ = self._listener.accept()
            except socket.timeout:
                continue
            except OSError:
                # Not listening any more (refuse, or killed): wait for stop().
                self._stopped.wait(0.2)
                continue
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self._conns.add(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        upstream = None
        rfile = conn.makefile("rb")
        try:
            while not self._stopped.is_set():
                method, path, headers, body = self._read_request(rfile)
                with self._lock:
                    self.requests += 1
                    n = self.requests
                fault = self.fault
                if fault == "kill_after" and n > self.kill_after:
                    self.kill()
                    return
                if fault == "blackhole":
                    while not self._stopped.wait(0.2):
                        pass
                    return
                if self.latency_s:
                    time.sleep(self.latency_s)
                if fault in ("http500", "http403"):
                    status = 500 if fault == "http500" else 403
                    text = f"{status} {_REASONS[status]}\n".encode()
                    conn.sendall(self._head(status, [("Content-Type", "text/plain")], len(text)) + text)
                    continue
                if upstream is None:
                    upstream = http.client.HTTPConnection(self._upstream.hostname, self._upstream.port, timeout=30)
                upstream.request(method, path, body=body, headers=headers)
                resp = upstream.getresponse()
                data = resp.read()
                out_headers = [(k, v) for k, v in resp.getheaders()
                               if k.lower() not in _HOP and k.lower() != "content-length"]
                length = int(resp.getheader("Content-Length") or 0) if method == "HEAD" else len(data)
                if fault == "tamper" and method == "GET" and "/cas/" in path and data:
                    data = bytes([data[0] ^ 0xFF]) + data[1:]
                if fault == "bad_length" and method != "HEAD":
                    conn.sendall(self._head(resp.status, out_headers, length + 10, resp.reason) + data)
                    return
                if fault == "truncated" and method != "HEAD" and data:
                    conn.sendall(self._head(resp.status, out_headers, length, resp.reason) + data[:len(data) // 2])
                    return
                payload = self._head(resp.status, out_headers, length, resp.reason) + data
                if fault == "trickle":
                    for i in range(len(payload)):
                        if self._stopped.wait(self.trickle_s):
                            return
                        conn.sendall(payload[i:i + 1])
                    continue
                conn.sendall(payload)
        except (_Closed, OSError, http.client.HTTPException, ValueError):
            pass
        finally:
            with self._lock:
                self._conns.discard(conn)
            for closeable in (rfile, conn, upstream):
                try:
                    if closeable is not None:
                        closeable.close()
                except OSError:
                    pass

    @staticmethod
    def _head(status: int, headers: list[tuple[str, str]], length: int, reason: str | None = None) -> bytes:
        lines = [f"HTTP/1.1 {status} {reason or _REASONS.get(status, 'OK')}"]
        lines += [f"{k}: {v}" for k, v in headers]
        lines.append(f"Content-Length: {length}")
        lines.append("Connection: keep-alive")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    @staticmethod
    def _read_request(rfile) -> tuple[str, str, dict[str, str], bytes]:
        line = rfile.readline(65537)
        if not line:
            raise _Closed()
        method, path, _version = line.decode("latin-1").split()
        headers: dict[str, str] = {}
        while True:
            h = rfile.readline(65537)
            if not h:
                raise _Closed()
            if h in (b"\r\n", b"\n"):
                break
            k, _, v = h.decode("latin-1").partition(":")
            headers[k.strip()] = v.strip()
        length = int(next((v for k, v in headers.items() if k.lower() == "content-length"), "0"))
        body = rfile.read(length) if length else b""
        if len(body) < length:
            raise _Closed()
        headers = {k: v for k, v in headers.items() if k.lower() not in _HOP}
        return method, path, headers, body


if __name__ == "__main__":  # pragma: no cover - manual use
    import argparse

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("upstream")
    p.add_argument("--fault", default="none", choices=FAULTS)
    p.add_argument("--latency", type=float, default=0.0)
    p.add_argument("--trickle", type=float, default=0.5)
    p.add_argument("--lifetime", type=float, default=600.0)
    a = p.parse_args()
    s = FaultServer(a.upstream, fault=a.fault, latency_s=a.latency, trickle_s=a.trickle, lifetime_s=a.lifetime)
    print(s.url, flush=True)
    s._stopped.wait(a.lifetime + 1)
