"""Credentials never appear in what zako shows.

The helpers of ``zako.cas.redact`` on their own, then the whole command:
failing and succeeding loads with a canary secret in the URL, a
``--remote-header`` and ``.netrc``, everything printed (stdout, stderr,
``--json``) and every file the load wrote grepped for the canary.
"""

from __future__ import annotations

import base64
import logging
import re
from urllib.parse import quote

import pytest
from hypothesis import given, settings, strategies as st

from zako.cas import redact
from zako.cas.redact import (MASK, RedactingFormatter, is_sensitive_header, redact_headers, redact_text,
                             redact_url, register_secret, register_url_secrets)

CANARY = "zkCanary7Q3x"


@pytest.fixture(autouse=True)
def _no_secrets_left():
    redact.forget_secrets()
    yield
    redact.forget_secrets()


@pytest.mark.parametrize("url, shown", [
    (f"http://alice:{CANARY}@127.0.0.1:9/zako", "http://***@127.0.0.1:9/zako"),
    (f"https://{CANARY}@cache.example:8443/a/b", "https://***@cache.example:8443/a/b"),
    # not percent-encoded: '@' and '/' inside the password
    (f"http://alice:p@{CANARY}@h/x", "http://***@h/x"),
    (f"http://alice:{CANARY}/more@h/x", "http://***@h/x"),
    (f"grpcs://u:{CANARY}@h:1/instance", "grpcs://***@h:1/instance"),
    (f"https://h/c?token={CANARY}&v=1#frag", "https://h/c?token=***&v=***#frag"),
    ("http://127.0.0.1:8080/zako", "http://127.0.0.1:8080/zako"),
])
def test_redact_url(url, shown):
    assert redact_url(url) == shown


def test_redact_url_never_raises_on_garbage():
    for junk in ("", "::", "http://[::1", "http://[::1:{}@x".format(CANARY), None, 42):
        out = redact_url(junk)
        assert CANARY not in out


@settings(max_examples=60, deadline=None)
@given(user=st.text(min_size=0, max_size=12), password=st.text(min_size=1, max_size=20),
       encode=st.booleans())
def test_no_password_survives_redact_url(user, password, encode):
    secret = CANARY + password
    u, p = (quote(user, safe=""), quote(secret, safe="")) if encode else (user, secret)
    if any(c.isspace() for c in u + p):
        # Raw whitespace ends a URL in free text; redact_url alone still masks it.
        assert CANARY not in redact_url(f"https://{u}:{p}@cache.example:8443/zako")
        u, p = quote(u, safe=""), quote(p, safe="")
    url = f"https://{u}:{p}@cache.example:8443/zako"
    assert CANARY not in redact_url(url)
    assert CANARY not in redact_text(f"GET {url}/ac/1234 failed: refused")


@pytest.mark.parametrize("name", ["Authorization", "proxy-authorization", "Cookie", "Set-Cookie",
                                  "X-Api-Token", "X-Auth-Token", "X-Api-Key", "x-goog-secret",
                                  "X-Session"])
def test_sensitive_header_names(name):
    assert is_sensitive_header(name)


@pytest.mark.parametrize("name", ["Accept", "Content-Length", "X-Request-Id", "X-Tokens-Used", "Keyboard"])
def test_ordinary_header_names(name):
    assert not is_sensitive_header(name)


def test_redact_headers_masks_sensitive_and_named():
    headers = {"Authorization": f"Bearer {CANARY}", "X-Build": CANARY + "b", "Accept": "*/*"}
    shown = redact_headers(headers, sensitive=["x-build"])
    assert shown == {"Authorization": MASK, "X-Build": MASK, "Accept": "*/*"}
    assert headers["Authorization"] == f"Bearer {CANARY}"  # a copy
    assert redact_headers([("Cookie", "a=b")]) == {"Cookie": MASK}
    assert redact_headers(None) == {}


def test_registered_secrets_are_scrubbed_in_every_common_form():
    register_url_secrets(f"http://alice:{CANARY}%2F@h/")
    basic = base64.b64encode(f"alice:{CANARY}/".encode()).decode()
    text = f"pw {CANARY}/ enc {CANARY}%2F header Basic {basic}"
    out = redact_text(text)
    assert CANARY not in out and basic not in out


def test_what_registration_scrubs_from_free_text():
    from zako.cas.redact import register_header_value

    register_url_secrets(f"https://alice:{CANARY}@h/")  # a user beside a password is a name
    register_url_secrets("https://tok3nAsUser@h/")  # a user alone may be a token
    register_header_value("Authorization", f"Bearer {CANARY}b")
    register_header_value("X-Instance", "main")  # short, not a secret by name: stays readable
    register_header_value("X-Custom", CANARY + "c")  # long and opaque: masked
    out = redact_text(f"alice main {CANARY} tok3nAsUser {CANARY}b {CANARY}c")
    assert out == "alice main *** *** *** ***"


def test_short_secrets_are_not_text_scrubbed():
    register_secret("ab")
    assert redact_text("a tab and a cab") == "a tab and a cab"


def test_redacting_formatter_covers_tracebacks():
    register_secret(CANARY)
    record = logging.LogRecord("zako.cache", logging.WARNING, __file__, 1, "failed: %s", (CANARY,), None)
    try:
        raise RuntimeError(f"boom {CANARY}")
    except RuntimeError:
        import sys

        record.exc_info = sys.exc_info()
    out = RedactingFormatter("%(message)s").format(record)
    assert CANARY not in out and "boom ***" in out and "failed: ***" in out


# --- in-process: every object that shows a URL ------------------------------------


def test_objects_and_errors_never_show_the_password(tmp_path):
    import traceback

    from zako.cas import RemoteCasError
    from zako.global_state import GlobalState

    port = _closed_port()
    url = f"http://alice:{CANARY}@127.0.0.1:{port}/zako"
    with GlobalState(cache_dir=tmp_path / "c", remote_cache=url, jobs=1, remote_netrc=False,
                     remote_headers={"X-Api-Token": CANARY + "h"}) as state:
        shown = [repr(state), state.remote_cache, repr(state.remote), state.remote.base_url,
                 state.cache_health.name]
        with pytest.raises(RemoteCasError) as info:
            state.remote.ac_get("k")
        err = info.value
        shown += [str(err), repr(err), err.url, *traceback.format_exception(err)]
        shown.append(state.cache_health.summary() or "")
    assert all(CANARY not in s for s in shown), [s for s in shown if CANARY in s]
    assert state.remote_cache == f"http://***@127.0.0.1:{port}/zako"
    assert "Connection refused" in shown[-1]


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- the command, a canary everywhere ------------------------------------------------

from nginx_tls import AUTH_PASSWORD, AUTH_USER, nginx_auth, nginx_mtls, pki  # noqa: E402,F401  (fixtures)
from remote_cli import clean_env, make_tree, run_zako, warnings_of  # noqa: E402


def _forms(secret: str) -> list[str]:
    return [secret, quote(secret, safe=""), base64.b64encode(f"{AUTH_USER}:{secret}".encode()).decode()]


def _leaks(secret: str, texts: dict[str, str], root, given=()) -> list[str]:
    """Where any form of ``secret`` appears: in a printed text, or in the name
    or bytes of any file under ``root`` but the ``given`` ones (the test's own)."""
    import os

    found = [where for where, text in texts.items() for f in _forms(secret) if f in text]
    for dirpath, dirs, files in os.walk(root):
        for name in dirs + files:
            if any(f in name for f in _forms(secret)):
                found.append(os.path.join(dirpath, name))
        for name in files:
            path = os.path.join(dirpath, name)
            if path in given:
                continue
            try:
                data = open(path, "rb").read()
            except OSError:
                continue
            if any(f.encode() in data for f in _forms(secret)):
                found.append(path)
    return found


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    return make_tree(tmp_path_factory.mktemp("secrets-tree") / "t", 3)


def _scenario(name, tmp_path, request):
    """``(secret, args, env extra)`` of one load carrying a canary secret."""
    secret = CANARY + "-" + name
    header_env = {"ZK_SECRET_TOKEN": secret + "-env"}
    headers = ["--remote-header", f"X-Api-Token={secret}-literal",
               "--remote-header", "Authorization=@env:ZK_SECRET_TOKEN"]
    if name == "refused":
        return secret, ["--remote-cache", f"http://{AUTH_USER}:{secret}@127.0.0.1:{_closed_port()}/z", *headers], \
            header_env
    if name == "http401":  # Basic from the URL, the password wrong
        server = request.getfixturevalue("nginx_auth")
        return secret, ["--remote-cache", f"http://{AUTH_USER}:{secret}@127.0.0.1:{server.port}/z",
                        "--remote-header", f"X-Api-Token={secret}-literal"], {}
    if name == "http401-headers":  # the Authorization header wins over the URL's userinfo
        server = request.getfixturevalue("nginx_auth")
        return secret, ["--remote-cache", f"http://{AUTH_USER}:{secret}-url@127.0.0.1:{server.port}/z", *headers], \
            header_env
    if name == "http500":
        from fault_server import FaultServer

        server = FaultServer(None, fault="http500", lifetime_s=60)
        request.addfinalizer(server.stop)
        return secret, ["--remote-cache", f"http://{AUTH_USER}:{secret}@127.0.0.1:{server.port}/z", *headers], \
            header_env
    if name == "tls-untrusted":
        server = request.getfixturevalue("nginx_mtls")
        return secret, ["--remote-cache", f"https://{AUTH_USER}:{secret}@127.0.0.1:{server.port}/z", *headers], \
            header_env
    if name == "grpc-refused":  # the gRPC remote sends headers as metadata: same rules
        return secret, ["--remote-cache", f"grpc://127.0.0.1:{_closed_port()}/inst", *headers], header_env
    if name == "grpc-userinfo":  # refused as a usage error, the URL shown masked
        return secret, ["--remote-cache", f"grpc://{AUTH_USER}:{secret}@127.0.0.1:1/inst"], {}
    if name == "bad-url-port":
        return secret, ["--remote-cache", f"http://{AUTH_USER}:{secret}/x@127.0.0.1:99999999/z"], {}
    if name == "bad-url-scheme":
        return secret, ["--remote-cache", f"ftp://{AUTH_USER}:{secret}@127.0.0.1/z"], {}
    if name == "bad-url-ipv6":
        return secret, ["--remote-cache", f"http://{AUTH_USER}:{secret}@[::1/z"], {}
    if name == "mistyped-flag":
        return secret, [f"--remote-cachex=http://{AUTH_USER}:{secret}@127.0.0.1:1/z"], {}
    if name == "netrc-401":
        server = request.getfixturevalue("nginx_auth")
        (tmp_path / ".netrc").write_text(f"machine 127.0.0.1 login {AUTH_USER} password {secret}\n")
        return secret, ["--remote-cache", f"{server.url}/z"], {}
    if name == "success":
        server = request.getfixturevalue("nginx_auth")
        prefix = f"z{tmp_path.name}"  # nothing there yet: the first load uploads, the second hits
        return AUTH_PASSWORD, ["--remote-cache", f"http://{AUTH_USER}:{AUTH_PASSWORD}@127.0.0.1:{server.port}/{prefix}",
                               "--remote-header", f"X-Api-Token={AUTH_PASSWORD}"], {}
    raise AssertionError(name)


SCENARIOS = ["refused", "http401", "http401-headers", "http500", "tls-untrusted",
             "grpc-refused", "grpc-userinfo", "bad-url-port", "bad-url-scheme", "bad-url-ipv6", "mistyped-flag",
             "netrc-401", "success"]


USAGE_ERRORS = ("mistyped-flag", "grpc-userinfo")


@pytest.mark.parametrize("name", SCENARIOS)
def test_no_canary_in_anything_a_load_prints_or_writes(name, tree, tmp_path, request):
    secret, args, extra_env = _scenario(name, tmp_path, request)
    env = clean_env(tmp_path, **extra_env)
    texts = {}
    for mode in (["--json"], ["-v"]):
        # a fresh cache each: the second load must reach the remote too
        cache = tmp_path / f"cache{mode[0]}"
        files = ["--trace", str(tmp_path / f"trace{mode[0]}.json"),
                 "--stats-json", str(tmp_path / f"stats{mode[0]}.json")]
        run = run_zako(["load", tree, "--cache-dir", str(cache), *mode, *files, *args], env)
        texts[f"{mode[0]} stdout"] = run.stdout
        texts[f"{mode[0]} stderr"] = run.stderr
        if name.startswith("bad-url") or name in USAGE_ERRORS:
            assert run.code == 2, run.stderr
            # one line; argparse adds its usage line before its own
            assert len([x for x in run.stderr.splitlines() if not x.startswith("usage:")]) == 1, run.stderr
        else:
            assert run.code == 0, run.stderr
            if name != "success":
                assert len(warnings_of(run.stderr)) == 1, run.stderr
    stats = run_zako(["cache", "stats", "--json", "--cache-dir", str(cache)], env)
    texts["cache stats"] = stats.stdout + stats.stderr
    assert _leaks(secret, texts, tmp_path, given={str(tmp_path / ".netrc")}) == []
    if run.code == 0:  # the files the load wrote were there to be grepped
        assert (tmp_path / "trace-v.json").stat().st_size and (tmp_path / "stats-v.json").stat().st_size
    if name == "success":
        # the load did go through the remote (the first upload, the second hits)
        import json

        assert re.fullmatch(r"0 hits, [1-9]\d* uploads", json.loads(texts["--json stdout"])["stats"]["remote_cache"])
        assert re.search(r"remote cache  [1-9]\d* hits", texts["-v stdout"]), texts["-v stdout"]
    elif not name.startswith("bad-url") and name not in USAGE_ERRORS:
        assert "remote cache" in texts["-v stdout"]  # the failure was reported, just not the secret
