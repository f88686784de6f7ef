"""``grpcs://`` against a real buildgrid that serves TLS only and requires
client certificates signed by its CA (the PKI is made by the test with
``cryptography``: ``nginx_tls.make_pki``). The right CA and client
certificate give a working remote (a second machine evaluates nothing);
a missing client certificate or an untrusted server is one warning and a
correct load."""

from __future__ import annotations

import shutil
import tempfile

import pytest

from buildgrid_server import BuildgridUnavailable, _IN_CI, start_buildgrid
from nginx_tls import make_pki
from test_reapi_loads import N, tree, local, warnings_in, zako_load  # noqa: F401  (fixtures)

grpc = pytest.importorskip("grpc", reason="the zako[grpc] extra is not installed")
pytest.importorskip("cryptography", reason="the test PKI is made with cryptography")


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("reapi-pki"))


@pytest.fixture(scope="module")
def tls_buildgrid(pki):
    workdir = tempfile.mkdtemp(prefix="zako-buildgrid-tls-")
    try:
        server = start_buildgrid(workdir, tls={"server_key": pki.server_key, "server_cert": pki.server_cert,
                                               "ca": pki.ca, "client_cert": pki.client_cert,
                                               "client_key": pki.client_key})
    except BuildgridUnavailable as e:
        shutil.rmtree(workdir, ignore_errors=True)
        if _IN_CI:
            pytest.fail(f"buildgrid is needed under CI=true: {e}", pytrace=False)
        pytest.skip(f"buildgrid unavailable: {e}")
    yield server
    server.stop()
    shutil.rmtree(workdir, ignore_errors=True)


def tls_flags(pki, client: bool = True, ca: bool = True) -> list[str]:
    flags = ["--remote-ca", str(pki.ca)] if ca else []
    if client:
        flags += ["--remote-client-cert", str(pki.client_cert), "--remote-client-key", str(pki.client_key)]
    return flags


def test_mutual_tls_shares_results_between_machines(tls_buildgrid, pki, tree, local, tmp_path):  # noqa: F811
    url = tls_buildgrid.url
    assert url.startswith("grpcs://")
    code, doc, err, _ = zako_load(tree, str(tmp_path / "m1"), "--remote-cache", url, *tls_flags(pki))
    assert code == 0 and warnings_in(err) == [], err
    code, doc, err, _ = zako_load(tree, str(tmp_path / "m2"), "--remote-cache", url, *tls_flags(pki))
    assert code == 0 and warnings_in(err) == [], err
    assert doc["packages"] == local["packages"] and doc["stats"]["evaluated"] == 0


@pytest.mark.parametrize("client, ca", [(False, True), (True, False)], ids=["no-client-cert", "untrusted-server"])
def test_tls_refusals_are_one_warning_and_a_correct_load(client, ca, tls_buildgrid, pki, tree, local,  # noqa: F811
                                                          tmp_path):
    code, doc, err, elapsed = zako_load(tree, str(tmp_path / "c"), "--remote-cache", tls_buildgrid.url,
                                        "--remote-timeout", "1", *tls_flags(pki, client=client, ca=ca))
    assert code == 0, err
    assert doc["packages"] == local["packages"] and doc["stats"]["evaluated"] == N + 1
    assert elapsed < local["seconds"] + 10
    [warning] = warnings_in(err)
    assert f"remote cache {tls_buildgrid.url}" in warning and "switched off" in warning, warning


def test_a_client_cert_without_its_key_is_one_error_line(tls_buildgrid, pki, tree, tmp_path):
    code, doc, err, _ = zako_load(tree, str(tmp_path / "c"), "--remote-cache", tls_buildgrid.url,
                                  "--remote-ca", str(pki.ca), "--remote-client-cert", str(pki.client_cert))
    assert code == 2
    assert err.strip().splitlines() == [
        "zako load: --remote-client-cert and --remote-client-key go together (mutual TLS needs both)"]
