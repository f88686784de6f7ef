"""Neutral-path normalization for the project layer.

Uses ``zako.path.NeutralPath`` (DESIGN section 2). Until that layer is
present in a checkout, a local implementation of the same rules stands in,
raising the same shared ``PathError`` classes, so ``zako load`` never
depends on the order in which layers land.
"""

from __future__ import annotations

import re

from ..exceptions import EmptyPathError, InvalidCharacterError, InvalidFormatError, PathIsAbsoluteError

__all__ = ["neutral_path"]

try:  # pragma: no branch
    from ..path import NeutralPath as _NeutralPath
except ImportError:  # pragma: no cover - exercised only in a partial checkout
    _NeutralPath = None

_FORBIDDEN = re.compile(r"[\x00-\x1f<>:\"|?*'`$]")
_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10)),
             "COM\u00b9", "COM\u00b2", "COM\u00b3", "LPT\u00b9", "LPT\u00b2", "LPT\u00b3"}


def _local_normalize(text: str) -> str:
    if text == "":
        raise EmptyPathError("the empty string is not a path")
    if text[0] in "/\\" or (len(text) >= 2 and text[1] == ":" and text[0].isascii() and text[0].isalpha()):
        raise PathIsAbsoluteError(f"path {text!r} is absolute; a neutral path is relative")
    kept: list[str] = []
    for part in re.split(r"[/\\]", text):
        if part in ("", "."):
            continue
        if part == "..":
            if kept and kept[-1] != "..":
                kept.pop()
            else:
                kept.append("..")
            continue
        m = _FORBIDDEN.search(part)
        if m:
            raise InvalidCharacterError(f"part {part!r} of path {text!r} holds the forbidden character {m.group()!r}")
        if part.endswith((" ", ".")):
            raise InvalidFormatError(f"part {part!r} of path {text!r} ends with a space or a dot")
        if part.split(".", 1)[0].upper() in _RESERVED:
            raise InvalidFormatError(f"part {part!r} of path {text!r} is a Windows reserved name")
        kept.append(part)
    return "/".join(kept) or "."


def neutral_path(text: str) -> str:
    """The normalized neutral-path text of ``text``; raises ``PathError``."""
    if _NeutralPath is not None:
        return str(_NeutralPath(text))
    return _local_normalize(text)
