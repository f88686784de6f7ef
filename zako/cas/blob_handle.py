"""Handles to stored blobs: small ones carry their bytes (inlined)."""

from __future__ import annotations

import base64
import io
from typing import BinaryIO

from .blob_range import BlobRange, check_range
from .digest import HASH_BYTES, Digest
from .errors import DigestMismatchError, InvalidDigestError

__all__ = ["BlobHandle"]

_FULL = BlobRange()
_TAG_REFERENCED = 0
_TAG_INLINED = 1
_SIZE_BYTES = 8


class BlobHandle:
    """A reference to a blob by digest, optionally carrying the bytes.

    An *inlined* handle (``is_inlined``) holds the blob's bytes, so
    :meth:`read` and :meth:`open` serve them with no store access at all; a
    *referenced* handle asks the store. ``CasStore`` inlines blobs of at most
    ``inline_threshold`` bytes. Equality and hashing use the digest only:
    an inlined and a referenced handle to the same blob are equal.

    ``BlobHandle(digest, data=None)`` checks ``data`` against ``digest``
    (:class:`DigestMismatchError`), as do :meth:`from_dict` and
    :meth:`from_bytes`, so a handle never carries bytes that are not its
    blob. Handles serialize to a small JSON-friendly dict or to bytes.
    """

    __slots__ = ("digest", "_data")

    digest: Digest
    _data: bytes | None

    def __init__(self, digest: Digest, data: bytes | None = None) -> None:
        if not isinstance(digest, Digest):
            raise TypeError(f"BlobHandle needs a Digest, got {type(digest).__name__} {digest!r}")
        if data is not None:
            data = bytes(data)
            actual = Digest.of_bytes(data)
            if actual != digest:
                raise DigestMismatchError(
                    f"inline bytes for blob handle {digest} hash to {actual}",
                    expected=digest, actual=actual)
        object.__setattr__(self, "digest", digest)
        object.__setattr__(self, "_data", data)

    @classmethod
    def _trusted(cls, digest: Digest, data: bytes | None) -> "BlobHandle":
        self = object.__new__(cls)
        object.__setattr__(self, "digest", digest)
        object.__setattr__(self, "_data", data)
        return self

    @classmethod
    def inlined(cls, data: bytes) -> "BlobHandle":
        """An inlined handle for ``data`` (hashes it)."""
        data = bytes(data)
        return cls._trusted(Digest.of_bytes(data), data)

    @classmethod
    def referenced(cls, digest: Digest) -> "BlobHandle":
        """A handle that reads ``digest`` from a store."""
        return cls(digest)

    # --- properties ---------------------------------------------------------

    @property
    def is_inlined(self) -> bool:
        return self._data is not None

    @property
    def size_bytes(self) -> int:
        return self.digest.size_bytes

    @property
    def inline_data(self) -> bytes | None:
        """The carried bytes of an inlined handle, else ``None``."""
        return self._data

    # --- reads ----------------------------------------------------------------

    def read(self, store=None, range: BlobRange = _FULL) -> bytes:
        """The bytes of ``range``. Inlined: no store access (``store`` may be None).

        Raises :class:`RangeError` if the range does not fit the blob; for
        referenced handles, whatever ``store.read`` raises.
        """
        data = self._data
        if data is not None:
            start, stop = check_range(self.digest, range)
            if start == 0 and stop == len(data):
                return data
            return data[start:stop]
        if store is None:
            raise TypeError(f"reading referenced blob handle {self.digest} needs a store")
        return store.read(self.digest, range)

    def open(self, store=None, range: BlobRange = _FULL) -> BinaryIO:
        """Binary file object over ``range``; inlined handles need no store."""
        if self._data is not None:
            return io.BytesIO(self.read(None, range))
        if store is None:
            raise TypeError(f"opening referenced blob handle {self.digest} needs a store")
        return store.open(self.digest, range)

    # --- value behaviour ----------------------------------------------------

    def __setattr__(self, name, value):
        raise AttributeError(f"BlobHandle is immutable (cannot set {name!r})")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, BlobHandle):
            return NotImplemented
        return self.digest == other.digest

    def __hash__(self) -> int:
        return hash(self.digest)

    def __repr__(self) -> str:
        kind = "inlined" if self._data is not None else "referenced"
        return f"BlobHandle({kind} {self.digest})"

    def __reduce__(self):
        return (BlobHandle, (self.digest, self._data))

    # --- serialization ------------------------------------------------------

    def to_dict(self) -> dict:
        """``{"digest": "<hex>/<size>"}`` plus ``"data"`` (base64) when inlined."""
        out = {"digest": str(self.digest)}
        if self._data is not None:
            out["data"] = base64.b64encode(self._data).decode("ascii")
        return out

    @classmethod
    def from_dict(cls, value: dict) -> "BlobHandle":
        """Inverse of :meth:`to_dict`; inline bytes are checked against the digest.

        Raises :class:`InvalidDigestError` for a malformed dict,
        :class:`DigestMismatchError` for inline bytes of another blob.
        """
        if not isinstance(value, dict) or "digest" not in value:
            raise InvalidDigestError(f"not a blob handle dict: {value!r}")
        digest = Digest.parse(value["digest"])
        data = value.get("data")
        if data is None:
            return cls(digest)
        try:
            raw = base64.b64decode(data, validate=True)
        except (ValueError, TypeError) as exc:
            raise InvalidDigestError(f"inline data of blob handle {digest} is not base64") from exc
        return cls(digest, raw)

    def to_bytes(self) -> bytes:
        """Compact form: tag byte, 32-byte hash, 8-byte big-endian size, then inline bytes."""
        tag = _TAG_INLINED if self._data is not None else _TAG_REFERENCED
        head = bytes((tag,)) + self.digest.blake3 + self.digest.size_bytes.to_bytes(_SIZE_BYTES, "big")
        return head + self._data if self._data is not None else head

    @classmethod
    def from_bytes(cls, raw: bytes) -> "BlobHandle":
        """Inverse of :meth:`to_bytes`; checked like :meth:`from_dict`."""
        raw = bytes(raw)
        head = 1 + HASH_BYTES + _SIZE_BYTES
        if len(raw) < head or raw[0] not in (_TAG_REFERENCED, _TAG_INLINED):
            raise InvalidDigestError(f"not a serialized blob handle ({len(raw)} bytes)")
        size = int.from_bytes(raw[1 + HASH_BYTES:head], "big")
        digest = Digest(size, raw[1:1 + HASH_BYTES])
        if raw[0] == _TAG_REFERENCED:
            if len(raw) != head:
                raise InvalidDigestError(
                    f"serialized referenced blob handle {digest} has {len(raw) - head} trailing bytes")
            return cls(digest)
        return cls(digest, raw[head:])
