"""Writing small project trees for load tests (``tests/`` is on sys.path)."""

from __future__ import annotations

import os
import textwrap

MANIFEST = 'group = "t"\nartifact = "t"\nversion = "1"\n'


def write_files(root, files: dict[str, str]) -> str:
    """Write ``{relative path: text}`` under ``root`` (text dedented); returns ``str(root)``."""
    for rel, text in files.items():
        path = os.path.join(root, *rel.split("/"))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(textwrap.dedent(text).lstrip("\n"))
    return str(root)


def make_project(root, files: dict[str, str], manifest: str | None = MANIFEST) -> str:
    """A project: ``zako.toml`` (unless ``manifest`` is None) plus ``files``."""
    return write_files(root, {"zako.toml": manifest, **files} if manifest is not None else files)
