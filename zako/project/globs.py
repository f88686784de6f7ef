"""Host-side expansion of ``srcs`` globs after a build file ran.

A build file says *what* it wants (``glob(["src/**/*.ts"], {exclude: [...]})``);
the host decides *what exists*, so evaluation results stay cacheable and the
file system is read once per package, not once per pattern.

Pattern language (relative to the package directory, ``/`` separated):

- ``*`` any run of characters inside one path component, ``?`` one
  character, ``[abc]`` / ``[!abc]`` a character class;
- ``**`` as a whole component: zero or more directories;
- ``{a,b}`` alternatives (may nest).

Wildcards never match a leading ``.`` of a name (``*.ts`` skips
``.hidden.ts``); a literal ``.eslintrc`` does. The walk skips
``node_modules``, ``.git`` and every dot-directory, and stops at
subpackages (a directory with its own ``BUILD.ts``/``BUILD.js``): a glob
never leaves its package. Absolute patterns and patterns with ``..`` are
refused with ``GlobError``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from functools import lru_cache

from ..exceptions import ZakoError

__all__ = ["GlobError", "PackageFiles", "PackageListing", "compile_pattern", "expand_braces", "is_glob"]

BUILD_FILE_NAMES = ("BUILD.ts", "BUILD.js")
SKIPPED_DIR_NAMES = frozenset({"node_modules"})

_MAGIC = re.compile(r"[*?\[{]")


class GlobError(ZakoError, ValueError):
    """A pattern is malformed or would leave its package. Names the pattern."""


def is_glob(pattern: str) -> bool:
    return _MAGIC.search(pattern) is not None


def expand_braces(pattern: str) -> list[str]:
    """``"a.{ts,js}"`` -> ``["a.ts", "a.js"]``; nested braces expand fully.
    An unbalanced brace raises ``GlobError``."""
    depth = 0
    start = -1
    for i, ch in enumerate(pattern):
        if ch == "{":
            if depth == 0:
                start = i
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth < 0:
                raise GlobError(f"unbalanced '}}' in glob pattern {pattern!r}")
            if depth == 0:
                head, body, tail = pattern[:start], pattern[start + 1 : i], pattern[i + 1 :]
                alternatives = _split_top_level(body)
                out: list[str] = []
                for alt in alternatives:
                    out.extend(expand_braces(head + alt + tail))
                return out
    if depth:
        raise GlobError(f"unbalanced '{{' in glob pattern {pattern!r}")
    return [pattern]


def _split_top_level(body: str) -> list[str]:
    parts, depth, current = [], 0, []
    for ch in body:
        if ch == "," and depth == 0:
            parts.append("".join(current))
            current = []
            continue
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        current.append(ch)
    parts.append("".join(current))
    return parts


def _check_pattern(pattern: object) -> str:
    if not isinstance(pattern, str):
        raise GlobError(f"a glob pattern must be a string, got {pattern!r}")
    if not pattern:
        raise GlobError("empty glob pattern")
    if pattern.startswith(("/", "\\")) or re.match(r"[A-Za-z]:", pattern):
        raise GlobError(f"glob pattern {pattern!r} is absolute: patterns are relative to the package directory")
    if "\\" in pattern:
        raise GlobError(f"glob pattern {pattern!r} uses '\\': write '/' as the separator")
    for part in pattern.split("/"):
        if part == "..":
            raise GlobError(f"glob pattern {pattern!r} leaves its package ('..'): a glob never leaves its package")
    return pattern


def _component_regex(part: str, pattern: str) -> str:
    out: list[str] = []
    if part[:1] in ("*", "?", "["):
        out.append(r"(?!\.)")  # wildcards do not match hidden names
    i, n = 0, len(part)
    while i < n:
        ch = part[i]
        if ch == "*":
            out.append(r"[^/]*")
            while i + 1 < n and part[i + 1] == "*":  # "a**b" is just "a*b"
                i += 1
        elif ch == "?":
            out.append(r"[^/]")
        elif ch == "[":
            j = part.find("]", i + 2 if part[i + 1 : i + 2] in ("!", "^") else i + 1)
            if j < 0:
                raise GlobError(f"unclosed '[' in glob pattern {pattern!r}")
            body = part[i + 1 : j]
            negate = body[:1] in ("!", "^")
            if negate:
                body = body[1:]
            body = body.replace("\\", "\\\\")
            out.append(f"[^/{body}]" if negate else f"[{body}]")
            i = j
        else:
            out.append(re.escape(ch))
        i += 1
    return "".join(out)


@lru_cache(maxsize=4096)
def compile_pattern(pattern: str) -> re.Pattern[str]:
    """One glob pattern (braces allowed) -> a compiled regex over
    package-relative ``/`` paths. Raises ``GlobError``; cached."""
    _check_pattern(pattern)
    alternatives = []
    for alt in expand_braces(pattern):
        _check_pattern(alt)
        parts = [p for p in alt.split("/") if p not in ("", ".")]
        if not parts:
            raise GlobError(f"glob pattern {pattern!r} names the package directory itself, not files")
        pieces: list[str] = []
        for k, part in enumerate(parts):
            last = k == len(parts) - 1
            if part == "**":
                # Zero or more directories; as the last component, any file below.
                pieces.append(r"(?:[^/]+/)*(?!\.)[^/]+" if last else r"(?:[^/]+/)*")
            else:
                pieces.append(_component_regex(part, pattern) + ("" if last else "/"))
        alternatives.append("".join(pieces))
    return re.compile("(?:" + "|".join(alternatives) + r")\Z")


class PackageListing:
    """What discovery saw of one package's files, so the package's globs
    need no second walk of its directories: ``files`` (package-relative
    ``/`` paths, in walk order) and ``links`` (those of them that are
    symlinks). Same rules as ``PackageFiles``'s own walk."""

    __slots__ = ("files", "links")

    def __init__(self) -> None:
        self.files: list[str] = []
        self.links: list[str] = []


class PackageFiles:
    """The files of one package directory, listed once, matched many times.

    ``root`` is the absolute package directory. The listing skips
    ``node_modules``, ``.git`` and dot-directories and does not descend into
    subpackages; symlinked directories are not followed (a glob must not
    reach outside the project through a link). With ``project_root``, a
    file that is a symlink is resolved, and one whose real path lies
    outside the (real) project root is refused when a src names it or a
    glob matches it, like an import through such a link. ``listing``: the
    package's files as discovery already saw them (``PackageListing``),
    instead of walking again. Cost: one ``scandir`` per directory, on first
    use (none with ``listing``), plus one ``realpath`` per symlinked file.
    """

    __slots__ = ("root", "project_root", "_files", "_file_set", "_outside")

    def __init__(self, root: str, project_root: str | None = None, *, listing: PackageListing | None = None) -> None:
        self.root = root
        self.project_root = _real_root(project_root) if project_root is not None else None
        self._files: list[str] | None = None
        self._file_set: frozenset[str] | None = None
        self._outside: dict[str, str] = {}  # package-relative link -> its real path outside the root
        if listing is not None:
            self._files = sorted(listing.files)
            if self.project_root is not None:
                for rel in listing.links:
                    self._check_link(rel, os.path.join(root, *rel.split("/")))

    @property
    def files(self) -> list[str]:
        """Package-relative ``/`` paths of every file, sorted."""
        if self._files is None:
            out: list[str] = []
            self._walk(self.root, "", out, top=True)
            out.sort()
            self._files = out
        return self._files

    def _walk(self, directory: str, prefix: str, out: list[str], top: bool) -> None:
        try:
            entries = list(os.scandir(directory))
        except FileNotFoundError:
            return
        if not top and any(e.name in BUILD_FILE_NAMES and e.is_file() for e in entries):
            return  # a subpackage: its files are its own
        for entry in entries:
            name = entry.name
            if entry.is_dir(follow_symlinks=False):
                if name.startswith(".") or name in SKIPPED_DIR_NAMES:
                    continue
                self._walk(entry.path, prefix + name + "/", out, top=False)
            elif entry.is_file():
                if self.project_root is not None and entry.is_symlink():
                    self._check_link(prefix + name, entry.path)
                out.append(prefix + name)

    def _check_link(self, rel: str, path: str) -> None:
        real = os.path.realpath(path)
        if not _inside(real, self.project_root):
            self._outside[rel] = real

    def contains(self, rel: str) -> bool:
        """True if ``rel`` (package-relative) is a file of this package."""
        if self._file_set is None:
            self._file_set = frozenset(self.files)
        return rel in self._file_set

    def outside_link(self, rel: str) -> str | None:
        """The message refusing ``rel`` when it is a link to a file outside
        the project root, else None."""
        if self._files is None:
            self.files
        real = self._outside.get(rel)
        if real is None:
            return None
        return f"{rel!r} is a link to {real!r}, outside the project root {self.project_root!r}; srcs must stay inside the root"

    def expand(self, include: Sequence[str], exclude: Iterable[str] = ()) -> list[str]:
        """Package-relative paths matching any ``include`` and no ``exclude``,
        sorted and without duplicates. Raises ``GlobError`` for a bad pattern
        or a match that links outside the project root."""
        if isinstance(include, str):
            include = [include]
        inc, exc = _matcher(tuple(include), tuple(exclude))
        if inc is None:
            return []
        files = self.files
        if exc is None:
            out = [rel for rel in files if inc(rel)]
        else:
            out = [rel for rel in files if inc(rel) and not exc(rel)]
        if self._outside:
            for rel in out:
                refusal = self.outside_link(rel)
                if refusal is not None:
                    raise GlobError(refusal)
        return out


def _matcher(include: tuple, exclude: tuple):
    """(include match, exclude match or None) for one pattern set; include
    match is None when there are no include patterns. A package's patterns
    are mostly the same few sets across a tree: each set is compiled once
    into one regex per side, so a file costs one match per side."""
    try:
        return _matcher_cached(include, exclude)
    except TypeError:  # an unhashable non-string pattern: report it as such
        for p in include + exclude:
            if isinstance(p, str):
                compile_pattern(p)
            else:
                _check_pattern(p)
        raise


@lru_cache(maxsize=1024)
def _matcher_cached(include: tuple, exclude: tuple):
    # Compile every pattern first, includes then excludes: the first bad
    # one is the one reported, as when each was compiled on its own.
    inc = [compile_pattern(p) for p in include]
    exc = [compile_pattern(p) for p in exclude]
    return (_union(inc) if inc else None), (_union(exc) if exc else None)


def _union(patterns: list[re.Pattern[str]]):
    if len(patterns) == 1:
        return patterns[0].match
    # Each source is "(?:...)\Z": anchored on its own, so the union is exact.
    return re.compile("|".join(dict.fromkeys(p.pattern for p in patterns))).match


@lru_cache(maxsize=64)
def _real_root(root: str) -> str:
    return os.path.realpath(root)


def _inside(real: str, root: str) -> bool:
    return real == root or real.startswith(root if root.endswith(os.sep) else root + os.sep)
