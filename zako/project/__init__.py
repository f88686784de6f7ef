"""Loading a project: manifest, package discovery, labels, globs, caching,
and the orchestration that evaluates every build file through the V8 pool.

Heavy parts (``load``) are imported lazily so ``zako.project.labels`` etc.
stay cheap to import.
"""

from __future__ import annotations

from .._lazy import lazy_exports

_EXPORTS = {
    "Label": ".labels",
    "LabelError": ".labels",
    "GlobError": ".globs",
    "PackageFiles": ".globs",
    "Manifest": ".manifest",
    "read_manifest": ".manifest",
    "discover": ".discovery",
    "ProjectLayout": ".discovery",
    "Problem": ".errors",
    "LoadFailed": ".errors",
    "ManifestError": ".errors",
    "LoadResult": ".model",
    "load_project": ".load",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
