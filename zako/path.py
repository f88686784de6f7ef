"""Neutral paths: normalized, relative, cross-platform (DESIGN.md section 2).

``NeutralPath`` holds the text the ``normpath`` kernel (whichever
implementation ``zako._impl`` selected) produced: ``/`` separators, no empty
or ``.`` parts, ``..`` only as a leading run, ``.`` for the empty path. The
validation rules and the lexical meaning of ``relative``/``is_in_dir`` are
documented once, in ``zako.pure.normpath``.

A ``NeutralPath`` is one slotted object around one ``str``. Results of path
algebra on already-valid paths (``parent``, ``join`` of a ``NeutralPath``,
``relative_to``) are built with a private constructor that does not validate
again; only text from outside goes through the kernel's checks.

``InternedNeutralPath`` and ``InternedAbsolutePath`` are interner keys
(``int`` subclasses, so they pack into ``uint32`` arrays and cost nothing to
pass around), typed by what the key names.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import TYPE_CHECKING

from ._impl import kernel
from .exceptions import EmptyPathError, PathError

if TYPE_CHECKING:
    from .intern import Interner

__all__ = ["NeutralPath", "InternedNeutralPath", "InternedAbsolutePath", "is_absolute_path"]

_normpath = kernel("normpath")
_normalize = _normpath.normalize
_relative = _normpath.relative
_is_in_dir = _normpath.is_in_dir


class NeutralPath:
    """A normalized relative path. ``NeutralPath(text)`` validates ``text``.

    Raises ``EmptyPathError``, ``PathIsAbsoluteError``,
    ``InvalidCharacterError``, ``InvalidFormatError`` (all ``PathError``,
    a ``ValueError``) and ``TypeError`` for a non-str. Immutable and
    hashable; equal only to another ``NeutralPath`` with the same text (never
    to a ``str``); ordered by text, so a sorted list sorts like its ``str``s.
    """

    __slots__ = ("_text",)
    _text: str

    def __new__(cls, text: "str | NeutralPath") -> "NeutralPath":
        if type(text) is str:  # the common case first: one type check
            self = _object_new(cls)
            _set_text(self, _normalize(text))
            return self
        if isinstance(text, NeutralPath):
            if type(text) is cls:
                return text
            text = text._text
        self = _object_new(cls)
        _set_text(self, _normalize(text))
        return self

    @classmethod
    def from_path(cls, path: "str | os.PathLike[str] | NeutralPath") -> "NeutralPath":
        """A neutral path from OS path text (``\\`` or ``/``) or a relative ``os.PathLike``."""
        if isinstance(path, os.PathLike) and not isinstance(path, NeutralPath):
            path = os.fspath(path)
            if isinstance(path, bytes):
                raise TypeError(f"a neutral path is text, got bytes path {path!r}")
        return cls(path)

    @classmethod
    def dot(cls) -> "NeutralPath":
        """The shared ``"."`` instance (the empty relative path)."""
        return _DOT

    # -- value behaviour --------------------------------------------------

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"NeutralPath is immutable (cannot set {name!r} on {self!r})")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"NeutralPath is immutable (cannot delete {name!r} of {self!r})")

    def __reduce__(self):
        return (NeutralPath, (self._text,))

    def __str__(self) -> str:
        return self._text

    def __repr__(self) -> str:
        return f"NeutralPath({self._text!r})"

    def __hash__(self) -> int:
        return hash(self._text)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, NeutralPath):
            return self._text == other._text
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        if isinstance(other, NeutralPath):
            return self._text != other._text
        return NotImplemented

    def __lt__(self, other: object) -> bool:
        if isinstance(other, NeutralPath):
            return self._text < other._text
        return NotImplemented

    def __le__(self, other: object) -> bool:
        if isinstance(other, NeutralPath):
            return self._text <= other._text
        return NotImplemented

    def __gt__(self, other: object) -> bool:
        if isinstance(other, NeutralPath):
            return self._text > other._text
        return NotImplemented

    def __ge__(self, other: object) -> bool:
        if isinstance(other, NeutralPath):
            return self._text >= other._text
        return NotImplemented

    # -- structure --------------------------------------------------------

    @property
    def parts(self) -> tuple[str, ...]:
        """The parts; ``()`` for ``.``."""
        return () if self._text == "." else tuple(self._text.split("/"))

    def is_dot(self) -> bool:
        return self._text == "."

    def parent(self) -> "NeutralPath":
        """The containing directory: ``a/b``->``a``, ``a``->``.``, ``.``->``..``, ``..``->``../..``."""
        t = self._text
        if t == ".":
            return _DOTDOT
        if t == ".." or t.endswith("/.."):
            return _trusted(t + "/..")
        cut = t.rfind("/")
        return _DOT if cut < 0 else _trusted(t[:cut])

    def filename(self) -> str | None:
        """The last part, or None when there is no name (``.``, ``..``, ``../..``)."""
        t = self._text
        if t == "." or t == ".." or t.endswith("/.."):
            return None
        return t[t.rfind("/") + 1 :]

    def extname(self) -> str | None:
        """Text after the last dot of the filename, without the dot.

        None when the filename has no dot, when its only dot is its first
        character (``.bashrc``), or when there is no filename.
        ``archive.tar.gz`` -> ``gz``; ``..foo`` -> ``foo``.
        """
        name = self.filename()
        if name is None:
            return None
        dot = name.rfind(".")
        return None if dot <= 0 else name[dot + 1 :]

    # -- algebra ------------------------------------------------------------

    def join(self, part: "str | NeutralPath") -> "NeutralPath":
        """``self`` followed by ``part``, normalized (``a/b`` + ``../../../c`` = ``../c``).

        ``part`` is validated like ``NeutralPath(part)`` first, so an error
        names the part: an absolute part raises ``PathIsAbsoluteError``.
        """
        if isinstance(part, NeutralPath):
            p = part._text
        else:
            try:
                p = _normalize(part)
            except PathError as exc:
                raise type(exc)(f"cannot join {part!r} onto {self!r}: {exc}") from None
        t = self._text
        if p == ".":
            return self
        if t == ".":
            return _trusted(p)
        if p.startswith(".."):
            # Only a leading ".." run can fold into self; both sides are valid,
            # so folding needs no new checks.
            return _trusted(_normalize(f"{t}/{p}", False))
        return _trusted(f"{t}/{p}")

    __truediv__ = join

    def join_all(self, parts: Iterable["str | NeutralPath"]) -> "NeutralPath":
        """``self.join(p1).join(p2)...``; the first invalid part raises."""
        out = self
        for part in parts:
            out = out.join(part)
        return out

    def relative_to(self, other: "str | NeutralPath") -> "NeutralPath | None":
        """The path from ``self`` (taken as a directory) to ``other``.

        Like ``posixpath.relpath(other, self)``: ``a`` -> ``a/b/c`` is
        ``b/c``, ``a/b`` -> ``a/c`` is ``../c``, ``.`` -> ``a`` is ``a``,
        ``a`` -> ``.`` is ``..``. None when it cannot be expressed without
        knowing a directory name neither path holds (``../a`` -> ``b``).
        """
        rel = _relative(self._text, _text_of(other))
        return None if rel is None else _trusted(rel)

    def is_in_dir(self, dir: "str | NeutralPath") -> bool:  # noqa: A002 - the contract's name
        """True when ``self`` is ``dir`` or below it (lexically; ``..foo`` is a name)."""
        return _is_in_dir(self._text, _text_of(dir))

    def intern(self, interner: "Interner") -> "InternedNeutralPath":
        """The interner key of this path's text (interning it if new)."""
        return _new_int(InternedNeutralPath, interner.get_or_intern(self._text))


_set_text = NeutralPath._text.__set__  # type: ignore[attr-defined]
_object_new = object.__new__


def _trusted(text: str) -> NeutralPath:
    # Private fast constructor: ``text`` is already a normalized neutral path.
    p = _object_new(NeutralPath)
    _set_text(p, text)
    return p


def _text_of(path: "str | NeutralPath") -> str:
    return path._text if isinstance(path, NeutralPath) else path


_DOT = _trusted(".")
_DOTDOT = _trusted("..")
_new_int = int.__new__


def _check_key(cls: type, key: int) -> int:
    if isinstance(key, bool) or not isinstance(key, int):
        raise TypeError(f"{cls.__name__} key must be an int, got {type(key).__name__} {key!r}")
    if key <= 0:
        raise ValueError(f"{cls.__name__} key must be >= 1 (0 names no string), got {key!r}")
    return key


class InternedNeutralPath(int):
    """Interner key of a ``NeutralPath``'s text. An ``int``: packs into numpy arrays."""

    __slots__ = ()

    def __new__(cls, key: int) -> "InternedNeutralPath":
        return _new_int(cls, _check_key(cls, key))

    @classmethod
    def new(cls, path: "str | NeutralPath", interner: "Interner") -> "InternedNeutralPath":
        """Validate ``path`` (as ``NeutralPath``) and intern its normalized text."""
        return NeutralPath(path).intern(interner)

    def resolve(self, interner: "Interner") -> str:
        """The path text (``UnknownKeyError`` for a key ``interner`` never handed out)."""
        return interner.resolve(int(self))

    def unintern(self, interner: "Interner") -> NeutralPath:
        """The ``NeutralPath``; ``PathError`` if the key names a non-normalized string."""
        text = interner.resolve(int(self))
        try:
            path = NeutralPath(text)
        except PathError as exc:
            raise type(exc)(f"key {int(self)} of interner {interner.id:#x} names {text!r}: {exc}") from None
        if path._text != text:
            raise PathError(
                f"key {int(self)} of interner {interner.id:#x} names {text!r}, "
                f"which is not normalized (would be {path._text!r})"
            )
        return path

    def __repr__(self) -> str:
        return f"InternedNeutralPath({int(self)})"


def is_absolute_path(text: str) -> bool:
    """True for a POSIX ``/…``, a Windows ``C:\\…``/``C:/…`` or a UNC ``\\\\server\\share…`` path.

    Drive-relative ``C:foo`` and rooted ``\\foo`` (relative to the current
    drive) are not absolute: they mean different files on different drives.
    """
    if not text:
        return False
    c0 = text[0]
    if c0 == "/":
        return True
    if len(text) >= 3 and text[1] == ":" and text[2] in "/\\" and c0.isascii() and c0.isalpha():
        return True
    if text[:2] in ("\\\\", "\\/"):
        # UNC: a server and a share after the two leading separators.
        rest = text[2:].replace("/", "\\").split("\\")
        return len(rest) >= 2 and rest[0] != "" and rest[1] != ""
    return False


class InternedAbsolutePath(int):
    """Interner key of an absolute OS path (POSIX, Windows drive, or UNC), kept verbatim."""

    __slots__ = ()

    def __new__(cls, key: int) -> "InternedAbsolutePath":
        return _new_int(cls, _check_key(cls, key))

    @classmethod
    def new(cls, path: "str | os.PathLike[str]", interner: "Interner") -> "InternedAbsolutePath":
        """Intern an absolute path's text as given.

        Raises ``EmptyPathError`` for ``""``, ``PathError`` for a relative
        (or drive-relative) path, ``TypeError`` for a non-text path.
        """
        text = os.fspath(path)
        if not isinstance(text, str):
            raise TypeError(f"an absolute path is text, got {type(text).__name__} {text!r}")
        if not text:
            raise EmptyPathError("the empty string is not a path")
        if not is_absolute_path(text):
            raise PathError(f"path {text!r} is not absolute (expected /..., C:\\... or \\\\server\\share...)")
        return _new_int(cls, interner.get_or_intern(text))

    @classmethod
    def from_interned(cls, key: int, interner: "Interner") -> "InternedAbsolutePath | None":
        """``key`` typed as an absolute path if the string it names is one, else None.

        An unknown key raises the interner's ``UnknownKeyError``.
        """
        key = _check_key(cls, key)
        return _new_int(cls, key) if is_absolute_path(interner.resolve(key)) else None

    def resolve(self, interner: "Interner") -> str:
        return interner.resolve(int(self))

    def unintern(self, interner: "Interner") -> str:
        """The path text, as it was given to ``new``."""
        return interner.resolve(int(self))

    def __repr__(self) -> str:
        return f"InternedAbsolutePath({int(self)})"
