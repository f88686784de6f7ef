"""V8 layer over mini-racer: engine, results and errors, module specifiers,
the module loader and context types.

Names are resolved lazily so that importing ``zako.v8`` for one name does
not pay for the parser or the JS prelude of another.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Engine": ".engine",
    "ExecutionResult": ".result",
    "JSException": ".result",
    "V8Error": ".errors",
    "ScriptTimeoutError": ".errors",
    "HeapLimitError": ".errors",
    "DeadlockError": ".errors",
    "ConversionError": ".errors",
    "ScriptCancelledError": ".errors",
    "ModuleLoadError": ".errors",
    "TranspileError": ".errors",
    "ModuleSpecifier": ".specifier",
    "ModuleType": ".specifier",
    "ModuleLoader": ".loader",
    "ContextType": ".context_type",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    try:
        module = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'zako.v8' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
