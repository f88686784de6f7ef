"""Loading a project: manifest, package discovery, labels, globs, caching,
and the orchestration that evaluates every build file through the V8 pool.

Heavy parts (``load``) are imported lazily so ``zako.project.labels`` etc.
stay cheap to import.
"""

from __future__ import annotations

import importlib
from typing import Any

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


def __getattr__(name: str) -> Any:
    try:
        module = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'zako.project' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value
