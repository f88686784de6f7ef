"""A real buildgrid (REAPI v2 server) for the gRPC remote-cache tests, and a
small gRPC proxy in front of it that injects the faults buildgrid will not
produce on demand (UNAVAILABLE, RESOURCE_EXHAUSTED, tampered blobs, dying
mid-load).

buildgrid lives in its own virtualenv (its pins are not zako's): ``$ZAKO_BUILDGRID``
names a ``bgd`` to use; otherwise ``~/.cache/zako-tests/buildgrid-venv``
(``$XDG_CACHE_HOME`` honoured) is created on first use, once per machine
(a file lock keeps two sessions from building it twice; a venv without its
``complete`` marker was interrupted and is rebuilt). pip's wheel cache makes a
rebuild quick. Under ``CI=true`` a server that cannot be set up or started
fails the run; otherwise the tests that need it skip with the reason.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass

try:
    import pytest
except ImportError:  # the asv benchmark imports this module without pytest
    pytest = None
try:
    import grpc
except ImportError:  # the zako[grpc] extra is missing: start_buildgrid skips
    grpc = None

BUILDGRID_VERSION = "0.4.4"  # the newest that installs on Python 3.11
INSTANCE = "zako-tests"
START_TIMEOUT_S = 120.0  # it imports a lot; on a busy 2-core machine 20-40 s
_IN_CI = os.environ.get("CI", "").lower() == "true"


def cache_root() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "zako-tests")


class BuildgridUnavailable(Exception):
    """buildgrid could not be set up or started (the message says why)."""


def _unavailable(why: str):
    raise BuildgridUnavailable(why)


def bgd_command(build: bool = True) -> list[str]:
    """The command that runs ``bgd``, building the venv first if needed
    (``build=False``: only one that exists)."""
    given = os.environ.get("ZAKO_BUILDGRID")
    if given:
        if not (os.path.isfile(given) and os.access(given, os.X_OK)):
            _unavailable(f"$ZAKO_BUILDGRID={given!r} is not an executable file")
        return [given]
    venv = os.path.join(cache_root(), "buildgrid-venv")
    python = os.path.join(venv, "bin", "python")
    marker = os.path.join(venv, "complete")
    command = [python, os.path.join(venv, "bin", "bgd")]
    if os.path.exists(marker):
        return command
    if not build:
        _unavailable(f"no buildgrid venv at {venv} (the tests build it) and $ZAKO_BUILDGRID is not set")
    os.makedirs(cache_root(), exist_ok=True)
    with open(os.path.join(cache_root(), "buildgrid-venv.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another session may be building it
        if os.path.exists(marker):
            return command
        shutil.rmtree(venv, ignore_errors=True)
        log = os.path.join(cache_root(), "buildgrid-venv.log")
        with open(log, "w") as out:
            steps = [[sys.executable, "-m", "venv", venv],
                     [python, "-m", "pip", "install", "--disable-pip-version-check", "--no-input",
                      "--prefer-binary", f"buildgrid=={BUILDGRID_VERSION}"]]
            for step in steps:
                if subprocess.run(step, stdout=out, stderr=subprocess.STDOUT, timeout=1800).returncode != 0:
                    shutil.rmtree(venv, ignore_errors=True)
                    _unavailable(f"could not build its venv ({' '.join(step[-2:])}); see {log}")
        with open(marker, "w") as f:
            f.write(BUILDGRID_VERSION + "\n")
    return command


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


CONFIG = """\
server:
  - !channel
    address: "127.0.0.1:{port}"
{channel_security}# More than a load has calls in flight (64 lookups, 32 uploads): a full pool
# answers RESOURCE_EXHAUSTED.
thread-pool-size: 128
storages:
  - !disk-storage &cas
    path: {storage}
caches:
  - !lru-action-cache &ac
    storage: *cas
    max-cached-refs: 1000000
    allow-updates: true
    cache-failed-actions: true
instances:
  - name: "{instance}"
    services:
      - !action-cache
        cache: *ac
      - !cas
        storage: *cas
      - !bytestream
        storage: *cas
"""


@dataclass
class Buildgrid:
    proc: subprocess.Popen
    port: int
    workdir: str
    tls: bool = False

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"{'grpcs' if self.tls else 'grpc'}://{self.target}/{INSTANCE}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _answers(target: str, credentials=None) -> bool:
    from zako.cas.reapi.protos import remote_execution_pb2 as re_pb
    from zako.cas.reapi.protos import remote_execution_pb2_grpc as re_grpc

    channel = grpc.secure_channel(target, credentials) if credentials else grpc.insecure_channel(target)
    with channel:
        try:
            re_grpc.CapabilitiesStub(channel).GetCapabilities(
                re_pb.GetCapabilitiesRequest(instance_name=INSTANCE), timeout=2)
            return True
        except grpc.RpcError:
            return False


def start_buildgrid(workdir: str, build: bool = True, *, tls=None) -> Buildgrid:
    """A buildgrid on a free loopback port with disk storage under ``workdir``;
    :class:`BuildgridUnavailable` says why not. ``tls`` (PEM paths
    ``server_key``, ``server_cert``, ``ca``, ``client_cert``, ``client_key``):
    TLS only, client certificates signed by ``ca`` required."""
    if grpc is None:
        _unavailable("the zako[grpc] extra (grpcio) is not installed")
    command = bgd_command(build)
    storage = os.path.join(workdir, "cas")
    os.makedirs(storage, exist_ok=True)
    port = free_port()
    config = os.path.join(workdir, "buildgrid.yml")
    with open(config, "w") as f:
        if tls is None:
            security = "    insecure-mode: true\n"
        else:
            security = ("    insecure-mode: false\n    credentials:\n"
                        f"      tls-server-key: {tls['server_key']}\n"
                        f"      tls-server-cert: {tls['server_cert']}\n"
                        f"      tls-client-certs: {tls['ca']}\n")
        f.write(CONFIG.format(port=port, storage=storage, instance=INSTANCE, channel_security=security))
    log = open(os.path.join(workdir, "buildgrid.log"), "wb")
    proc = subprocess.Popen([*command, "server", "start", config], stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    log.close()
    server = Buildgrid(proc, port, workdir, tls=tls is not None)
    credentials = None
    if tls is not None:
        def pem(key):
            with open(tls[key], "rb") as f:
                return f.read()
        credentials = grpc.ssl_channel_credentials(pem("ca"), pem("client_key"), pem("client_cert"))
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        with socket.socket() as s:
            s.settimeout(0.5)
            listening = s.connect_ex(("127.0.0.1", port)) == 0
        if listening and _answers(server.target, credentials):
            return server
        time.sleep(0.3)
    server.stop()
    with open(os.path.join(workdir, "buildgrid.log"), "rb") as f:
        tail = f.read()[-600:].decode("utf-8", "replace").strip().splitlines()
    _unavailable(f"bgd did not answer within {START_TIMEOUT_S:.0f} s: {tail[-1] if tail else 'no output'}")


def _buildgrid():
    """One real buildgrid for the session (each test uses its own keys).
    Under ``CI=true`` one that cannot start fails the run; otherwise skip."""
    workdir = tempfile.mkdtemp(prefix="zako-buildgrid-")
    try:
        server = start_buildgrid(workdir)
    except BuildgridUnavailable as e:
        shutil.rmtree(workdir, ignore_errors=True)
        if _IN_CI:
            pytest.fail(f"buildgrid is needed under CI=true: {e}", pytrace=False)
        pytest.skip(f"buildgrid unavailable: {e}")
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


buildgrid = pytest.fixture(scope="session", name="buildgrid")(_buildgrid) if pytest is not None else None


# --- a fault-injecting proxy ------------------------------------------------------

_STREAMING = {"/google.bytestream.ByteStream/Read": "unary_stream",
              "/google.bytestream.ByteStream/Write": "stream_unary"}


class ReapiProxy:
    """A gRPC server on 127.0.0.1 that forwards every call, as bytes, to
    ``upstream`` (``host:port``) -- or fails it. ``fault``:

    - ``none``: forward;
    - ``unavailable`` / ``exhausted``: every call fails with UNAVAILABLE /
      RESOURCE_EXHAUSTED (a restarting server; one out of quota);
    - ``tamper``: forward, but every blob a ``BatchReadBlobs`` returns has
      its first byte changed (a server serving other bytes);
    - ``kill_after``: forward ``kill_after`` calls, then stop at once,
      cutting calls in flight (a server killed mid-load).

    ``calls`` counts the calls that reached it.
    """

    def __init__(self, upstream: str, fault: str = "none", *, kill_after: int = 0) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self._grpc = grpc
        self.fault = fault
        self.kill_after = kill_after
        self.calls = 0
        self._lock = threading.Lock()
        self._upstream = grpc.insecure_channel(upstream)
        self._server = grpc.server(ThreadPoolExecutor(max_workers=32), maximum_concurrent_rpcs=None,
                                   handlers=[_Handler(self)])
        self.port = self._server.add_insecure_port("127.0.0.1:0")
        self._server.start()

    @property
    def url(self) -> str:
        return f"grpc://127.0.0.1:{self.port}/{INSTANCE}"

    def kill(self) -> None:
        self._server.stop(0)

    def close(self) -> None:
        self._server.stop(0)
        self._upstream.close()

    def __enter__(self) -> "ReapiProxy":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _count(self, context) -> None:
        grpc = self._grpc
        with self._lock:
            self.calls += 1
            n = self.calls
        if self.fault == "unavailable":
            context.abort(grpc.StatusCode.UNAVAILABLE, "proxy: server restarting")
        if self.fault == "exhausted":
            context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, "proxy: quota exceeded")
        if self.fault == "kill_after" and n > self.kill_after:
            threading.Thread(target=self._server.stop, args=(0,), daemon=True).start()
            context.abort(grpc.StatusCode.UNAVAILABLE, "proxy: killed")

    def _forward_unary(self, method: str, request: bytes, context) -> bytes:
        self._count(context)
        call = self._upstream.unary_unary(method)  # no (de)serializers: bytes through
        try:
            answer = call(request, timeout=context.time_remaining())
        except self._grpc.RpcError as e:
            context.abort(e.code(), e.details() or "")
        if self.fault == "tamper" and method.endswith("/BatchReadBlobs"):
            answer = _tampered(answer)
        return answer

    def _forward_read(self, method: str, request: bytes, context):
        self._count(context)
        call = self._upstream.unary_stream(method)
        try:
            for chunk in call(request, timeout=context.time_remaining()):
                yield chunk
        except self._grpc.RpcError as e:
            context.abort(e.code(), e.details() or "")

    def _forward_write(self, method: str, requests, context) -> bytes:
        self._count(context)
        call = self._upstream.stream_unary(method)
        try:
            return call(requests, timeout=context.time_remaining())
        except self._grpc.RpcError as e:
            context.abort(e.code(), e.details() or "")


def _tampered(answer: bytes) -> bytes:
    from zako.cas.reapi.protos import remote_execution_pb2 as re_pb

    resp = re_pb.BatchReadBlobsResponse.FromString(answer)
    for r in resp.responses:
        if r.data:
            r.data = bytes([r.data[0] ^ 0xFF]) + r.data[1:]
    return resp.SerializeToString()


class _Handler(grpc.GenericRpcHandler if grpc is not None else object):
    """Every method, forwarded."""

    def __init__(self, proxy: ReapiProxy) -> None:
        self._proxy = proxy

    def service(self, details):
        method, proxy = details.method, self._proxy
        kind = _STREAMING.get(method, "unary_unary")
        if kind == "unary_stream":
            return grpc.unary_stream_rpc_method_handler(lambda req, ctx: proxy._forward_read(method, req, ctx))
        if kind == "stream_unary":
            return grpc.stream_unary_rpc_method_handler(lambda reqs, ctx: proxy._forward_write(method, reqs, ctx))
        return grpc.unary_unary_rpc_method_handler(lambda req, ctx: proxy._forward_unary(method, req, ctx))


class BlackHole:
    """A port that accepts connections and never answers."""

    def __init__(self) -> None:
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self.port = self._sock.getsockname()[1]
        self._held: list[socket.socket] = []
        self._stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"grpc://127.0.0.1:{self.port}/{INSTANCE}"

    def _accept(self) -> None:
        while not self._stop:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            self._held.append(conn)  # held open, never read

    def close(self) -> None:
        self._stop = True
        self._sock.close()
        for conn in self._held:
            conn.close()

    def __enter__(self) -> "BlackHole":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
