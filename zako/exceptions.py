"""Exceptions shared by both kernel sets.

Both ``zako._core`` and ``zako.pure`` raise these exact classes, so
``except zako.InternerError`` works whichever implementation is loaded.
"""

from __future__ import annotations

__all__ = [
    "ZakoError",
    "InternerError",
    "UnknownKeyError",
    "InternerFullError",
    "InternerTypeError",
    "InternerEncodingError",
    "InternerFileError",
    "PathError",
    "EmptyPathError",
    "PathIsAbsoluteError",
    "InvalidCharacterError",
    "InvalidFormatError",
    "ResourceError",
    "UnknownResourceError",
]


class ZakoError(Exception):
    """Base of every error zako raises on purpose."""


# --- interner -------------------------------------------------------------


class InternerError(ZakoError):
    """An interner operation failed. The message names the interner id."""


class UnknownKeyError(InternerError, KeyError):
    """``resolve`` of a key the interner never handed out."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class InternerFullError(InternerError, OverflowError):
    """Every key in ``1 .. max_keys`` is taken."""


class InternerTypeError(InternerError, TypeError):
    """A non-``str`` was given where a string is interned or looked up."""


class InternerEncodingError(InternerError, ValueError):
    """The string cannot be encoded as UTF-8 (a lone surrogate)."""


class InternerFileError(InternerError, ValueError):
    """A saved interner file is truncated, corrupted or of another format."""


# --- neutral paths ----------------------------------------------------------


class PathError(ZakoError, ValueError):
    """A path is not a valid neutral path. The message names part and input."""


class EmptyPathError(PathError):
    """The empty string is not a path."""


class PathIsAbsoluteError(PathError):
    """A neutral path is relative; this input is absolute (``/``, ``\\``, ``X:``)."""


class InvalidCharacterError(PathError):
    """A path part holds a forbidden or control character."""


class InvalidFormatError(PathError):
    """A path part ends with space/dot or is a Windows reserved name."""


# --- resources ----------------------------------------------------------------


class ResourceError(ZakoError):
    """A resource request can never be satisfied, or a grant was misused."""


class UnknownResourceError(ResourceError, KeyError):
    """A request names a resource that was never registered."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""
