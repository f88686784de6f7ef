"""What the ES module transform produces: runnable code plus the module's
static import/export records, as plain immutable data.

A ``TransformResult`` does not depend on the file name (only on the source
and the TypeScript flag), so it can be cached by content digest and shared
between files with equal text. It round-trips through JSON bytes so a
content-addressed store can back the cache.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

__all__ = ["ModuleRequest", "ImportBinding", "ExportEntry", "TransformResult"]


@dataclass(frozen=True, slots=True)
class ModuleRequest:
    """One imported module, in first-appearance order.

    ``specifier`` is the text as written; ``attributes`` the import
    attributes (``with { type: "json" }``) as sorted ``(key, value)`` pairs;
    ``dynamic`` is true when only a literal ``import("...")`` asks for it
    (loaded up front, evaluated on demand). ``line``/``column`` are 1-based.
    """

    specifier: str
    attributes: tuple[tuple[str, str], ...] = ()
    line: int = 1
    column: int = 1
    dynamic: bool = False

    @property
    def is_json(self) -> bool:
        return ("type", "json") in self.attributes


@dataclass(frozen=True, slots=True)
class ImportBinding:
    """``local`` is bound to export ``imported`` of request ``request``
    (``imported == "*"`` for a namespace import)."""

    local: str
    request: int
    imported: str


@dataclass(frozen=True, slots=True)
class ExportEntry:
    """One exported name.

    Exactly one of: ``local`` (a binding of this module), or ``request`` with
    ``imported`` (re-export of another module's export; ``"*"`` re-exports
    its namespace object, as in ``export * as ns from``).
    """

    name: str
    local: str | None = None
    request: int | None = None
    imported: str | None = None


@dataclass(frozen=True, slots=True)
class TransformResult:
    """Transformed module.

    ``code`` is a JS expression evaluating to
    ``function (scope) -> async generator function (module_api)``: the
    generator registers its export getters, yields once (so every module of
    a graph is linked before any body runs, which makes cycles and hoisted
    functions behave as in ESM), then runs the module body. Line *n* of the
    source is line *n* of ``code``.
    """

    code: str
    requests: tuple[ModuleRequest, ...] = ()
    bindings: tuple[ImportBinding, ...] = ()
    exports: tuple[ExportEntry, ...] = ()
    star_exports: tuple[int, ...] = ()
    typescript: bool = False
    digest: str = field(default="", compare=False)

    @property
    def imports(self) -> tuple[str, ...]:
        """The imported specifiers as written, in first-appearance order."""
        return tuple(r.specifier for r in self.requests)

    def to_bytes(self) -> bytes:
        """Serialize (for an on-disk or CAS-backed cache)."""
        return json.dumps(
            {
                "code": self.code,
                "requests": [[r.specifier, [list(a) for a in r.attributes], r.line, r.column, r.dynamic] for r in self.requests],
                "bindings": [[b.local, b.request, b.imported] for b in self.bindings],
                "exports": [[e.name, e.local, e.request, e.imported] for e in self.exports],
                "star_exports": list(self.star_exports),
                "typescript": self.typescript,
                "digest": self.digest,
            },
            separators=(",", ":"),
        ).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> "TransformResult":
        """Inverse of ``to_bytes``; raises ``ValueError`` on malformed data."""
        try:
            d = json.loads(data)
            return cls(
                code=d["code"],
                requests=tuple(
                    ModuleRequest(s, tuple((k, v) for k, v in a), line, col, dyn) for s, a, line, col, dyn in d["requests"]
                ),
                bindings=tuple(ImportBinding(*b) for b in d["bindings"]),
                exports=tuple(ExportEntry(*e) for e in d["exports"]),
                star_exports=tuple(d["star_exports"]),
                typescript=bool(d["typescript"]),
                digest=d.get("digest", ""),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"malformed cached transform result: {exc}") from exc
