"""Keep credentials out of everything zako shows: messages, logs, reprs, JSON.

A remote cache URL may carry a user and password (``http://alice:pw@host``),
its requests carry ``Authorization`` and user-given headers, and every
failure message names the URL. Whatever is shown goes through one of these:

- :func:`redact_url` -- the URL with its userinfo replaced by ``***`` and
  every query value by ``***``; scheme, host, port and path stay readable.
- :func:`redact_headers` -- a copy of a header mapping with the value of
  every sensitive header (:func:`is_sensitive_header`, or a name the caller
  lists, e.g. every ``--remote-header``) replaced by ``***``.
- :func:`redact_text` -- free text (an exception message, a log line, a
  traceback): userinfo of any URL in it, and every value registered with
  :func:`register_secret`, replaced by ``***``. The structural helpers are
  the first line; this is the net under them, for text built by code that
  never saw the URL (``ssl``, ``http.client``, ``grpc``, argparse).
- :class:`RedactingFormatter` -- a ``logging.Formatter`` that applies
  :func:`redact_text` to each formatted record, traceback included.

Whoever parses a credential registers it (``register_secret``) before it can
appear anywhere, so the net catches it even in text the structural helpers
never see. Values shorter than :data:`MIN_SECRET_CHARS` are not registered
for text scrubbing (replacing every ``"a"`` in a message would destroy it
and hide nothing); structural redaction covers them.
"""

from __future__ import annotations

import base64
import logging
import re
import threading
from collections.abc import Iterable, Mapping
from urllib.parse import quote, unquote

__all__ = [
    "MASK",
    "MIN_SECRET_CHARS",
    "redact_url",
    "redact_headers",
    "redact_text",
    "is_sensitive_header",
    "register_secret",
    "register_url_secrets",
    "register_header_value",
    "forget_secrets",
    "RedactingFormatter",
]

#: What stands in for a hidden value.
MASK = "***"

#: Registered secrets shorter than this are not scrubbed from free text.
MIN_SECRET_CHARS = 4

# Header names whose values are credentials wherever they appear. Anything
# ending in -token/-key/-secret/-password/-auth (X-Api-Key, X-Goog-Auth...)
# counts too: a false positive hides a harmless value, a false negative
# leaks a credential.
_SENSITIVE_NAMES = frozenset({
    "authorization", "proxy-authorization", "cookie", "set-cookie",
    "www-authenticate", "proxy-authenticate",
})
_SENSITIVE_SUFFIX = re.compile(r"(?:^|[-_])(?:token|key|secret|password|passwd|auth|credentials?|session)$",
                               re.IGNORECASE)

# scheme://userinfo@ -- userinfo is taken to run to the last '@' of the URL:
# a password that was not percent-encoded may hold '/', '?', '#' or '@'
# (then urlsplit would mistake part of it for host, path or fragment). A
# legitimate '@' later in a URL costs only readability: the part before it
# is masked too.
_URL_START = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://")
_USERINFO_IN_TEXT = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*://)\S*@")

_lock = threading.Lock()
_secrets: frozenset[str] = frozenset()
_secret_re: re.Pattern[str] | None = None


def is_sensitive_header(name: str) -> bool:
    """True for ``Authorization``, ``Proxy-Authorization``, ``Cookie``,
    ``Set-Cookie``, the ``*-Authenticate`` pair, and any name ending in
    ``-Token``, ``-Key``, ``-Secret``, ``-Password``, ``-Auth``,
    ``-Credential(s)`` or ``-Session`` (``X-Api-Token``, ``X-Api-Key``...)."""
    n = str(name).strip().lower()
    return n in _SENSITIVE_NAMES or bool(_SENSITIVE_SUFFIX.search(n))


def _split_userinfo(url: str) -> tuple[str, str, str] | None:
    """``(scheme://, userinfo, rest)`` or None when the URL has no userinfo."""
    m = _URL_START.match(url)
    if m is None:
        return None
    start = m.end()
    at = url.rfind("@", start)
    if at == -1:
        return None
    return url[:start], url[start:at], url[at + 1:]


def redact_url(url: object) -> str:
    """``url`` fit to show: userinfo becomes ``***`` (user too: a token is
    often passed as the user), every query value ``***``. Never raises; a
    value that is not a URL comes back with anything that looks like
    userinfo masked."""
    text = str(url)
    parts = _split_userinfo(text)
    if parts is not None:
        scheme, _userinfo, rest = parts
        text = f"{scheme}{MASK}@{rest}"
    q = text.find("?")
    if q != -1:
        head, query = text[:q], text[q + 1:]
        frag = ""
        h = query.find("#")
        if h != -1:
            query, frag = query[:h], query[h:]
        masked = "&".join(
            (item.split("=", 1)[0] + "=" + MASK) if "=" in item else item
            for item in query.split("&"))
        text = f"{head}?{masked}{frag}"
    return redact_text(text)


def redact_headers(headers: Mapping[str, object] | Iterable[tuple[str, object]] | None,
                   sensitive: Iterable[str] = ()) -> dict[str, str]:
    """A copy of ``headers`` to show: the value of every sensitive header
    (:func:`is_sensitive_header`) and of every name in ``sensitive``
    (case-insensitive; pass the names of user-given headers) is ``***``;
    other values go through :func:`redact_text`."""
    if headers is None:
        return {}
    extra = {str(n).strip().lower() for n in sensitive}
    items = headers.items() if isinstance(headers, Mapping) else headers
    out: dict[str, str] = {}
    for name, value in items:
        key = str(name)
        if key.strip().lower() in extra or is_sensitive_header(key):
            out[key] = MASK
        else:
            out[key] = redact_text(str(value))
    return out


def register_secret(value: object) -> None:
    """Scrub ``value`` from every later :func:`redact_text` (and so from
    every log line the CLI prints). Also registers the forms it commonly
    takes in text: percent-encoded, and for a ``user:password`` pair the
    base64 of an ``Authorization: Basic`` header. Thread-safe."""
    if value is None:
        return
    s = str(value)
    forms = {s, quote(s, safe=""), unquote(s)}
    if ":" in s:
        forms.add(base64.b64encode(s.encode("utf-8")).decode("ascii"))
    forms = {f for f in forms if len(f) >= MIN_SECRET_CHARS}
    if not forms:
        return
    global _secrets, _secret_re
    with _lock:
        merged = _secrets | forms
        if merged == _secrets:
            return
        _secrets = merged
        # Longest first, so a secret that contains another is masked whole.
        _secret_re = re.compile("|".join(re.escape(f) for f in sorted(merged, key=len, reverse=True)))


def register_url_secrets(url: object) -> None:
    """Register the userinfo of ``url`` (raw and decoded: the whole of it,
    the password alone, and the ``user:password`` Basic form). A user
    without a password is registered alone too (``https://TOKEN@host``); a
    user beside a password is a name, and masking it in every log line
    would hide nothing."""
    parts = _split_userinfo(str(url))
    if parts is None:
        return
    userinfo = parts[1]
    register_secret(userinfo)
    user, sep, password = userinfo.partition(":")
    if sep:
        register_secret(password)
        register_secret(f"{unquote(user)}:{unquote(password)}")
    else:
        register_secret(user)


#: A value of a header whose name does not say "secret" is scrubbed from
#: free text only from this length on: ``X-Instance=main`` must not turn
#: every "main" of a log line into ``***``, while an opaque token of a
#: custom header still is masked.
MIN_OPAQUE_CHARS = 8


def register_header_value(name: str, value: object) -> None:
    """Register a header value sent to a remote: always for a sensitive
    name (:func:`is_sensitive_header`; for ``Authorization: Bearer X`` the
    credential ``X`` alone as well), from :data:`MIN_OPAQUE_CHARS` on for
    others. Wherever headers are *shown*, :func:`redact_headers` masks every
    user-given one regardless."""
    text = str(value)
    if is_sensitive_header(name):
        register_secret(text)
        scheme, sep, credential = text.partition(" ")
        if sep and scheme.isalpha():
            register_secret(credential.strip())
    elif len(text) >= MIN_OPAQUE_CHARS:
        register_secret(text)


def forget_secrets() -> None:
    """Drop every registered secret (for tests)."""
    global _secrets, _secret_re
    with _lock:
        _secrets = frozenset()
        _secret_re = None


def redact_text(text: object) -> str:
    """``text`` with URL userinfo and every registered secret replaced by ``***``."""
    s = str(text)
    if "@" in s:
        s = _USERINFO_IN_TEXT.sub(lambda m: f"{m.group(1)}{MASK}@", s)
    pattern = _secret_re
    if pattern is not None:
        s = pattern.sub(MASK, s)
    return s


class RedactingFormatter(logging.Formatter):
    """A ``logging.Formatter`` whose output (message, arguments, traceback)
    has gone through :func:`redact_text`."""

    def format(self, record: logging.LogRecord) -> str:
        return redact_text(super().format(record))
