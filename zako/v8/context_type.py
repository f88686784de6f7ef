"""Context types: what kind of script a file is, decided by its name, and
which ``zako:`` builtins it may import.

=========  ==================================  =================
type       file names                          builtins
=========  ==================================  =================
library    any other ``*.ts`` / ``*.js``       the common builtins
package    ``zako.ts`` / ``zako.js``           + zako:package (alias zako:project)
build      ``BUILD.ts`` / ``BUILD.js``         + zako:build
rule       ``*.rule.ts`` / ``*.rule.js``       + zako:rule
toolchain  ``*.toolchain.ts`` / ``.js``        + zako:toolchain
config     ``*.config.ts`` / ``.js``           + zako:config
=========  ==================================  =================

Every context may import the common builtins: ``zako:core``,
``zako:semver``, ``zako:console`` and ``zako:context``.
"""

from __future__ import annotations

import enum

__all__ = ["ContextType", "BUILTIN_NAMES", "COMMON_BUILTINS"]

# Every builtin module shipped in zako/v8/builtins.
BUILTIN_NAMES = ("core", "semver", "console", "context", "package", "project", "build", "rule", "toolchain", "config")
# What every context may import.
COMMON_BUILTINS = frozenset({"core", "semver", "console", "context"})


class ContextType(enum.Enum):
    LIBRARY = "library"
    PACKAGE = "package"
    BUILD = "build"
    RULE = "rule"
    TOOLCHAIN = "toolchain"
    CONFIG = "config"

    @property
    def allowed_builtins(self) -> frozenset[str]:
        """Builtin names (without ``zako:``) this context may import."""
        return _ALLOWED[self]

    @property
    def file_patterns(self) -> tuple[str, ...]:
        return _PATTERNS[self]

    @classmethod
    def for_filename(cls, filename: str) -> "ContextType":
        """The context type a file name implies (base name, case-sensitive as
        on Linux). Anything that is not one of the special names is a library."""
        base = filename.replace("\\", "/").rsplit("/", 1)[-1]
        if base in ("zako.ts", "zako.js"):
            return cls.PACKAGE
        if base in ("BUILD.ts", "BUILD.js"):
            return cls.BUILD
        for suffix, ctx in _SUFFIXES:
            if base.endswith(suffix) and len(base) > len(suffix):
                return ctx
        return cls.LIBRARY

    @classmethod
    def coerce(cls, value: "ContextType | str") -> "ContextType":
        """A ContextType, or its value/name as text ("build", "BUILD");
        ``TypeError``/``ValueError`` naming the value otherwise."""
        if isinstance(value, cls):
            return value
        if isinstance(value, str):
            try:
                return cls(value.lower())
            except ValueError:
                pass
            raise ValueError(f"unknown context type {value!r} (one of {', '.join(c.value for c in cls)})")
        raise TypeError(f"context_type must be a ContextType, got {value!r}")

    @classmethod
    def allowing(cls, builtin: str) -> list["ContextType"]:
        """The context types that may import ``zako:<builtin>``."""
        return [c for c in cls if builtin in c.allowed_builtins]


_SUFFIXES = (
    (".rule.ts", ContextType.RULE),
    (".rule.js", ContextType.RULE),
    (".toolchain.ts", ContextType.TOOLCHAIN),
    (".toolchain.js", ContextType.TOOLCHAIN),
    (".config.ts", ContextType.CONFIG),
    (".config.js", ContextType.CONFIG),
)

_ALLOWED = {
    ContextType.LIBRARY: COMMON_BUILTINS,
    ContextType.PACKAGE: COMMON_BUILTINS | {"package", "project"},
    ContextType.BUILD: COMMON_BUILTINS | {"build"},
    ContextType.RULE: COMMON_BUILTINS | {"rule"},
    ContextType.TOOLCHAIN: COMMON_BUILTINS | {"toolchain"},
    ContextType.CONFIG: COMMON_BUILTINS | {"config"},
}

_PATTERNS = {
    ContextType.LIBRARY: ("*.ts", "*.js"),
    ContextType.PACKAGE: ("zako.ts", "zako.js"),
    ContextType.BUILD: ("BUILD.ts", "BUILD.js"),
    ContextType.RULE: ("*.rule.ts", "*.rule.js"),
    ContextType.TOOLCHAIN: ("*.toolchain.ts", "*.toolchain.js"),
    ContextType.CONFIG: ("*.config.ts", "*.config.js"),
}
