"""Credentials never appear in what zako shows.

The helpers of ``zako.cas.redact`` on their own, then the whole command:
failing and succeeding loads with a canary secret in the URL, a
``--remote-header`` and ``.netrc``, everything printed (stdout, stderr,
``--json``) and every file the load wrote grepped for the canary.
"""

from __future__ import annotations

import base64
import logging
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
