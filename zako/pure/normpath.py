"""Neutral-path normalization, pure-Python kernel (the readable reference).

Contract (DESIGN.md section 2), shared with ``zako._core.normpath``:

``normalize(text, check=True) -> str``
    ``""`` raises ``EmptyPathError``. Absolute input raises
    ``PathIsAbsoluteError``: a leading ``/`` or ``\\`` (so UNC
    ``\\\\server\\share`` too) or a drive prefix ``X:`` (one ASCII letter
    then ``:``, so drive-relative ``C:foo`` as well). The text is split on
    both ``/`` and ``\\``; empty and ``.`` parts are dropped; ``..`` removes
    the last kept part unless there is none or it is ``..`` itself, in which
    case it is kept (``..`` survives only as a leading run). Every other part
    is a *name*; with ``check`` each name is validated when it is met, in
    text order, even if a later ``..`` removes it again (``con/../a`` is
    refused: a build file that writes it has a bug we should report, and the
    answer never depends on what follows). Checks per name, in this order:

    1. no NUL or control character U+0001..U+001F and none of
       ``< > : " | ? * ' ` $`` -> ``InvalidCharacterError``;
    2. must not end with a space or a dot -> ``InvalidFormatError`` (so
       ``...`` is an invalid name, while ``..foo`` is a fine one);
    3. its stem (text before the first ``.``), ASCII case-insensitively, is
       not CON PRN AUX NUL COM1-9 LPT1-9 COM¹ COM² COM³ LPT¹ LPT² LPT³ ->
       ``InvalidFormatError``.

    Only exactly ``.`` and ``..`` are steps; anything else is a name. An
    empty result is ``"."``. ``check=False`` skips the name checks only (the
    empty/absolute checks and the folding still apply). Non-str input raises
    ``TypeError``. Cost: one pass over the text.

``normalize_many(texts) -> list[str]``
    ``normalize`` (with checks) of each text, in order; the first invalid
    text raises its error.

``relative(from_, to) -> str | None``
    Both are normalized (and validated) first. The path that leads from
    directory ``from_`` to ``to``, like ``posixpath.relpath(to, from_)``;
    ``None`` when it cannot be written without knowing a directory name the
    paths do not contain: after their common leading parts, ``from_`` still
    has a ``..`` to undo (``relative("../a", "b")``).

``is_in_dir(path, dir) -> bool``
    Both normalized (and validated) first. True when ``path`` is ``dir`` or
    below it, i.e. ``relative(dir, path)`` exists and does not climb: the
    parts of ``dir`` are a prefix of the parts of ``path`` and ``path`` has
    no more leading ``..`` than ``dir``. Purely lexical: ``a`` is not counted
    as inside ``..`` (that would need the name of the current directory), and
    ``..foo`` is a name, so it is inside ``.`` and not inside ``..``.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..exceptions import (
    EmptyPathError,
    InvalidCharacterError,
    InvalidFormatError,
    PathIsAbsoluteError,
)

__all__ = ["normalize", "normalize_many", "relative", "is_in_dir"]

_FORBIDDEN = frozenset("<>:\"|?*'`$" + "".join(map(chr, range(0x20))))
_RESERVED3 = frozenset({"CON", "PRN", "AUX", "NUL"})
_RESERVED_PREFIX = frozenset({"COM", "LPT"})
_RESERVED_DIGIT = frozenset("123456789\u00b9\u00b2\u00b3")
_ASCII_LETTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


def _is_reserved(part: str) -> bool:
    dot = part.find(".")
    stem = part if dot < 0 else part[:dot]
    if len(stem) == 3:
        # isascii() first: str.upper() maps some non-ASCII letters to ASCII.
        return stem.isascii() and stem.upper() in _RESERVED3
    if len(stem) == 4:
        head = stem[:3]
        return head.isascii() and head.upper() in _RESERVED_PREFIX and stem[3] in _RESERVED_DIGIT
    return False


def _check_part(part: str, text: str) -> None:
    for ch in part:
        if ch in _FORBIDDEN:
            raise InvalidCharacterError(
                f"path part {part!r} of {text!r} holds the forbidden character {ch!r}"
            )
    if part[-1] in " .":
        raise InvalidFormatError(f"path part {part!r} of {text!r} ends with a space or a dot")
    if _is_reserved(part):
        raise InvalidFormatError(f"path part {part!r} of {text!r} is a Windows reserved name")


def _check_relative(text: object) -> str:
    if type(text) is not str:
        if not isinstance(text, str):
            raise TypeError(f"a path is a str, got {type(text).__name__} {text!r}")
        text = str.__str__(text)  # the plain text, whatever the subclass's __str__ says
    if not text:
        raise EmptyPathError("the empty string is not a path")
    first = text[0]
    if first == "/" or first == "\\":
        raise PathIsAbsoluteError(f"path {text!r} is absolute (leading {first!r}); a neutral path is relative")
    if len(text) >= 2 and text[1] == ":" and first in _ASCII_LETTERS:
        raise PathIsAbsoluteError(
            f"path {text!r} is absolute (drive {text[:2]!r}); a neutral path is relative"
        )
    return text


def normalize(text: str, check: bool = True) -> str:
    """The neutral form of ``text``; see the module docstring for the rules."""
    text = _check_relative(text)
    kept: list[str] = []
    for part in text.replace("\\", "/").split("/"):
        if part == "" or part == ".":
            continue
        if part == "..":
            if kept and kept[-1] != "..":
                kept.pop()
            else:
                kept.append("..")
            continue
        if check:
            _check_part(part, text)
        kept.append(part)
    return "/".join(kept) if kept else "."


def normalize_many(texts: Iterable[str]) -> list[str]:
    """``normalize`` of each text (with checks), in order."""
    return [normalize(t) for t in texts]


def _parts(normalized: str) -> list[str]:
    return [] if normalized == "." else normalized.split("/")


def relative(from_: str, to: str) -> str | None:
    """Path from directory ``from_`` to ``to``, or None when inexpressible."""
    f = _parts(normalize(from_))
    t = _parts(normalize(to))
    common = 0
    for a, b in zip(f, t):
        if a != b:
            break
        common += 1
    rest = f[common:]
    if ".." in rest:
        return None
    out = [".."] * len(rest) + t[common:]
    return "/".join(out) if out else "."


def is_in_dir(path: str, dir: str) -> bool:  # noqa: A002 - the contract's name
    """True when ``path`` is ``dir`` itself or below it (lexically)."""
    p = _parts(normalize(path))
    d = _parts(normalize(dir))
    if len(d) > len(p) or p[: len(d)] != d:
        return False
    # The rest of p must not climb: a leading ".." beyond dir's own run.
    return len(p) == len(d) or p[len(d)] != ".."
