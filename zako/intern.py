"""Interner front: the selected kernel's ``Interner`` and the typed wrappers.

``Interner`` is the class of whichever kernel ``zako._impl`` selected. Above
it, ``InternedString`` is the typed key (an ``int`` subclass, so it costs
nothing to pass around and packs into numpy arrays), and the protocols
``Internable`` / ``Resolvable`` / ``Uninternable`` let higher layers (paths,
labels) say how they move in and out of an interner.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, TypeVar, runtime_checkable

from ._impl import kernel

if TYPE_CHECKING:
    from .pure.interner import Interner
else:
    Interner = kernel("interner").Interner

__all__ = ["Interner", "InternedString", "Internable", "Resolvable", "Uninternable"]

T_co = TypeVar("T_co", covariant=True)


class InternedString(int):
    """A key handed out by an ``Interner``: nonzero, resolves to one string.

    It is an ``int`` (equal to, and hashing like, the plain key) so it packs
    into ``uint32`` arrays and costs nothing to pass around. It satisfies
    ``Resolvable`` and ``Uninternable`` (the rich form of a string is the str).
    """

    __slots__ = ()

    def __new__(cls, key: int) -> "InternedString":
        self = super().__new__(cls, key)
        if self <= 0:
            raise ValueError(f"an interned string key is >= 1, got {key!r}")
        return self

    @classmethod
    def new(cls, s: str, interner: Interner) -> "InternedString":
        """Intern ``s`` (errors as ``Interner.get_or_intern``)."""
        return cls(interner.get_or_intern(s))

    @classmethod
    def get(cls, s: str, interner: Interner) -> "InternedString | None":
        """The key of ``s`` if already interned, else None; never inserts."""
        key = interner.get(s)
        return None if key is None else cls(key)

    def resolve(self, interner: Interner) -> str:
        """The string (``UnknownKeyError`` if ``interner`` never handed this key out)."""
        return interner.resolve(int(self))

    def unintern(self, interner: Interner) -> str:
        return interner.resolve(int(self))

    def __repr__(self) -> str:
        return f"InternedString({int(self)})"


@runtime_checkable
class Internable(Protocol[T_co]):
    """A value that can be stored compactly in an interner."""

    def intern(self, interner: Interner) -> T_co: ...


@runtime_checkable
class Resolvable(Protocol):
    """An interned value that can give back its text."""

    def resolve(self, interner: Interner) -> str: ...


@runtime_checkable
class Uninternable(Protocol[T_co]):
    """An interned value that can give back its rich (un-interned) form."""

    def unintern(self, interner: Interner) -> T_co: ...
