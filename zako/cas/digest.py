"""Content digests: blake3 hash plus size, the key of every blob."""

from __future__ import annotations

import os
from typing import BinaryIO

from blake3 import blake3 as _Blake3

from .errors import InvalidDigestError

__all__ = ["Digest", "HASH_BYTES", "CHUNK_BYTES"]

HASH_BYTES = 32
# Large enough that per-chunk Python overhead vanishes next to hashing and
# I/O, small enough that streaming never shows up in peak memory.
CHUNK_BYTES = 1 << 20

_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")


class Digest:
    """Identity of a blob: its size in bytes and its 32-byte blake3 hash.

    ``Digest(size_bytes, blake3)`` takes the hash as 32 raw bytes or as 64 hex
    digits; ``.blake3`` is always the raw bytes, ``.hex`` the lowercase hex.
    Immutable; equality and hashing use both fields, so two digests with the
    same hash but different sizes are different keys. ``str(d)`` is
    ``"<hex>/<size>"``, the form :meth:`parse` reads back.

    Raises :class:`InvalidDigestError` (a ``ValueError``) for a negative or
    non-integer size or a hash that is not 32 bytes / 64 hex digits.
    """

    __slots__ = ("size_bytes", "blake3", "_hex")

    size_bytes: int
    blake3: bytes
    _hex: str

    def __init__(self, size_bytes: int, blake3: bytes | str) -> None:
        if type(size_bytes) is not int:
            if isinstance(size_bytes, bool) or not isinstance(size_bytes, int):
                raise InvalidDigestError(
                    f"digest size must be an int, got {size_bytes!r}")
            size_bytes = int(size_bytes)
        if size_bytes < 0:
            raise InvalidDigestError(f"digest size must be >= 0, got {size_bytes}")
        if isinstance(blake3, str):
            if len(blake3) != 2 * HASH_BYTES or not _HEX_DIGITS.issuperset(blake3):
                raise InvalidDigestError(
                    f"blake3 hash must be {2 * HASH_BYTES} hex digits, got {blake3!r}")
            raw = bytes.fromhex(blake3)
        elif isinstance(blake3, (bytes, bytearray, memoryview)):
            raw = bytes(blake3)
            if len(raw) != HASH_BYTES:
                raise InvalidDigestError(
                    f"blake3 hash must be {HASH_BYTES} bytes, got {len(raw)} bytes")
        else:
            raise InvalidDigestError(
                f"blake3 hash must be bytes or a hex str, got {type(blake3).__name__}")
        _set = object.__setattr__
        _set(self, "size_bytes", size_bytes)
        _set(self, "blake3", raw)
        _set(self, "_hex", raw.hex())

    @classmethod
    def _trusted(cls, size_bytes: int, raw: bytes) -> "Digest":
        # Hot path for values this package just computed: skips validation.
        self = object.__new__(cls)
        _set = object.__setattr__
        _set(self, "size_bytes", size_bytes)
        _set(self, "blake3", raw)
        _set(self, "_hex", raw.hex())
        return self

    # --- construction -------------------------------------------------------

    @classmethod
    def of_bytes(cls, data: bytes | bytearray | memoryview) -> "Digest":
        """Digest of an in-memory buffer. Cost: one blake3 pass, no copy."""
        if isinstance(data, str):
            raise TypeError("Digest.of_bytes needs bytes, not str (encode it first)")
        view = memoryview(data)
        return cls._trusted(view.nbytes, _Blake3(view).digest())

    @classmethod
    def of_stream(cls, stream: BinaryIO, *, chunk_bytes: int = CHUNK_BYTES) -> "Digest":
        """Digest of everything left in a binary stream, read in fixed chunks.

        Memory stays at one chunk whatever the stream's length.
        """
        hasher = _Blake3()
        buf = bytearray(chunk_bytes)
        view = memoryview(buf)
        size = 0
        readinto = getattr(stream, "readinto", None)
        while True:
            if readinto is not None:
                n = readinto(view)
                if not n:
                    break
                hasher.update(view[:n])
            else:
                chunk = stream.read(chunk_bytes)
                if not chunk:
                    break
                n = len(chunk)
                hasher.update(chunk)
            size += n
        return cls._trusted(size, hasher.digest())

    @classmethod
    def of_file(cls, path: str | os.PathLike) -> "Digest":
        """Digest of a file's contents, streamed (never loaded whole).

        Raises ``OSError`` (e.g. ``FileNotFoundError``) if it cannot be read.
        """
        with open(path, "rb", buffering=0) as f:
            return cls.of_stream(f)

    @classmethod
    def parse(cls, text: str) -> "Digest":
        """Read ``"<64 hex>/<size>"`` (the ``str()`` form).

        Raises :class:`InvalidDigestError` naming ``text`` when it is not that.
        """
        if not isinstance(text, str):
            raise InvalidDigestError(f"digest text must be str, got {type(text).__name__}")
        hex_part, sep, size_part = text.partition("/")
        if (not sep or len(hex_part) != 2 * HASH_BYTES
                or not _HEX_DIGITS.issuperset(hex_part)
                or not size_part.isascii() or not size_part.isdigit()):
            raise InvalidDigestError(
                f"not a digest {text!r}: expected '<{2 * HASH_BYTES} hex digits>/<size>'")
        return cls._trusted(int(size_part), bytes.fromhex(hex_part))

    # --- value behaviour ----------------------------------------------------

    @property
    def hex(self) -> str:
        """The blake3 hash as 64 lowercase hex digits."""
        return self._hex

    def __setattr__(self, name, value):
        raise AttributeError(f"Digest is immutable (cannot set {name!r})")

    def __delattr__(self, name):
        raise AttributeError(f"Digest is immutable (cannot delete {name!r})")

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not Digest and not isinstance(other, Digest):
            return NotImplemented
        return self.size_bytes == other.size_bytes and self.blake3 == other.blake3

    def __ne__(self, other: object) -> bool:
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    def __hash__(self) -> int:
        return hash((self.blake3, self.size_bytes))

    def __str__(self) -> str:
        return f"{self._hex}/{self.size_bytes}"

    def __repr__(self) -> str:
        return f"Digest.parse('{self._hex}/{self.size_bytes}')"

    def __reduce__(self):
        return (Digest, (self.size_bytes, self.blake3))

    def __copy__(self) -> "Digest":
        return self

    def __deepcopy__(self, memo) -> "Digest":
        return self
