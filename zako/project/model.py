"""The loaded target graph, kept compact.

Strings that repeat across a large tree (paths, labels, kinds, attribute
blobs) live once in the global interner; a target holds only keys. ``srcs``
and ``deps`` are numpy ``uint32`` key arrays (4 bytes per entry instead of a
Python ``str`` per entry), ``attrs`` is the key of its canonical JSON text,
so the many targets sharing the same attributes share one string.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["Target", "Package", "LoadResult", "canonical_json"]


def canonical_json(value: Any) -> str:
    """The one JSON text of a value (sorted keys, no spaces): equal values
    intern to one key and digest to one cache key."""
    return _CANONICAL.encode(value)


# One encoder for every call: ``json.dumps`` with these options builds a new
# encoder per call, which costs more than encoding a target's attributes.
# ``encode`` keeps no state between calls, so sharing it across threads is safe.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


class Target:
    """One declared target: interned ``label``/``kind``/``attrs`` keys,
    ``srcs`` (root-relative path keys, sorted by path) and ``deps`` (full
    label keys, declaration order, no duplicates) as ``uint32`` arrays;
    ``line`` is the 1-based line of its declaration when known."""

    __slots__ = ("label", "kind", "srcs", "deps", "attrs", "line")

    def __init__(self, label: int, kind: int, srcs: np.ndarray, deps: np.ndarray, attrs: int, line: int | None) -> None:
        self.label = label
        self.kind = kind
        self.srcs = srcs
        self.deps = deps
        self.attrs = attrs
        self.line = line

    def src_paths(self) -> list:
        """``srcs`` as ``InternedNeutralPath`` keys (the array holds exactly
        those keys: a path's key is the key of its normalized text)."""
        from ..path import InternedNeutralPath

        return [InternedNeutralPath(int(k)) for k in self.srcs]

    def to_json(self, interner: Any) -> dict[str, Any]:
        return {
            "label": interner.resolve(self.label),
            "kind": interner.resolve(self.kind),
            "srcs": interner.resolve_many(self.srcs) if len(self.srcs) else [],
            "deps": interner.resolve_many(self.deps) if len(self.deps) else [],
            "attrs": json.loads(interner.resolve(self.attrs)),
        }


class Package:
    """One package: ``path`` key (neutral path text, ``.`` = root), its build
    file (root-relative text), its targets sorted by label, and whether its
    evaluation came from the cache."""

    __slots__ = ("path", "build_file", "targets", "cached")

    def __init__(self, path: int, build_file: str, targets: tuple[Target, ...], cached: bool) -> None:
        self.path = path
        self.build_file = build_file
        self.targets = targets
        self.cached = cached

    def to_json(self, interner: Any) -> dict[str, Any]:
        return {"path": interner.resolve(self.path), "targets": [t.to_json(interner) for t in self.targets]}


@dataclass
class LoadResult:
    """What ``load_project`` returns: project fields after the package
    script, packages sorted by path, problems (empty on success unless
    loading kept going), and the run's statistics."""

    root: str
    project: dict[str, Any]
    packages: list[Package]
    problems: list = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)
    evaluated: list[str] = field(default_factory=list)  # package paths evaluated (not cached), sorted
    # What the rule / toolchain scripts the project's ``rules`` / ``toolchains``
    # patterns select declared: None when the project has no such pattern.
    rules: list[dict[str, Any]] | None = None
    toolchains: list[dict[str, Any]] | None = None
    # ``{path}`` dependencies loaded as their own roots, by name.
    dependencies: dict[str, "LoadResult"] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems

    def dependency_json(self, interner: Any) -> dict[str, Any]:
        """This result as a dependency of another project: its root, project
        and packages (labels as the dependency spells them, ``//pkg:name``)."""
        doc: dict[str, Any] = {"root": self.root, "project": self.project,
                               "packages": [p.to_json(interner) for p in self.packages]}
        if self.rules is not None:
            doc["rules"] = self.rules
        if self.toolchains is not None:
            doc["toolchains"] = self.toolchains
        return doc

    def to_json(self, interner: Any) -> dict[str, Any]:
        return {key: list(value) if key == "packages" else value for key, value in self.json_items(interner)}

    def json_items(self, interner: Any):
        """The document's (key, value) pairs in order, ``"packages"`` as an
        iterator of package documents made one at a time (a writer can then
        stream a large graph instead of holding all of it as dicts)."""
        yield "project", self.project
        yield "packages", (p.to_json(interner) for p in self.packages)
        if self.rules is not None:
            yield "rules", self.rules
        if self.toolchains is not None:
            yield "toolchains", self.toolchains
        if self.dependencies:
            yield "dependencies", {name: dep.dependency_json(interner) for name, dep in sorted(self.dependencies.items())}
        yield "stats", self.stats
        if self.problems:
            yield "errors", [p.to_json() for p in self.problems]
