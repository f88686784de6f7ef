"""ES module and TypeScript transform for mini-racer (which has no native
ES modules), with a digest-keyed cache.

``transform(source, filename=..., typescript=None)`` parses with
tree-sitter-typescript and returns a ``TransformResult``; it never caches.
``cached_transform`` adds the cache: an unchanged source costs one blake3
pass and no parse. ``parse_count()`` counts real parses (for tests and
stats). See ``docs/modules.md`` for the module model.
"""

from __future__ import annotations

import dataclasses

from ..errors import TranspileError
from .cache import BytesStore, MemoryTransformCache, StoreTransformCache, TransformCache, default_cache, transform_key
from .result import ExportEntry, ImportBinding, ModuleRequest, TransformResult
from .rewrite import parse_count, rewrite_module

__all__ = [
    "TRANSFORM_VERSION",
    "transform",
    "cached_transform",
    "is_typescript_filename",
    "parse_count",
    "TransformResult",
    "ModuleRequest",
    "ImportBinding",
    "ExportEntry",
    "TransformCache",
    "MemoryTransformCache",
    "StoreTransformCache",
    "BytesStore",
    "default_cache",
    "transform_key",
    "TranspileError",
]

# Bump whenever the output for a given input changes: it is part of the cache key.
TRANSFORM_VERSION = "8"

_TS_SUFFIXES = (".ts", ".mts", ".cts")


def is_typescript_filename(filename: str) -> bool:
    return filename.lower().endswith(_TS_SUFFIXES)


def transform(source: str, *, filename: str, typescript: bool | None = None) -> TransformResult:
    """Transform one ES module (JavaScript, or TypeScript when ``typescript``
    is true; ``None`` decides by the file name's extension).

    ``filename`` is used only in error messages. Raises ``TranspileError``
    naming file:line:col for syntax errors, TypeScript syntax in a JavaScript
    module, and the TypeScript features we do not generate code for (legacy
    decorators, ``export =``, ``import x = require()``). Cost: one tree-sitter parse plus one walk,
    linear in the source.
    """
    if not isinstance(source, str):
        raise TypeError(f"transform() needs source text (str), got {type(source).__name__} for {filename}")
    if typescript is None:
        typescript = is_typescript_filename(filename)
    return rewrite_module(source, filename=filename, typescript=bool(typescript))


def cached_transform(
    source: str,
    *,
    filename: str,
    typescript: bool | None = None,
    cache: TransformCache | None = None,
) -> TransformResult:
    """``transform`` through ``cache`` (the process-wide LRU when ``None``).

    Failures are not cached: a broken file is re-parsed (and re-reported)
    each time until it is fixed.
    """
    if typescript is None:
        typescript = is_typescript_filename(filename)
    if cache is None:
        cache = default_cache()
    key = transform_key(source, typescript=bool(typescript), version=TRANSFORM_VERSION)
    hit = cache.get(key)
    if hit is not None:
        return hit
    result = transform(source, filename=filename, typescript=typescript)
    result = dataclasses.replace(result, digest=key)
    cache.put(key, result)
    return result
