"""Problems found while loading a project, each pinned to ``file:line``.

Loading collects ``Problem`` records instead of raising at the first one,
so ``--keep-going`` can report all of them; ``LoadFailed`` carries the list
when loading stops.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..exceptions import ZakoError

__all__ = ["Problem", "LoadFailed", "ManifestError", "KINDS", "show_path", "escape_controls"]

# Every kind a problem can have; tests and the JSON report use these names.
KINDS = (
    "manifest",  # zako.toml / zako.json unreadable or invalid
    "layout",  # two build files in one directory, unreadable directory
    "script-error",  # a script threw (JS stack attached)
    "timeout",  # a script ran past the engine's time limit
    "engine",  # heap limit, deadlock, unconvertible result
    "module",  # an import could not be resolved or was refused
    "transpile",  # TypeScript/ESM syntax the transformer rejects
    "duplicate-target",
    "missing-dep",
    "bad-label",
    "bad-path",  # a src outside its package or the project, absolute, malformed, or missing
    "cycle",  # targets that depend on themselves, directly or through others
)


def show_path(path: str) -> str:
    """``path`` as printed in one-line messages: as it is when every
    character prints, else its ``repr``. A newline or an escape sequence in
    a file name must not split an error line or drive the terminal."""
    return path if path.isprintable() else repr(path)


_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def escape_controls(text: str) -> str:
    """``text`` with C0/C1 control characters written as ``repr`` escapes
    (``\\n``, ``\\x1b``), so a message always stays on its line."""
    if not _CONTROLS.search(text):
        return text
    return _CONTROLS.sub(lambda m: repr(m.group())[1:-1], text)


@dataclass(frozen=True, slots=True)
class Problem:
    """One error: ``file`` is root-relative (``/`` separated), ``line`` is
    1-based or None when no line applies; ``stack`` is the JS stack for
    throws."""

    kind: str
    file: str
    line: int | None
    message: str
    stack: str | None = None
    package: str | None = None

    def location(self) -> str:
        file = show_path(self.file)
        return f"{file}:{self.line}" if self.line else file

    def format(self, *, with_stack: bool = True) -> str:
        text = f"{self.location()}: error[{self.kind}]: {escape_controls(self.message)}"
        if with_stack and self.stack:
            stack = "\n".join("    " + escape_controls(line) for line in self.stack.strip().splitlines())
            text += "\n" + stack
        return text

    def to_json(self) -> dict:
        return {
            "kind": self.kind,
            "file": self.file,
            "line": self.line,
            "message": self.message,
            "stack": self.stack,
            "package": self.package,
        }


class ManifestError(ZakoError, ValueError):
    """The project manifest is missing or invalid; carries a ``Problem``."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        super().__init__(problem.format())


@dataclass(eq=False)
class LoadFailed(ZakoError):
    """Loading stopped with errors (the first one, or all with keep-going)."""

    problems: list[Problem] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__("\n".join(p.format() for p in self.problems) or "load failed")
