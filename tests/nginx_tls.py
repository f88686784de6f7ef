"""Real nginx servers that demand credentials, for the remote-cache auth and TLS tests.

- ``nginx_auth``: WebDAV behind ``auth_basic``; the htpasswd file is written
  by the fixture with ``openssl passwd`` (a crypt hash nginx checks itself).
- ``nginx_mtls``: WebDAV over TLS that verifies client certificates. The
  CA, the server certificate (for ``127.0.0.1``) and a client certificate
  are made by :func:`make_pki` with ``cryptography``; so is a second,
  unrelated CA whose client certificate the server must refuse.

Both are session servers, stopped at the end. Like ``nginx_server.py`` they
skip when nginx is missing, and fail under ``CI=true``.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import ipaddress
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from nginx_server import NginxServer, NginxUnavailable, require_or_skip, start_nginx

__all__ = ["AUTH_USER", "AUTH_PASSWORD", "Pki", "make_pki", "write_htpasswd", "nginx_auth", "nginx_mtls"]

AUTH_USER = "alice"
#: Also the canary of ``test_secrets.py``: it must never be printed.
AUTH_PASSWORD = "zkCanaryPw-5e7a"


def write_htpasswd(path: Path, user: str, password: str, *, cheap: bool = False) -> None:
    """One ``user:hash`` line: SHA-256 crypt from ``openssl passwd -5`` (the
    password through stdin, not argv), or, on a machine without the openssl
    tool or with ``cheap`` (benchmarks: 5,000 rounds of SHA-256 per request
    would measure nginx, not the client), nginx's own salted-SHA-1 ``{SSHA}``
    scheme. nginx checks either."""
    openssl = None if cheap else shutil.which("openssl")
    if openssl is not None:
        out = subprocess.run([openssl, "passwd", "-5", "-stdin"], input=password + "\n", capture_output=True,
                             text=True, timeout=30, check=True)
        hashed = out.stdout.strip()
    else:
        salt = os.urandom(8)
        hashed = "{SSHA}" + base64.b64encode(hashlib.sha1(password.encode() + salt).digest() + salt).decode()
    path.write_text(f"{user}:{hashed}\n")


@dataclass
class Pki:
    """PEM files: ``ca`` (trusted by the server for clients and by the tests
    for the server), ``server_cert``/``server_key``, ``client_cert``/``client_key``
    signed by ``ca``, and ``rogue_cert``/``rogue_key`` signed by an unrelated CA."""

    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    rogue_ca: Path
    rogue_cert: Path
    rogue_key: Path


def make_pki(directory: Path) -> Pki:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    directory.mkdir(parents=True, exist_ok=True)

    def name(cn: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    def write_key(key, path: Path) -> None:
        path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
        path.chmod(0o600)

    def write_cert(cert, path: Path) -> None:
        path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))

    def ca(cn: str):
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (x509.CertificateBuilder().subject_name(name(cn)).issuer_name(name(cn))
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(days=1))
                .not_valid_after(now + datetime.timedelta(days=30))
                .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                             content_commitment=False, key_encipherment=False,
                                             data_encipherment=False, key_agreement=False,
                                             encipher_only=False, decipher_only=False), critical=True)
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
                .sign(key, hashes.SHA256()))
        return key, cert

    def leaf(cn: str, issuer_key, issuer_cert, *, server: bool):
        key = ec.generate_private_key(ec.SECP256R1())
        b = (x509.CertificateBuilder().subject_name(name(cn)).issuer_name(issuer_cert.subject)
             .public_key(key.public_key()).serial_number(x509.random_serial_number())
             .not_valid_before(now - datetime.timedelta(days=1))
             .not_valid_after(now + datetime.timedelta(days=30))
             .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
             .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
                            critical=False)
             .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH if server
                                                   else ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False))
        if server:
            # Only the address: a test reaches the same server as "localhost"
            # to see a name the certificate does not cover.
            b = b.add_extension(x509.SubjectAlternativeName([
                x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        return key, b.sign(issuer_key, hashes.SHA256())

    ca_key, ca_cert = ca("zako test CA")
    rogue_key_, rogue_ca_cert = ca("zako rogue CA")
    server_key, server_cert = leaf("127.0.0.1", ca_key, ca_cert, server=True)
    client_key, client_cert = leaf("zako test client", ca_key, ca_cert, server=False)
    rogue_key, rogue_cert = leaf("zako rogue client", rogue_key_, rogue_ca_cert, server=False)
    pki = Pki(*(directory / n for n in ("ca.pem", "server.pem", "server.key", "client.pem", "client.key",
                                        "rogue-ca.pem", "rogue.pem", "rogue.key")))
    write_cert(ca_cert, pki.ca)
    write_cert(server_cert, pki.server_cert)
    write_key(server_key, pki.server_key)
    write_cert(client_cert, pki.client_cert)
    write_key(client_key, pki.client_key)
    write_cert(rogue_ca_cert, pki.rogue_ca)
    write_cert(rogue_cert, pki.rogue_cert)
    write_key(rogue_key, pki.rogue_key)
    return pki


def _start(request, work: Path, **kwargs) -> NginxServer:
    try:
        server = start_nginx(work, **kwargs)
    except NginxUnavailable as exc:
        require_or_skip(str(exc))
    request.session.config.add_cleanup(server.stop)
    return server


@pytest.fixture(scope="session")
def nginx_auth(request, tmp_path_factory) -> NginxServer:
    """WebDAV nginx behind ``auth_basic`` for ``AUTH_USER``/``AUTH_PASSWORD``."""
    work = tmp_path_factory.mktemp("nginx-auth")
    write_htpasswd(work / "htpasswd", AUTH_USER, AUTH_PASSWORD)
    return _start(request, work, server_extra=f'        auth_basic "zako";\n'
                                              f'        auth_basic_user_file {work / "htpasswd"};')


@pytest.fixture(scope="session")
def pki(tmp_path_factory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="session")
def nginx_mtls(request, tmp_path_factory, pki) -> NginxServer:
    """WebDAV nginx over TLS (certificate for 127.0.0.1 from ``pki.ca``) that
    requires a client certificate signed by ``pki.ca``."""
    work = tmp_path_factory.mktemp("nginx-mtls")
    return _start(request, work, scheme="https", listen_extra="ssl", server_extra=(
        f"        ssl_certificate {pki.server_cert};\n"
        f"        ssl_certificate_key {pki.server_key};\n"
        f"        ssl_client_certificate {pki.ca};\n"
        "        ssl_verify_client on;"))
