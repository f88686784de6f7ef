"""Errors of the content-addressed store.

Every error names the digest involved (``<hex>/<size>``) and, where one is
involved, the path, URL (credentials masked: ``zako.cas.redact``) or range.
"""

from __future__ import annotations

from ..exceptions import ZakoError
from .redact import redact_text, redact_url

__all__ = [
    "CasError",
    "BlobNotFoundError",
    "RangeError",
    "DigestMismatchError",
    "CorruptBlobError",
    "BlobRangeError",
    "InvalidDigestError",
    "RemoteCasError",
    "RemoteTimeoutError",
    "RemoteDisabledError",
    "RemoteConfigError",
]


class CasError(ZakoError):
    """A content-addressed store operation failed."""


class BlobNotFoundError(CasError, KeyError):
    """No store that was asked (memory, local, remote) holds the blob."""

    def __init__(self, message: str, *, digest=None) -> None:
        super().__init__(message)
        self.digest = digest

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class RangeError(CasError, IndexError):
    """A read asked for bytes outside the blob (``range`` past ``size``)."""

    def __init__(self, message: str, *, digest=None, size=None, range=None) -> None:
        super().__init__(message)
        self.digest = digest
        self.size = size
        self.range = range


class DigestMismatchError(CasError, ValueError):
    """Bytes offered under a digest (to store, or from a remote) hash to another one."""

    def __init__(self, message: str, *, expected=None, actual=None) -> None:
        super().__init__(message)
        self.expected = expected
        self.actual = actual


class CorruptBlobError(CasError):
    """A blob already in the local store no longer matches its digest."""

    def __init__(self, message: str, *, digest=None, path=None) -> None:
        super().__init__(message)
        self.digest = digest
        self.path = path


class BlobRangeError(CasError, ValueError):
    """A ``BlobRange`` was built from invalid values (length 0, negatives)."""


class InvalidDigestError(CasError, ValueError):
    """Text or values that do not form a digest (bad hex, bad size)."""


class RemoteCasError(CasError):
    """The remote cache answered with an unexpected status or could not be reached."""

    def __init__(self, message: str, *, url=None, status=None) -> None:
        # Redacted here, once for every remote (HTTP, gRPC): whatever built
        # the message, its text and repr never carry a credential.
        super().__init__(redact_text(message))
        self.url = redact_url(url) if url is not None else None
        self.status = status


class RemoteTimeoutError(RemoteCasError):
    """A remote request did not complete (connect, headers and body) within its deadline."""


class RemoteDisabledError(RemoteCasError):
    """No request was made: the remote's circuit breaker is open, or the remote
    is suspect after a failure and another request is probing it."""


class RemoteConfigError(CasError, ValueError):
    """A remote cache setting cannot be used: a malformed ``--remote-header``,
    an unset ``@env:`` variable, an unreadable CA or client certificate, TLS
    options for a plain-HTTP URL. Names the flag, header, variable or file;
    never a credential."""
