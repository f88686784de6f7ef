"""Finding the packages of a project: every directory with a build file.

The walk starts at the project root, skips ``node_modules``, ``.git`` and
every dot-directory, and does not follow symlinked directories (a link
cycle must not hang discovery, and a package must live inside the root).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from .errors import Problem
from .globs import BUILD_FILE_NAMES, SKIPPED_DIR_NAMES, GlobError, PackageListing, compile_pattern, expand_braces
from .manifest import find_manifest

__all__ = ["PackageEntry", "ProjectLayout", "discover", "PACKAGE_SCRIPT_NAMES", "select_packages", "match_files",
           "pattern_matcher"]

PACKAGE_SCRIPT_NAMES = ("zako.ts", "zako.js")


@dataclass(frozen=True, slots=True)
class PackageEntry:
    """``path`` is the package's root-relative ``/`` path (``"."`` = root);
    ``build_file`` is the root-relative path of its ``BUILD.ts``/``BUILD.js``."""

    path: str
    build_file: str
    # The build file is a regular file, not a symlink (its directory, found
    # by a walk that follows no links, is where it seems): its module
    # resolution observation is then known without another look.
    build_file_plain: bool = False


@dataclass(frozen=True)
class ProjectLayout:
    root: str  # absolute
    manifest: str  # "zako.toml" | "zako.json"
    package_script: str | None  # "zako.ts" | "zako.js" | None
    packages: list[PackageEntry]  # sorted by path
    problems: list[Problem]
    # With ``discover(list_files=True)``: package path -> its files as the
    # walk saw them (None where the walk cannot stand in for the package's
    # own listing: an unreadable directory, a directory named like a build
    # file). Taken out by ``take_listing``.
    listings: dict[str, PackageListing | None] = field(default_factory=dict)

    def take_listing(self, path: str) -> PackageListing | None:
        """The listing of package ``path``, handed out once (a large tree's
        listings are freed as their packages are built), else None."""
        return self.listings.pop(path, None)


def _rel(prefix: str, name: str) -> str:
    return f"{prefix}/{name}" if prefix != "." else name


def discover(root: str, *, list_files: bool = False, skip_dirs: Iterable[str] = ()) -> ProjectLayout:
    """Walk ``root`` and list its packages, sorted by path.

    Raises ``ManifestError`` when the root has no (or two) manifests.
    Layout problems (a directory with both ``BUILD.ts`` and ``BUILD.js``,
    two package scripts, an unreadable directory) are returned, not
    raised, so ``--keep-going`` can report them with the rest. With
    ``list_files``, the walk also records each package's files
    (``ProjectLayout.listings``): the same walk ``PackageFiles`` would do
    again per package. ``skip_dirs``: root-relative directories not walked
    (the projects of ``{path}`` dependencies inside this one: they load as
    their own roots). Cost: one ``scandir`` per directory, plus a ``stat``
    per symlink when listing files.
    """
    root = os.path.abspath(root)
    skipped = {os.path.normpath(d).replace(os.sep, "/") for d in skip_dirs}
    manifest = find_manifest(root)
    problems: list[Problem] = []
    scripts = [n for n in PACKAGE_SCRIPT_NAMES if os.path.isfile(os.path.join(root, n))]
    if len(scripts) > 1:
        problems.append(Problem("layout", scripts[1], None, "both zako.ts and zako.js exist: keep one package script"))
    packages: list[PackageEntry] = []
    listings: dict[str, PackageListing | None] = {}
    # (directory, root-relative path, owning package or None, path inside it)
    stack: list[tuple[str, str, str | None, str]] = [(root, ".", None, "")]
    while stack:
        directory, rel, owner, inner = stack.pop()
        try:
            with os.scandir(directory) as it:
                entries = list(it)
        except OSError as e:
            problems.append(Problem("layout", rel, None, f"cannot read directory: {e.strerror or e}"))
            if owner is not None:
                listings[owner] = None  # the package's own walk decides what this means
            continue
        builds = []
        linked_builds = set()
        subdirs = []
        others = []
        odd_dir = False
        for entry in entries:
            name = entry.name
            if name in BUILD_FILE_NAMES:
                if entry.is_file():
                    builds.append(name)
                    others.append(entry)
                    if entry.is_symlink():
                        linked_builds.add(name)
                elif entry.is_dir(follow_symlinks=False):
                    odd_dir = True  # not walked here, yet a glob walk would enter it
            elif entry.is_dir(follow_symlinks=False):
                if name.startswith(".") or name in SKIPPED_DIR_NAMES or (skipped and _rel(rel, name) in skipped):
                    continue
                subdirs.append(entry)
            elif list_files:
                others.append(entry)
        if builds:
            builds.sort(reverse=True)  # BUILD.ts before BUILD.js
            if len(builds) > 1:
                problems.append(
                    Problem(
                        "layout",
                        _rel(rel, builds[1]),
                        None,
                        f"package {rel!r} has both BUILD.ts and BUILD.js: keep one",
                        package=rel,
                    )
                )
            packages.append(PackageEntry(rel, _rel(rel, builds[0]), builds[0] not in linked_builds))
            if list_files:
                owner, inner = rel, ""
                listings[rel] = PackageListing()
        for entry in subdirs:
            stack.append((entry.path, _rel(rel, entry.name), owner, inner + entry.name + "/"))
        if owner is None:
            continue
        listing = listings[owner]
        if listing is None:
            continue
        if odd_dir:
            listings[owner] = None
            continue
        files, links = listing.files, listing.links
        for entry in others:
            if entry.is_file():
                files.append(inner + entry.name)
                if entry.is_symlink():
                    links.append(inner + entry.name)
    packages.sort(key=lambda p: p.path)
    return ProjectLayout(root, manifest, scripts[0] if scripts else None, packages, problems, listings)


# --- the manifest's patterns ---------------------------------------------------------


def pattern_matcher(pattern: dict[str, list[str]]) -> Callable[[str], bool]:
    """``match(rel)`` for a manifest pattern ``{include, exclude}`` over
    root-relative paths (``"."`` is the root, matched by ``"."`` and
    ``**``). Globs as in
    ``zako.project.globs``; a malformed one raises ``GlobError``."""

    def compile_all(globs: list[str]) -> list[re.Pattern[str]]:
        out = []
        for g in globs:
            for alt in expand_braces(g):
                alt = alt.rstrip("/") or "."
                # "**" is zero or more directories: the root too
                if alt in (".", "**"):
                    out.append(re.compile(r"\."))
                if alt != ".":
                    out.append(compile_pattern(alt))
        return out

    include = compile_all(pattern.get("include") or [])
    exclude = compile_all(pattern.get("exclude") or [])

    def hit(regexes: list[re.Pattern[str]], rel: str) -> bool:
        return any(r.fullmatch(rel) for r in regexes)

    return lambda rel: hit(include, rel) and not hit(exclude, rel)


def select_packages(layout: ProjectLayout, builds: dict[str, list[str]]) -> list[PackageEntry]:
    """The packages the manifest's (or package script's) ``builds`` pattern
    selects, as the original Zako discovers them: each matched directory
    holding a build file. ``GlobError`` for a malformed pattern."""
    match = pattern_matcher(builds)
    return [p for p in layout.packages if match(p.path)]


def match_files(root: str, pattern: dict[str, list[str]], suffixes: tuple[str, ...],
                skip_dirs: Iterable[str] = ()) -> list[str]:
    """Root-relative paths of the files under ``root`` that ``pattern``
    matches and whose names end in one of ``suffixes`` (``.rule.ts``...),
    sorted. Skips what discovery skips; follows no directory links."""
    match = pattern_matcher(pattern)
    skipped = {os.path.normpath(d).replace(os.sep, "/") for d in skip_dirs}
    out = []
    stack = [(os.path.abspath(root), ".")]
    while stack:
        directory, rel = stack.pop()
        try:
            with os.scandir(directory) as it:
                entries = list(it)
        except OSError:
            continue
        for entry in entries:
            path = _rel(rel, entry.name)
            if entry.is_dir(follow_symlinks=False):
                if not (entry.name.startswith(".") or entry.name in SKIPPED_DIR_NAMES or path in skipped):
                    stack.append((entry.path, path))
            elif entry.name.endswith(suffixes) and len(entry.name) > min(map(len, suffixes)) and entry.is_file():
                if match(path):
                    out.append(path)
    out.sort()
    return out
