"""Credentials and TLS settings for a remote cache, read once at start.

- :func:`parse_remote_headers` -- ``--remote-header NAME=VALUE`` (Bazel's
  flag), the value read from the environment when given as
  ``NAME=@env:VAR`` so a token stays out of shell history and ``ps``.
- :func:`basic_authorization` / :func:`netrc_credentials` -- HTTP Basic
  from a URL's userinfo or from ``$NETRC`` (default ``~/.netrc``).
- :func:`tls_context` -- an ``ssl.SSLContext``: the system trust store, or
  only a private CA (``--remote-ca``), plus a client certificate for mutual
  TLS (``--remote-client-cert``/``--remote-client-key``).

Every credential read here is registered with :mod:`zako.cas.redact`
before it is returned, and no error message quotes one: a bad
``--remote-header`` is named by its header name, a missing variable by the
variable's name. Bad input raises :class:`RemoteConfigError` (a
``ValueError``: the CLI's exit status 2).
"""

from __future__ import annotations

import base64
import logging
import netrc
import os
import re
import ssl
from collections.abc import Iterable, Mapping

from .errors import RemoteConfigError
from .redact import register_header_value, register_secret

__all__ = ["parse_remote_headers", "basic_authorization", "netrc_credentials", "netrc_path", "tls_context"]

_log = logging.getLogger("zako.cache")

# RFC 9110 token characters.
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_ENV_PREFIX = "@env:"
# Hop-by-hop and framing headers are the client's business: a user value
# would corrupt the request rather than authenticate it.
_RESERVED = frozenset({"host", "content-length", "transfer-encoding", "connection", "range",
                       "content-type", "expect", "upgrade", "te", "trailer", "keep-alive"})


def parse_remote_headers(specs: Iterable[str] | None,
                         environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """``{name: value}`` from ``NAME=VALUE`` / ``NAME=@env:VAR`` strings.

    A name given twice keeps the last value. Raises :class:`RemoteConfigError`
    naming the header (never its value) for a spec without ``=``, a bad or
    reserved header name, a value with a line break, or an unset ``VAR``.
    """
    env = os.environ if environ is None else environ
    out: dict[str, str] = {}
    for i, spec in enumerate(specs or (), 1):
        name, sep, value = str(spec).partition("=")
        name = name.strip()
        if not sep:
            # The whole argument may be a pasted token: never echo it.
            raise RemoteConfigError(f"--remote-header #{i}: expected NAME=VALUE or NAME=@env:VAR, "
                                    "got an argument without '='")
        if not _HEADER_NAME.fullmatch(name):
            raise RemoteConfigError(f"--remote-header #{i}: {name[:40]!r} is not a valid header name")
        if name.lower() in _RESERVED:
            raise RemoteConfigError(f"--remote-header {name}: set by the client itself, cannot be overridden")
        if value.startswith(_ENV_PREFIX):
            var = value[len(_ENV_PREFIX):]
            if not var:
                raise RemoteConfigError(f"--remote-header {name}=@env:VAR: the variable name is missing")
            if var not in env:
                raise RemoteConfigError(f"--remote-header {name}=@env:{var}: environment variable {var} is not set")
            value = env[var]
        if "\r" in value or "\n" in value or "\0" in value:
            raise RemoteConfigError(f"--remote-header {name}: the value contains a line break or NUL")
        register_header_value(name, value)
        out[name] = value
    return out


def basic_authorization(user: str, password: str) -> str:
    """The ``Authorization`` value for HTTP Basic (registered as a secret)."""
    register_secret(f"{user}:{password}")
    register_secret(password)
    token = base64.b64encode(f"{user}:{password}".encode("utf-8")).decode("ascii")
    value = f"Basic {token}"
    register_secret(token)
    return value


def netrc_path(environ: Mapping[str, str] | None = None) -> str:
    """``$NETRC`` if set, else ``~/.netrc`` (``~`` from ``$HOME``)."""
    env = os.environ if environ is None else environ
    explicit = env.get("NETRC")
    if explicit:
        return explicit
    home = env.get("HOME") or os.path.expanduser("~")
    return os.path.join(home, ".netrc")


def netrc_credentials(host: str, environ: Mapping[str, str] | None = None) -> tuple[str, str] | None:
    """``(login, password)`` for ``host`` from the netrc file (its ``default``
    entry if no machine matches), or None.

    A missing file is no credentials. A file that cannot be read or parsed
    is no credentials and one WARNING naming the file (and line): a broken
    ``~/.netrc`` must not stop a load that may need no password at all. The
    parser's own message is not shown: it can quote a token from the file.
    """
    path = netrc_path(environ)
    if not os.path.exists(path):
        if (environ if environ is not None else os.environ).get("NETRC"):
            _log.warning("netrc file %s (from $NETRC) does not exist; no credentials read from it", path)
        return None
    try:
        entry = netrc.netrc(path).authenticators(host)
    except netrc.NetrcParseError as exc:
        _log.warning("%s:%s: not a valid netrc file; no credentials read from it", exc.filename or path,
                     exc.lineno)
        return None
    except (OSError, UnicodeDecodeError) as exc:
        _log.warning("netrc file %s cannot be read (%s); no credentials read from it", path,
                     getattr(exc, "strerror", None) or type(exc).__name__)
        return None
    if entry is None:
        return None
    login, _account, password = entry
    if not login and not password:
        return None
    register_secret(password)
    return login or "", password or ""


def _why(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLError):
        return str(exc.reason or exc.strerror or "TLS library error")
    return getattr(exc, "strerror", None) or str(exc)


def tls_context(ca_file: str | os.PathLike | None = None, client_cert: str | os.PathLike | None = None,
                client_key: str | os.PathLike | None = None) -> ssl.SSLContext:
    """A client ``SSLContext`` that verifies the server's certificate and name.

    Without ``ca_file`` it trusts the system store; with it, only that CA
    (PEM). ``client_cert`` (PEM, may hold the key too) and ``client_key``
    are sent to a server that asks for one (mutual TLS). An encrypted key
    is refused rather than prompted for. Raises :class:`RemoteConfigError`
    naming the file for one that cannot be read or used.
    """
    if client_key is not None and client_cert is None:
        raise RemoteConfigError("--remote-client-key needs --remote-client-cert")
    try:
        ctx = ssl.create_default_context(cafile=os.fspath(ca_file) if ca_file is not None else None)
    except (OSError, ssl.SSLError) as exc:
        raise RemoteConfigError(f"--remote-ca {os.fspath(ca_file)}: cannot use it as a CA file "
                                f"({_why(exc)})") from None
    if client_cert is not None:
        for flag, path in (("--remote-client-cert", client_cert), ("--remote-client-key", client_key)):
            if path is not None and not os.path.isfile(path):
                raise RemoteConfigError(f"{flag} {os.fspath(path)}: no such file")
        try:
            ctx.load_cert_chain(os.fspath(client_cert), os.fspath(client_key) if client_key is not None else None,
                                password=lambda: b"")
        except (OSError, ssl.SSLError) as exc:
            raise RemoteConfigError(
                f"--remote-client-cert {os.fspath(client_cert)}"
                + (f" --remote-client-key {os.fspath(client_key)}" if client_key is not None else "")
                + f": not a PEM certificate with its matching, unencrypted private key ({_why(exc)})") from None
        # Read by HttpCas to word an HTTP 400 from a server that wanted a certificate.
        ctx.zako_client_cert = True  # type: ignore[attr-defined]
    return ctx
