"""A real nginx WebDAV server on loopback, for remote-cache tests.

Importable by any test module (``tests/`` is on ``sys.path`` via its
conftest, so this works under both ``pytest`` and ``python -m pytest``)::

    from nginx_server import nginx_cas_url  # noqa: F401  (pytest fixture)

or call :func:`start_nginx` directly (``server_extra`` adds directives to
the ``server`` block, ``listen_extra`` to its ``listen`` line, e.g. ``ssl``
with ``scheme="https"``; ``tests/nginx_tls.py`` builds the auth and TLS
servers this way). Each server has its own config, data
root, pid, logs and temp paths inside a temp directory, listens on
127.0.0.1 on a free ephemeral port, runs in the foreground as a child
process (``daemon off; master_process off;``) and is stopped at teardown.

When nginx is missing or cannot start the fixture skips — except under
``CI=true``, where it fails, so a broken CI image cannot silently skip the
remote-cache tests.
"""

from __future__ import annotations

import http.client
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

__all__ = ["NginxServer", "NginxUnavailable", "find_nginx", "start_nginx",
           "nginx_server", "nginx_cas_url", "require_or_skip"]

_STARTUP_TIMEOUT_S = 10.0


class NginxUnavailable(RuntimeError):
    """nginx is not installed or would not start; the message says why."""


@dataclass
class NginxServer:
    """A running nginx: ``url`` (no trailing slash), ``data_dir`` (its document root)."""

    url: str
    port: int
    data_dir: Path
    work_dir: Path
    process: subprocess.Popen = field(repr=False)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)

    def error_log(self) -> str:
        try:
            return (self.work_dir / "error.log").read_text(errors="replace")
        except OSError:
            return ""


def find_nginx() -> str | None:
    """Path of the nginx binary (``$ZAKO_NGINX`` if set), or None."""
    override = os.environ.get("ZAKO_NGINX")
    if override:
        return override if os.access(override, os.X_OK) else None
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/local/nginx/sbin/nginx")
         if os.access(p, os.X_OK)), None)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _compiled_without(binary: str) -> set[str]:
    out = subprocess.run([binary, "-V"], capture_output=True, text=True, timeout=10)
    text = out.stderr + out.stdout
    return {tok[len("--without-http_"):-len("_module")] for tok in text.split()
            if tok.startswith("--without-http_") and tok.endswith("_module")}


def _config(work: Path, data: Path, port: int, without: set[str], server_extra: str = "",
            listen_extra: str = "") -> str:
    temp_paths = "\n".join(
        f"    {name}_temp_path {work / 'tmp' / name};"
        for name in ("proxy", "fastcgi", "uwsgi", "scgi") if name not in without)
    user = ""
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        import grp
        import pwd

        # As root nginx would switch to "nobody", who cannot write our temp dir.
        user = (f"user {pwd.getpwuid(os.getuid()).pw_name} "
                f"{grp.getgrgid(os.getgid()).gr_name};")
    return f"""
daemon off;
master_process off;
worker_processes 1;
{user}
pid {work / 'nginx.pid'};
error_log {work / 'error.log'} warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {work / 'tmp' / 'client_body'};
{temp_paths}
    client_max_body_size 0;
    client_body_buffer_size 1m;
    sendfile on;
    keepalive_requests 100000;
    server {{
        listen 127.0.0.1:{port}{(" " + listen_extra) if listen_extra else ""};
        root {data};
{server_extra}
        location / {{
            dav_methods PUT DELETE;
            create_full_put_path on;
            dav_access user:rw group:r all:r;
        }}
    }}
}}
"""


def _wait_ready(proc: subprocess.Popen, port: int, scheme: str = "http") -> bool:
    deadline = time.monotonic() + _STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        if scheme != "http":
            # A TLS server may want a certificate we do not have: listening is enough.
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return True
            except OSError:
                time.sleep(0.05)
                continue
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
        try:
            conn.request("HEAD", "/")
            conn.getresponse().read()
            return True
        except OSError:
            time.sleep(0.05)
        finally:
            conn.close()
    return False


def start_nginx(work_dir: str | os.PathLike | None = None, *, server_extra: str = "", listen_extra: str = "",
                scheme: str = "http") -> NginxServer:
    """Start nginx serving WebDAV from ``work_dir/data``; raises :class:`NginxUnavailable`.

    ``server_extra``: directives added to the ``server`` block;
    ``listen_extra``: parameters of its ``listen`` (``ssl``); ``scheme``:
    of the returned ``url`` (``https`` is checked for readiness by a TCP
    connect, since the server may demand a client certificate)."""
    binary = find_nginx()
    if binary is None:
        raise NginxUnavailable("nginx is not installed (apt-get install nginx-light)")
    work = Path(work_dir) if work_dir is not None else Path(tempfile.mkdtemp(prefix="zako-nginx-"))
    data = work / "data"
    data.mkdir(parents=True, exist_ok=True)
    (work / "tmp").mkdir(exist_ok=True)
    without = _compiled_without(binary)
    last_log = ""
    for _attempt in range(3):  # the free port may be taken before nginx binds it
        port = _free_port()
        conf = work / "nginx.conf"
        conf.write_text(_config(work, data, port, without, server_extra, listen_extra))
        proc = subprocess.Popen(
            [binary, "-p", str(work), "-c", str(conf), "-e", str(work / "error.log")],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if _wait_ready(proc, port, scheme):
            return NginxServer(f"{scheme}://127.0.0.1:{port}", port, data, work, proc)
        server = NginxServer("", port, data, work, proc)
        server.stop()
        stderr = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
        last_log = (stderr + server.error_log()).strip()
    raise NginxUnavailable(f"nginx ({binary}) did not start: {last_log[-2000:]}")


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes", "on")


def require_or_skip(reason: str) -> None:
    """Skip the test, or fail it under ``CI=true``."""
    if _in_ci():
        pytest.fail(f"CI=true and the remote-cache server is unavailable: {reason}")
    pytest.skip(reason)


_shared: NginxServer | None = None


def _shared_server(request, tmp_path_factory) -> NginxServer:
    # One server per session, started by whichever fixture is asked first,
    # so a test module may import either fixture alone.
    global _shared
    if _shared is None or _shared.process.poll() is not None:
        try:
            _shared = start_nginx(tmp_path_factory.mktemp("nginx"))
        except NginxUnavailable as exc:
            require_or_skip(str(exc))
        request.session.config.add_cleanup(_shared.stop)
    return _shared


@pytest.fixture(scope="session")
def nginx_server(request, tmp_path_factory) -> NginxServer:
    """The session's nginx (``.url``, ``.data_dir`` to inspect or tamper with stored files)."""
    return _shared_server(request, tmp_path_factory)


@pytest.fixture(scope="session")
def nginx_cas_url(request, tmp_path_factory) -> str:
    """Base URL of a running WebDAV nginx, e.g. for ``HttpCas(url)`` or ``--remote-cache``."""
    return _shared_server(request, tmp_path_factory).url
