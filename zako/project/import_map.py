"""The project's import map: ``zako.imports.json`` at the project root.

The file has the shape of a web import map::

    {"imports": {"@defs/": "build_defs/", "@versions": "build_defs/versions.json"}}

Each key is an ``@name`` specifier (a key ending in ``/`` maps every
specifier with that prefix); each target is a root-relative path, a
``file:`` URL inside the root, or a ``zako:`` builtin -- what
``ModuleLoader(import_map=...)`` accepts. The file is optional. Its bytes
feed every cache key: a changed map can change what any import resolves to.
"""

from __future__ import annotations

import json
import os

from .errors import ManifestError, Problem

__all__ = ["IMPORT_MAP_NAME", "read_import_map"]

IMPORT_MAP_NAME = "zako.imports.json"


def read_import_map(root: str) -> tuple[dict[str, str] | None, bytes]:
    """``(map, raw bytes)`` of the import map of the project at ``root``,
    ``(None, b"")`` when there is none. Raises ``ManifestError`` (kind
    ``manifest``) naming the file and, where known, the line."""
    path = os.path.join(root, IMPORT_MAP_NAME)
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        return None, b""
    except OSError as e:
        raise ManifestError(Problem("manifest", IMPORT_MAP_NAME, None, f"cannot read the import map: {e.strerror or e}")) from None

    def fail(message: str, line: int | None = None) -> ManifestError:
        return ManifestError(Problem("manifest", IMPORT_MAP_NAME, line, message))

    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise fail(f"not UTF-8: {e}") from None
    except json.JSONDecodeError as e:
        raise fail(f"invalid JSON: {e.msg}", e.lineno) from None
    if not isinstance(data, dict) or set(data) - {"imports"}:
        raise fail('the import map must be an object with one field, "imports"')
    imports = data.get("imports", {})
    if not isinstance(imports, dict) or not all(isinstance(v, str) for v in imports.values()):
        raise fail('"imports" must map each "@name" to a path or zako: builtin (strings)')
    text = raw.decode("utf-8")
    from ..v8 import ModuleLoader
    from ..v8.errors import ModuleLoadError

    try:
        ModuleLoader(root, import_map=imports)  # the loader's own checks, reported here with a line
    except ModuleLoadError as e:
        needle = json.dumps(e.specifier) if e.specifier else None
        line = text.count("\n", 0, text.index(needle)) + 1 if needle and needle in text else None
        raise fail(str(e), line) from None
    return imports, raw
