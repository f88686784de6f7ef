"""REAPI v2 (Remote Execution API) cache client over gRPC: ``--remote-cache
grpc://host:port[/instance]`` or ``grpcs://``. See ``docs/remote-cache.md``.

gRPC is an optional dependency (``pip install 'zako[grpc]'``): importing
this package costs nothing; :func:`open_reapi_cas` imports the client and
turns a missing ``grpcio``/``protobuf`` into one ``ValueError`` naming the
extra.
"""

from __future__ import annotations

from .url import GRPC_SCHEMES, GrpcTarget, is_grpc_url, parse_grpc_url

__all__ = ["GRPC_SCHEMES", "GrpcTarget", "is_grpc_url", "parse_grpc_url", "open_reapi_cas", "MISSING_EXTRA"]

MISSING_EXTRA = "a grpc:// remote cache needs grpcio and protobuf: pip install 'zako[grpc]'"


def open_reapi_cas(url: str, **kwargs):
    """A :class:`zako.cas.reapi.client.ReapiCas` for ``url`` (see its
    doc for ``kwargs``). ``ValueError`` for a malformed URL or when the
    ``zako[grpc]`` extra is not installed (its generated modules need a
    protobuf runtime at least as new as the one they were generated for)."""
    parse_grpc_url(url)  # a malformed URL is reported before a missing extra
    try:
        from .client import ReapiCas
    except ImportError as e:
        raise ValueError(f"{MISSING_EXTRA} ({e})") from None
    return ReapiCas(url, **kwargs)
