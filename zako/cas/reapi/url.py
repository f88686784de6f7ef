"""``grpc://host:port[/instance]`` and ``grpcs://`` remote-cache URLs.

Kept free of any gRPC import, so choosing the remote (and the error for a
missing ``zako[grpc]`` extra) costs nothing when the remote is HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from ..redact import redact_url

__all__ = ["GRPC_SCHEMES", "GrpcTarget", "is_grpc_url", "parse_grpc_url"]

GRPC_SCHEMES = ("grpc", "grpcs")


def is_grpc_url(url: str) -> bool:
    """True for a URL this package serves (``grpc://``, ``grpcs://``)."""
    return url.split(":", 1)[0].lower() in GRPC_SCHEMES


@dataclass(frozen=True)
class GrpcTarget:
    """Where a REAPI server is: ``target`` for the channel (``host:port``),
    ``instance`` for every request, ``tls`` for ``grpcs``, ``shown`` for
    messages (credentials redacted)."""

    target: str
    instance: str
    tls: bool
    shown: str


def parse_grpc_url(url: str) -> GrpcTarget:
    """Parse a ``grpc(s)://host:port[/instance]`` URL; ``ValueError`` names
    what is wrong (the URL shown redacted). The instance name may have
    several path segments (``/main/ci``), as REAPI allows."""
    shown = redact_url(url)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as e:
        raise ValueError(f"remote cache URL {shown!r}: {e}") from None
    if parts.scheme.lower() not in GRPC_SCHEMES or not parts.hostname:
        raise ValueError(f"remote cache URL {shown!r} must be grpc://host:port[/instance] or grpcs://...")
    if parts.username is not None or parts.password is not None:
        raise ValueError(f"remote cache URL {shown!r}: a gRPC remote takes no user or password in its URL")
    if parts.query or parts.fragment:
        raise ValueError(f"remote cache URL {shown!r}: a gRPC remote URL has no query or fragment")
    tls = parts.scheme.lower() == "grpcs"
    if port is None:
        port = 443 if tls else 80
    host = parts.hostname
    if ":" in host:  # an IPv6 literal goes back in brackets for the channel
        host = f"[{host}]"
    instance = unquote(parts.path.strip("/"))
    return GrpcTarget(f"{host}:{port}", instance, tls, shown.rstrip("/"))
