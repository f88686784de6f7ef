"""Errors of the V8 layer.

``V8Error`` is an engine failure (the script could not run to a result);
a JavaScript ``throw`` is not an error of the engine and comes back as
``ExecutionResult.exception`` instead. ``ModuleLoadError`` and
``TranspileError`` are raised before any script runs.
"""

from __future__ import annotations

from ..exceptions import ZakoError

__all__ = [
    "V8Error",
    "ScriptTimeoutError",
    "HeapLimitError",
    "DeadlockError",
    "ConversionError",
    "ScriptCancelledError",
    "ModuleLoadError",
    "TranspileError",
]


class V8Error(ZakoError):
    """The engine could not run a script to a result.

    Fields: ``message``, ``stack`` (JS stack if any), ``exception`` (text of a
    JS exception involved, if any), ``module_specifier`` (which script), and
    ``addition_message`` (extra context, e.g. the limit that was hit).
    """

    def __init__(
        self,
        message: str,
        *,
        stack: str | None = None,
        exception: str | None = None,
        module_specifier: str | None = None,
        addition_message: str | None = None,
    ) -> None:
        self.message = message
        self.stack = stack
        self.exception = exception
        self.module_specifier = module_specifier
        self.addition_message = addition_message
        super().__init__(message)

    def __str__(self) -> str:
        parts = [self.message]
        if self.module_specifier:
            parts.append(f"in {self.module_specifier}")
        if self.addition_message:
            parts.append(f"({self.addition_message})")
        return " ".join(parts)


class ScriptTimeoutError(V8Error):
    """The script ran past the engine's time limit and was terminated."""


class HeapLimitError(V8Error):
    """The script exceeded the heap limit (JS heap or ArrayBuffer cap)."""


class DeadlockError(V8Error):
    """A promise is pending while nothing (timer or host call) can settle it."""


class ConversionError(V8Error):
    """The result cannot become plain Python data (BigInt, function, symbol, cycle)."""


class ScriptCancelledError(V8Error):
    """The script was terminated because its cancel token fired."""


class ModuleLoadError(ZakoError):
    """A module could not be resolved or loaded, or an import broke a rule.

    The message names the importer, the specifier and the rule.
    """

    def __init__(self, message: str, *, importer: str | None = None, specifier: str | None = None) -> None:
        self.importer = importer
        self.specifier = specifier
        super().__init__(message)


class TranspileError(ZakoError):
    """TypeScript/ESM source could not be transformed; names file:line:col."""

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None, column: int | None = None) -> None:
        self.file = file
        self.line = line
        self.column = column
        super().__init__(message)
