"""The project manifest: ``zako.toml`` or ``zako.json`` at the project root.

Fields (all at the top level): ``group``, ``artifact``, ``version`` (strings,
required), ``description`` (string, optional), ``options`` (table/object,
optional). An unknown key is an error naming its line, so a typo never
passes silently. Having both files is an error too: which one wins would
be a guess.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from dataclasses import dataclass, field
from typing import Any

from .errors import ManifestError, Problem

__all__ = ["Manifest", "MANIFEST_NAMES", "find_manifest", "read_manifest"]

MANIFEST_NAMES = ("zako.toml", "zako.json")
_REQUIRED = ("group", "artifact", "version")
_OPTIONAL = ("description", "options")


@dataclass(frozen=True)
class Manifest:
    """A parsed manifest; ``raw`` is the file's bytes (they feed cache keys)."""

    file: str  # file name relative to the root: "zako.toml" or "zako.json"
    group: str
    artifact: str
    version: str
    description: str = ""
    options: dict[str, Any] = field(default_factory=dict)
    raw: bytes = b""

    def project_fields(self) -> dict[str, Any]:
        """What ``zako:project`` exposes before the package script runs."""
        return {
            "group": self.group,
            "artifact": self.artifact,
            "version": self.version,
            "description": self.description,
            "options": dict(self.options),
        }


def find_manifest(root: str) -> str:
    """The manifest's file name under ``root``; ``ManifestError`` if none or both."""
    present = [n for n in MANIFEST_NAMES if os.path.isfile(os.path.join(root, n))]
    if not present:
        raise ManifestError(
            Problem("manifest", ".", None, f"no zako.toml or zako.json in project root {root!r}")
        )
    if len(present) > 1:
        raise ManifestError(
            Problem("manifest", present[1], None, "both zako.toml and zako.json exist: keep one")
        )
    return present[0]


def _line_of_key(text: str, key: str) -> int | None:
    pattern = re.compile(r'^\s*"?' + re.escape(key) + r'"?\s*[=:]', re.MULTILINE)
    m = pattern.search(text)
    if m is None:
        m = re.compile(r'"' + re.escape(key) + r'"\s*:').search(text)
    return text.count("\n", 0, m.start()) + 1 if m else None


def read_manifest(root: str) -> Manifest:
    """Find, parse and validate the manifest of the project at ``root``.

    Raises ``ManifestError`` whose ``problem`` names the file and line.
    """
    name = find_manifest(root)
    path = os.path.join(root, name)
    with open(path, "rb") as f:
        raw = f.read()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ManifestError(Problem("manifest", name, None, f"not UTF-8: {e}")) from None
    try:
        if name.endswith(".toml"):
            data = tomllib.loads(text)
        else:
            data = json.loads(text)
    except tomllib.TOMLDecodeError as e:
        m = re.search(r"line (\d+)", str(e))
        raise ManifestError(Problem("manifest", name, int(m.group(1)) if m else None, f"invalid TOML: {e}")) from None
    except json.JSONDecodeError as e:
        raise ManifestError(Problem("manifest", name, e.lineno, f"invalid JSON: {e.msg}")) from None
    if not isinstance(data, dict):
        raise ManifestError(Problem("manifest", name, 1, "the manifest must be a table/object of fields"))

    def fail(key: str, message: str) -> ManifestError:
        return ManifestError(Problem("manifest", name, _line_of_key(text, key), message))

    for key in data:
        if key not in _REQUIRED and key not in _OPTIONAL:
            raise fail(key, f"unknown manifest field {key!r} (known: {', '.join(_REQUIRED + _OPTIONAL)})")
    for key in _REQUIRED:
        if key not in data:
            raise ManifestError(Problem("manifest", name, None, f"missing required field {key!r}"))
    for key in (*_REQUIRED, "description"):
        if key in data and not isinstance(data[key], str):
            raise fail(key, f"field {key!r} must be a string, got {data[key]!r}")
    for key in _REQUIRED:
        if not data[key].strip():
            raise fail(key, f"field {key!r} must not be empty")
    options = data.get("options", {})
    if not isinstance(options, dict):
        raise fail("options", f"field 'options' must be a table/object, got {options!r}")
    return Manifest(
        file=name,
        group=data["group"],
        artifact=data["artifact"],
        version=data["version"],
        description=data.get("description", ""),
        options=options,
        raw=raw,
    )
