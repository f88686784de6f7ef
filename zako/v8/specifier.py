"""Module specifiers: what an ``import`` names, classified before resolution.

``ModuleSpecifier.parse(text)`` sorts a specifier into one of four kinds:

- ``zako:<name>`` -> BUILTIN (``url`` is ``zako:<name>``)
- ``zako-memory:<name>`` or ``__zako_memory:<name>`` -> MEMORY (``url`` is
  always ``zako-memory:<name>``: both spellings name the same module)
- ``@<name>`` -> IMPORT_MAP (resolved through the loader's import map)
- ``file:`` URLs and paths (``./a.ts``, ``../b``, ``/abs/c.ts``, ``lib/d.ts``)
  -> FILE

Anything else (empty, whitespace-only, control characters, other URL
schemes such as ``http:`` or ``node:``, a scheme with an empty name) raises
``ModuleLoadError`` naming the text.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from .errors import ModuleLoadError

__all__ = ["ModuleType", "ModuleSpecifier"]

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*):")
_DRIVE = re.compile(r"^[A-Za-z]:[\\/]")
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*(/[A-Za-z0-9_][A-Za-z0-9_.\-]*)*$")
_MEMORY_PREFIXES = ("zako-memory:", "__zako_memory:")


class ModuleType(enum.Enum):
    FILE = "file"
    BUILTIN = "builtin"
    MEMORY = "memory"
    IMPORT_MAP = "import_map"


@dataclass(frozen=True, slots=True)
class ModuleSpecifier:
    """A classified specifier. ``url`` is canonical for BUILTIN and MEMORY;
    for FILE it is the path or ``file:`` URL as written until a loader
    resolves it (then a ``file://`` URL of an absolute path)."""

    url: str
    module_type: ModuleType

    @classmethod
    def parse(cls, text: str) -> "ModuleSpecifier":
        """Classify ``text``; raises ``ModuleLoadError`` for a bad specifier."""
        if not isinstance(text, str):
            raise ModuleLoadError(f"module specifier must be a string, got {type(text).__name__}: {text!r}", specifier=repr(text))
        if not text or text.isspace():
            raise ModuleLoadError(f"empty module specifier {text!r}", specifier=text)
        if text != text.strip():
            raise ModuleLoadError(f"module specifier {text!r} has leading or trailing whitespace", specifier=text)
        if any(ord(c) < 0x20 or c == "\x7f" for c in text):
            raise ModuleLoadError(f"module specifier {text!r} contains a control character", specifier=text)

        for prefix in _MEMORY_PREFIXES:
            if text.startswith(prefix):
                name = text[len(prefix) :]
                cls._check_name(text, name, "memory module")
                return cls("zako-memory:" + name, ModuleType.MEMORY)
        if text.startswith("zako:"):
            name = text[5:]
            cls._check_name(text, name, "builtin module")
            return cls(text, ModuleType.BUILTIN)
        if text.startswith("@"):
            if len(text) == 1 or text[1] in "/\\":
                raise ModuleLoadError(f"import-map specifier {text!r} has no name after '@'", specifier=text)
            return cls(text, ModuleType.IMPORT_MAP)
        if text.startswith("file:"):
            if not text.startswith("file:///") and not text.startswith("file://localhost/"):
                raise ModuleLoadError(f"file URL {text!r} must be absolute (file:///...)", specifier=text)
            return cls(text, ModuleType.FILE)
        match = _SCHEME.match(text)
        if match and not _DRIVE.match(text):
            raise ModuleLoadError(
                f"unsupported URL scheme {match.group(1)!r} in module specifier {text!r} "
                "(use a path, file:, zako:, zako-memory: or an @import-map name)",
                specifier=text,
            )
        return cls(text, ModuleType.FILE)

    @staticmethod
    def _check_name(text: str, name: str, what: str) -> None:
        if not name:
            raise ModuleLoadError(f"{what} specifier {text!r} has an empty name", specifier=text)
        if not _NAME.match(name):
            raise ModuleLoadError(
                f"{what} specifier {text!r}: name {name!r} may use letters, digits, '_', '-', '.' and '/' separators",
                specifier=text,
            )

    @property
    def name(self) -> str:
        """The part after the scheme for BUILTIN/MEMORY, else the url."""
        if self.module_type is ModuleType.BUILTIN:
            return self.url[5:]
        if self.module_type is ModuleType.MEMORY:
            return self.url[len("zako-memory:") :]
        return self.url

    def __str__(self) -> str:
        return self.url
