"""V8 layer over mini-racer: engine, results and errors, module specifiers,
the module loader and context types.

Names are resolved lazily so that importing ``zako.v8`` for one name does
not pay for the parser or the JS prelude of another.
"""

from __future__ import annotations

from .._lazy import lazy_exports

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

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
