"""HTTP Basic and header authentication against a real nginx with ``auth_basic``.

Credentials come from the URL's userinfo, from ``$NETRC``/``~/.netrc``, or
from ``--remote-header`` (literal or ``@env:VAR``). The right ones make a
second machine (a fresh cache dir) load from the remote; a wrong or missing
password is one clear warning and a correct load from local evaluation.
"""

from __future__ import annotations

import base64
import uuid

import pytest

from nginx_tls import AUTH_PASSWORD, AUTH_USER, nginx_auth  # noqa: F401  (pytest fixture)
from remote_cli import clean_env, make_tree, run_zako, warnings_of
from zako.cas import Digest, HttpCas, RemoteCasError
from zako.cas.credentials import netrc_credentials, parse_remote_headers
from zako.cas.errors import RemoteConfigError

N = 4


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.fixture
def base(nginx_auth):  # noqa: F811
    # A fresh prefix per test on the shared session server.
    return f"{nginx_auth.url}/{uuid.uuid4().hex}"


def with_userinfo(url: str, user: str, password: str) -> str:
    scheme, rest = url.split("://", 1)
    return f"{scheme}://{user}:{password}@{rest}"


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    return make_tree(tmp_path_factory.mktemp("auth-tree") / "t", N)


@pytest.fixture(scope="module")
def local_graph(tree, tmp_path_factory):
    home = tmp_path_factory.mktemp("auth-home")
    run = run_zako(["load", tree, "--json", "--no-cache"], clean_env(home))
    assert run.code == 0, run.stderr
    return run.doc


# --- the client alone -----------------------------------------------------------


def roundtrip(cas: HttpCas) -> None:
    data = uuid.uuid4().bytes * 10
    d = cas.store(Digest.of_bytes(data), data)
    assert cas.read_bytes(d) == data
    cas.ac_put("k", b"entry")
    assert cas.ac_get("k") == b"entry"


def test_without_credentials_the_server_says_401(base):
    with HttpCas(base, netrc=False) as cas:
        with pytest.raises(RemoteCasError) as info:
            cas.ac_get("k")
    assert info.value.status == 401
    assert "HTTP 401 (credentials required" in str(info.value)


def test_userinfo_is_sent_as_basic_auth(base):
    with HttpCas(with_userinfo(base, AUTH_USER, AUTH_PASSWORD), netrc=False) as cas:
        roundtrip(cas)
        assert AUTH_PASSWORD not in repr(cas) and AUTH_PASSWORD not in cas.base_url


def test_percent_encoded_userinfo_is_decoded(nginx_auth, tmp_path):  # noqa: F811  (nginx_auth: skips without nginx)
    # the password has characters that must be percent-encoded in a URL
    from nginx_tls import write_htpasswd
    from nginx_server import start_nginx

    password = "p@ss:w/rd%"
    write_htpasswd(tmp_path / "htpasswd", "bob", password)
    server = start_nginx(tmp_path, server_extra=f'auth_basic "z"; auth_basic_user_file {tmp_path / "htpasswd"};')
    try:
        from urllib.parse import quote

        with HttpCas(with_userinfo(server.url, "bob", quote(password, safe="")), netrc=False) as cas:
            roundtrip(cas)
    finally:
        server.stop()


def test_wrong_password_is_401_naming_rejected_credentials(base):
    with HttpCas(with_userinfo(base, AUTH_USER, "not-the-password"), netrc=False) as cas:
        with pytest.raises(RemoteCasError) as info:
            cas.ac_get("k")
    assert info.value.status == 401 and "credentials rejected" in str(info.value)


def test_header_authorization(base):
    with HttpCas(base, headers={"Authorization": basic(AUTH_USER, AUTH_PASSWORD)}, netrc=False) as cas:
        roundtrip(cas)
        assert cas.header_names == ["Authorization"]


def test_header_wins_over_userinfo(base):
    url = with_userinfo(base, AUTH_USER, "wrong")
    with HttpCas(url, headers={"Authorization": basic(AUTH_USER, AUTH_PASSWORD)}, netrc=False) as cas:
        roundtrip(cas)


def write_netrc(path, host: str, login: str, password: str) -> None:
    path.write_text(f"machine {host}\n  login {login}\n  password {password}\n")
    path.chmod(0o600)


def test_netrc_from_home(base, tmp_path, monkeypatch):
    write_netrc(tmp_path / ".netrc", "127.0.0.1", AUTH_USER, AUTH_PASSWORD)
    monkeypatch.delenv("NETRC", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    with HttpCas(base) as cas:
        roundtrip(cas)
    with HttpCas(base, netrc=False) as cas:  # and only when asked
        with pytest.raises(RemoteCasError):
            cas.ac_get("k")


def test_netrc_env_wins_and_userinfo_wins_over_netrc(base, tmp_path, monkeypatch):
    write_netrc(tmp_path / ".netrc", "127.0.0.1", AUTH_USER, "wrong")
    write_netrc(tmp_path / "other-netrc", "127.0.0.1", AUTH_USER, AUTH_PASSWORD)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("NETRC", str(tmp_path / "other-netrc"))
    with HttpCas(base) as cas:
        roundtrip(cas)
    monkeypatch.setenv("NETRC", str(tmp_path / ".netrc"))
    with HttpCas(with_userinfo(base, AUTH_USER, AUTH_PASSWORD)) as cas:
        roundtrip(cas)


def test_broken_netrc_is_a_warning_naming_the_line_not_its_text(tmp_path, caplog):
    path = tmp_path / "netrc"
    path.write_text(f"machine 127.0.0.1 login {AUTH_USER}\n  {AUTH_PASSWORD}x bogus\n")
    with caplog.at_level("WARNING", logger="zako.cache"):
        assert netrc_credentials("127.0.0.1", {"NETRC": str(path)}) is None
    assert [r.getMessage() for r in caplog.records] == [f"{path}:2: not a valid netrc file; no credentials "
                                                        "read from it"]


def test_missing_netrc_named_by_env_is_a_warning(tmp_path, caplog):
    with caplog.at_level("WARNING", logger="zako.cache"):
        assert netrc_credentials("127.0.0.1", {"NETRC": str(tmp_path / "nope")}) is None
    assert "does not exist" in caplog.text
    caplog.clear()
    assert netrc_credentials("127.0.0.1", {"HOME": str(tmp_path)}) is None  # no ~/.netrc: silent
    assert caplog.text == ""


# --- --remote-header parsing -----------------------------------------------------


def test_parse_remote_headers():
    env = {"ZK_TOKEN": "tok-from-env"}
    assert parse_remote_headers(["Authorization=Bearer abc=def", "X-Team=@env:ZK_TOKEN", "X-Empty="], env) == {
        "Authorization": "Bearer abc=def", "X-Team": "tok-from-env", "X-Empty": ""}
    assert parse_remote_headers(["X-A=1", "X-A=2"], env) == {"X-A": "2"}


@pytest.mark.parametrize("spec, message", [
    ("just-a-token-value", "--remote-header #1: expected NAME=VALUE or NAME=@env:VAR, got an argument without '='"),
    ("Bad Name=v", "--remote-header #1: 'Bad Name' is not a valid header name"),
    ("Host=evil", "--remote-header Host: set by the client itself, cannot be overridden"),
    ("X-Token=@env:ZK_NOT_SET_ANYWHERE", "--remote-header X-Token=@env:ZK_NOT_SET_ANYWHERE: environment variable "
                                         "ZK_NOT_SET_ANYWHERE is not set"),
    ("X-Token=@env:", "--remote-header X-Token=@env:VAR: the variable name is missing"),
    ("X-Token=a\r\nX-Evil: 1", "--remote-header X-Token: the value contains a line break or NUL"),
])
def test_bad_remote_header(spec, message):
    with pytest.raises(RemoteConfigError) as info:
        parse_remote_headers([spec], {})
    assert str(info.value) == message


# --- the command, two machines ----------------------------------------------------


def load(tree, cache_dir, env, *extra):
    return run_zako(["load", tree, "--json", "--cache-dir", str(cache_dir), *extra], env)


def assert_shared(tree, tmp_path, env, local_graph, *remote_args):
    first = load(tree, tmp_path / "machine-a", env, *remote_args)
    assert first.code == 0 and warnings_of(first.stderr) == [], first.stderr
    assert first.doc["stats"]["evaluated"] == N + 1
    second = load(tree, tmp_path / "machine-b", env, *remote_args)
    assert second.code == 0 and warnings_of(second.stderr) == [], second.stderr
    assert second.doc["stats"]["evaluated"] == 0
    assert second.doc["stats"]["remote_hits"] == N + 1  # one graph entry per script, its result inline
    assert second.doc["packages"] == local_graph["packages"]


def test_cli_userinfo_second_machine_hits(base, tree, tmp_path, local_graph):
    assert_shared(tree, tmp_path, clean_env(tmp_path), local_graph,
                  "--remote-cache", with_userinfo(base, AUTH_USER, AUTH_PASSWORD))


def test_cli_netrc_second_machine_hits(base, tree, tmp_path, local_graph):
    write_netrc(tmp_path / ".netrc", "127.0.0.1", AUTH_USER, AUTH_PASSWORD)
    assert_shared(tree, tmp_path, clean_env(tmp_path), local_graph, "--remote-cache", base)


def test_cli_header_from_env_second_machine_hits(base, tree, tmp_path, local_graph):
    env = clean_env(tmp_path, ZK_CACHE_AUTH=basic(AUTH_USER, AUTH_PASSWORD))
    assert_shared(tree, tmp_path, env, local_graph, "--remote-cache", base,
                  "--remote-header", "Authorization=@env:ZK_CACHE_AUTH", "--remote-header", "X-Team=build")


@pytest.mark.parametrize("how", ["wrong-password", "no-credentials"])
def test_cli_rejected_is_one_warning_and_a_correct_load(how, base, tree, tmp_path, local_graph):
    url = with_userinfo(base, AUTH_USER, "wrong-" + AUTH_PASSWORD[::-1]) if how == "wrong-password" else base
    run = load(tree, tmp_path / "c", clean_env(tmp_path), "--remote-cache", url)
    assert run.code == 0, run.stderr
    assert run.doc["packages"] == local_graph["packages"]
    assert run.doc["stats"]["evaluated"] == N + 1
    warnings = warnings_of(run.stderr)
    assert len(warnings) == 1, run.stderr
    expected = "credentials rejected" if how == "wrong-password" else "credentials required"
    assert "answered HTTP 401" in warnings[0] and expected in warnings[0], warnings[0]
    assert run.stderr.count("\n") == 1  # nothing else on stderr


def test_cli_missing_env_variable_is_a_usage_error(base, tree, tmp_path):
    run = load(tree, tmp_path / "c", clean_env(tmp_path), "--remote-cache", base,
               "--remote-header", "Authorization=@env:ZK_UNSET_VAR_17")
    assert run.code == 2
    assert run.stderr == ("zako load: --remote-header Authorization=@env:ZK_UNSET_VAR_17: environment variable "
                          "ZK_UNSET_VAR_17 is not set\n")


def test_cli_remote_options_need_a_remote(tree, tmp_path):
    run = load(tree, tmp_path / "c", clean_env(tmp_path), "--remote-header", "X-A=1")
    assert run.code == 2 and run.stderr == "zako load: --remote-header given without --remote-cache\n"
