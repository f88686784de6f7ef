"""Byte ranges within a blob."""

from __future__ import annotations

from .digest import Digest
from .errors import BlobRangeError, RangeError

__all__ = ["BlobRange", "check_range"]


class BlobRange:
    """``length`` bytes of a blob from offset ``start``; ``length=None`` means to the end.

    ``BlobRange()`` is the whole blob. A zero ``length`` is refused
    (:class:`BlobRangeError`, also a ``ValueError``): an empty read is asked
    for as an open range starting at the blob's end. Negative or non-integer
    values are refused the same way. Immutable, hashable.
    """

    __slots__ = ("start", "length")

    start: int
    length: int | None

    def __init__(self, start: int = 0, length: int | None = None) -> None:
        if isinstance(start, bool) or not isinstance(start, int):
            raise BlobRangeError(f"range start must be an int, got {start!r}")
        if start < 0:
            raise BlobRangeError(f"range start must be >= 0, got {start}")
        if length is not None:
            if isinstance(length, bool) or not isinstance(length, int):
                raise BlobRangeError(f"range length must be an int or None, got {length!r}")
            if length == 0:
                raise BlobRangeError(
                    f"range length must not be 0 (start={start}); use length=None "
                    "for 'to the end'")
            if length < 0:
                raise BlobRangeError(f"range length must be > 0, got {length} (start={start})")
        object.__setattr__(self, "start", int(start))
        object.__setattr__(self, "length", None if length is None else int(length))

    @classmethod
    def full(cls) -> "BlobRange":
        """The whole blob (same as ``BlobRange()``)."""
        return _FULL

    @property
    def end(self) -> int | None:
        """Exclusive end offset, or ``None`` for an open range."""
        return None if self.length is None else self.start + self.length

    @property
    def is_full(self) -> bool:
        """True for ``BlobRange()``: the whole blob whatever its size."""
        return self.start == 0 and self.length is None

    def covers_whole(self, size: int) -> bool:
        """True if this range selects all ``size`` bytes of a blob."""
        return self.start == 0 and (self.length is None or self.length == size)

    def is_out_of_span(self, size: int) -> bool:
        """True if the range does not fit in a blob of ``size`` bytes.

        An open range may start exactly at ``size`` (an empty read, so
        ``BlobRange()`` fits an empty blob); a bounded one must end at or
        before ``size``.
        """
        if self.length is None:
            return self.start > size
        return self.start + self.length > size

    def resolve(self, size: int) -> tuple[int, int]:
        """``(start, stop)`` offsets in a blob of ``size`` bytes; caller checked the span."""
        return self.start, size if self.length is None else self.start + self.length

    def __setattr__(self, name, value):
        raise AttributeError(f"BlobRange is immutable (cannot set {name!r})")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, BlobRange):
            return NotImplemented
        return self.start == other.start and self.length == other.length

    def __hash__(self) -> int:
        return hash((BlobRange, self.start, self.length))

    def __repr__(self) -> str:
        return f"BlobRange(start={self.start}, length={self.length})"

    def __str__(self) -> str:
        end = "end" if self.length is None else str(self.start + self.length)
        return f"[{self.start}, {end})"

    def __reduce__(self):
        return (BlobRange, (self.start, self.length))


_FULL = BlobRange()


def check_range(digest, rng: BlobRange) -> tuple[int, int]:
    """``(start, stop)`` of ``rng`` in the blob ``digest``; :class:`RangeError` if it does not fit.

    The blob's size is known from the digest, so this needs no I/O.
    """
    if not isinstance(digest, Digest):
        raise TypeError(f"expected a Digest, got {type(digest).__name__} {digest!r}")
    if not isinstance(rng, BlobRange):
        raise TypeError(f"range must be a BlobRange, got {type(rng).__name__} {rng!r}")
    size = digest.size_bytes
    if rng.is_out_of_span(size):
        raise RangeError(
            f"range {rng!r} is outside blob {digest} (size {size} bytes)",
            digest=digest, size=size, range=rng)
    return rng.resolve(size)
