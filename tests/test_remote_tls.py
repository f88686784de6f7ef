"""``https://`` remote caches against a real nginx that verifies client certificates.

The CA, server and client certificates are made by the test
(``nginx_tls.make_pki``). With ``--remote-ca`` and the client certificate a
second machine loads from the remote; an untrusted server, a missing or
foreign client certificate is one clear warning and a correct load.
"""

from __future__ import annotations

import ssl
import uuid

import pytest

from nginx_tls import nginx_mtls, pki  # noqa: F401  (pytest fixtures)
from remote_cli import clean_env, make_tree, run_zako, warnings_of
from zako.cas import Digest, HttpCas, RemoteCasError
from zako.cas.credentials import tls_context
from zako.cas.errors import RemoteConfigError

N = 4


@pytest.fixture
def base(nginx_mtls):  # noqa: F811
    return f"{nginx_mtls.url}/{uuid.uuid4().hex}"


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    return make_tree(tmp_path_factory.mktemp("tls-tree") / "t", N)


@pytest.fixture(scope="module")
def local_graph(tree, tmp_path_factory):
    run = run_zako(["load", tree, "--json", "--no-cache"], clean_env(tmp_path_factory.mktemp("tls-home")))
    assert run.code == 0, run.stderr
    return run.doc


# --- the client alone -----------------------------------------------------------


def test_mutual_tls_roundtrip(base, pki):  # noqa: F811
    with HttpCas(base, ssl_context=tls_context(pki.ca, pki.client_cert, pki.client_key)) as cas:
        data = b"over tls" * 1000
        d = cas.store(Digest.of_bytes(data), data)
        assert cas.read_bytes(d) == data
        cas.ac_put("k", b"v")
        assert cas.ac_get("k") == b"v"


def test_cert_and_key_in_one_file(base, pki, tmp_path):  # noqa: F811
    both = tmp_path / "both.pem"
    both.write_bytes(pki.client_cert.read_bytes() + pki.client_key.read_bytes())
    with HttpCas(base, ssl_context=tls_context(pki.ca, both)) as cas:
        assert cas.ac_get("absent") is None


def test_untrusted_server_is_a_tls_verification_failure(base):
    # the system store does not know the test CA
    with HttpCas(base) as cas:
        with pytest.raises(RemoteCasError) as info:
            cas.ac_get("k")
    assert isinstance(info.value.__cause__, ssl.SSLCertVerificationError)
    assert "TLS: the server's certificate is not trusted" in str(info.value)
    assert "give its CA with --remote-ca" in str(info.value)


def test_missing_client_cert_is_refused_with_a_hint(base, pki):  # noqa: F811
    with HttpCas(base, ssl_context=tls_context(pki.ca)) as cas:
        with pytest.raises(RemoteCasError) as info:
            cas.ac_get("k")
    assert info.value.status == 400
    assert "(the server may require a client certificate: --remote-client-cert)" in str(info.value)


def test_foreign_client_cert_is_refused(base, pki):  # noqa: F811
    with HttpCas(base, ssl_context=tls_context(pki.ca, pki.rogue_cert, pki.rogue_key)) as cas:
        with pytest.raises(RemoteCasError) as info:
            cas.ac_get("k")
    assert info.value.status == 400
    assert "answered HTTP 400 (the server may have refused the client certificate)" in str(info.value)


def test_tls_context_errors_name_the_file(pki, tmp_path):  # noqa: F811
    missing = tmp_path / "missing.pem"
    with pytest.raises(RemoteConfigError, match=f"--remote-ca {missing}: cannot use it as a CA file"):
        tls_context(missing)
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate\n")
    with pytest.raises(RemoteConfigError, match=f"--remote-ca {garbage}: cannot use it as a CA file"):
        tls_context(garbage)
    with pytest.raises(RemoteConfigError, match=f"--remote-client-cert {missing}: no such file"):
        tls_context(pki.ca, missing, pki.client_key)
    with pytest.raises(RemoteConfigError, match="matching, unencrypted private key"):
        tls_context(pki.ca, pki.client_cert, pki.rogue_key)  # a key that is not the certificate's
    with pytest.raises(RemoteConfigError, match="--remote-client-key needs --remote-client-cert"):
        tls_context(pki.ca, None, pki.client_key)


def test_server_certificate_for_another_name_is_refused_without_the_ca_hint(nginx_mtls, pki):  # noqa: F811
    # The certificate names 127.0.0.1 only; "localhost" reaches the same server.
    import socket

    try:
        socket.create_connection(("localhost", nginx_mtls.port), timeout=2).close()
    except OSError:
        pytest.skip("localhost does not reach 127.0.0.1 here")
    with HttpCas(f"https://localhost:{nginx_mtls.port}/z",
                 ssl_context=tls_context(pki.ca, pki.client_cert, pki.client_key)) as cas:
        with pytest.raises(RemoteCasError) as info:
            cas.ac_get("k")
    assert isinstance(info.value.__cause__, ssl.SSLCertVerificationError)
    assert "TLS: the server's certificate was refused (Hostname mismatch" in str(info.value)
    assert "--remote-ca" not in str(info.value)


def test_tls_options_for_plain_http_are_refused(pki):  # noqa: F811
    with pytest.raises(RemoteConfigError, match="use an https:// URL"):
        HttpCas("http://127.0.0.1:1/x", ssl_context=tls_context(pki.ca))


# --- the command ------------------------------------------------------------------


def load(tree, cache_dir, home, *extra):
    return run_zako(["load", tree, "--json", "--cache-dir", str(cache_dir), *extra], clean_env(home))


def test_cli_mutual_tls_second_machine_hits(base, pki, tree, tmp_path, local_graph):  # noqa: F811
    tls = ["--remote-cache", base, "--remote-ca", str(pki.ca), "--remote-client-cert", str(pki.client_cert),
           "--remote-client-key", str(pki.client_key)]
    first = load(tree, tmp_path / "a", tmp_path, *tls)
    assert first.code == 0 and warnings_of(first.stderr) == [], first.stderr
    assert first.doc["stats"]["evaluated"] == N + 1
    second = load(tree, tmp_path / "b", tmp_path, *tls)
    assert second.code == 0 and warnings_of(second.stderr) == [], second.stderr
    assert second.doc["stats"]["evaluated"] == 0 and second.doc["stats"]["remote_hits"] == N + 1
    assert second.doc["packages"] == local_graph["packages"]


@pytest.mark.parametrize("case, expected", [
    ("untrusted-server", "TLS: the server's certificate is not trusted"),
    ("no-client-cert", "answered HTTP 400 (the server may require a client certificate: --remote-client-cert)"),
    ("foreign-client-cert", "answered HTTP 400 (the server may have refused the client certificate)"),
])
def test_cli_tls_failure_is_one_warning_and_a_correct_load(case, expected, base, pki, tree, tmp_path,  # noqa: F811
                                                         local_graph):
    extra = {"untrusted-server": [],
             "no-client-cert": ["--remote-ca", str(pki.ca)],
             "foreign-client-cert": ["--remote-ca", str(pki.ca), "--remote-client-cert", str(pki.rogue_cert),
                                     "--remote-client-key", str(pki.rogue_key)]}[case]
    run = load(tree, tmp_path / "c", tmp_path, "--remote-cache", base, *extra)
    assert run.code == 0, run.stderr
    assert run.doc["packages"] == local_graph["packages"] and run.doc["stats"]["evaluated"] == N + 1
    warnings = warnings_of(run.stderr)
    assert len(warnings) == 1 and run.stderr.count("\n") == 1, run.stderr
    assert expected in warnings[0], warnings[0]


def test_cli_bad_ca_file_is_a_usage_error(base, tree, tmp_path):
    run = load(tree, tmp_path / "c", tmp_path, "--remote-cache", base, "--remote-ca", str(tmp_path / "nope.pem"))
    assert run.code == 2
    assert run.stderr.startswith(f"zako load: --remote-ca {tmp_path / 'nope.pem'}: cannot use it as a CA file")
    assert run.stderr.count("\n") == 1


def test_tls_handshake_counts_against_the_deadline(pki):  # noqa: F811
    import socket

    from zako.cas import RemoteTimeoutError

    # The kernel completes the TCP handshake; nobody ever answers the ClientHello.
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        port = listener.getsockname()[1]
        with HttpCas(f"https://127.0.0.1:{port}/z", timeout=0.3, ssl_context=tls_context(pki.ca)) as cas:
            with pytest.raises(RemoteTimeoutError, match="no complete answer within 0.3 s"):
                cas.ac_get("k")
