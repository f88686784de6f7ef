"""What authentication and TLS cost the remote cache client, per request.

``AuthOverhead.time_gets``: 2,000 GETs of 300-byte action-cache entries from
16 threads through ``HttpCas`` against a real nginx on loopback:

- ``http`` -- no credentials (the baseline);
- ``basic`` -- ``auth_basic`` on the server, Basic credentials from the URL
  (one more header per request; the server's hash is the cheap ``{SSHA}``:
  a SHA-256 crypt hash costs nginx milliseconds a request, which would
  measure nginx, not the client);
- ``mtls`` -- TLS 1.3 with a client certificate, the server verifying it.
  Connections are kept alive, so the handshake is paid once per pooled
  connection; what remains is record encryption.

The servers and certificates come from ``tests/nginx_tls.py``. Run as a
script for a quick table: ``python asv_benchmarks/bench_remote_auth.py``.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import threading
from pathlib import Path

_TESTS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests")


def _helpers():
    if _TESTS not in sys.path:
        sys.path.insert(0, _TESTS)
    import nginx_server
    import nginx_tls

    return nginx_server, nginx_tls


class AuthOverhead:
    params = ["http", "basic", "mtls"]
    param_names = ["remote"]
    number = 1
    repeat = (1, 5, 30.0)
    warmup_time = 0.0
    timeout = 120
    THREADS = 16
    GETS = 2000

    def setup(self, remote):
        nginx_server, nginx_tls = _helpers()
        from zako.cas import HttpCas
        from zako.cas.credentials import tls_context

        self.tmp = Path(tempfile.mkdtemp(prefix="zako-bench-auth-"))
        tls = None
        try:
            if remote == "http":
                self.nginx = nginx_server.start_nginx(self.tmp / "n")
                url = f"{self.nginx.url}/p"
            elif remote == "basic":
                nginx_tls.write_htpasswd(self.tmp / "htpasswd", "bench", "bench-password", cheap=True)
                self.nginx = nginx_server.start_nginx(
                    self.tmp / "n", server_extra=f'auth_basic "b"; auth_basic_user_file {self.tmp / "htpasswd"};')
                url = self.nginx.url.replace("://", "://bench:bench-password@") + "/p"
            else:
                pki = nginx_tls.make_pki(self.tmp / "pki")
                self.nginx = nginx_server.start_nginx(
                    self.tmp / "n", scheme="https", listen_extra="ssl", server_extra=(
                        f"ssl_certificate {pki.server_cert}; ssl_certificate_key {pki.server_key}; "
                        f"ssl_client_certificate {pki.ca}; ssl_verify_client on;"))
                url = f"{self.nginx.url}/p"
                tls = tls_context(pki.ca, pki.client_cert, pki.client_key)
        except nginx_server.NginxUnavailable as exc:
            shutil.rmtree(self.tmp, ignore_errors=True)
            raise NotImplementedError(f"needs nginx: {exc}") from None
        self.cas = HttpCas(url, ssl_context=tls, netrc=False)
        self.keys = ["%064x" % i for i in range(200)]
        for k in self.keys:
            self.cas.ac_put(k, b"x" * 300)

    def teardown(self, remote):
        self.cas.close()
        self.nginx.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def time_gets(self, remote):
        keys, per = self.keys, self.GETS // self.THREADS

        def run(t):
            for i in range(per):
                self.cas.ac_get(keys[(t + i) % len(keys)])

        threads = [threading.Thread(target=run, args=(t,)) for t in range(self.THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()


if __name__ == "__main__":
    import time

    for remote in AuthOverhead.params:
        bench = AuthOverhead()
        bench.setup(remote)
        try:
            times = []
            for _ in range(5):
                wall, cpu = time.perf_counter(), time.process_time()
                bench.time_gets(remote)
                times.append((time.perf_counter() - wall, time.process_time() - cpu))
            best = min(times)
            print(f"{remote:6} {AuthOverhead.GETS} GETs: wall {best[0]:.2f} s, client CPU {best[1]:.2f} s "
                  f"({best[1] / AuthOverhead.GETS * 1e6:.0f} us/GET)")
        finally:
            bench.teardown(remote)
