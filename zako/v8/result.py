"""What an evaluation gives back: a value or the JavaScript exception it threw.

``ExecutionResult`` holds either ``value`` (plain Python data: ``dict``,
``list``, ``str``, ``int``, ``float``, ``bool``, ``None``) or ``exception`` (a
``JSException``), never both. Engine failures (timeout, heap limit, deadlock,
unconvertible result, cancellation) are not results: they raise ``V8Error``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..exceptions import ZakoError

__all__ = ["ExecutionResult", "JSException"]


class JSException(ZakoError):
    """A value the script threw (an ``Error``, a string, any object).

    Fields:
      ``message``   the error's message, or the thrown value's text;
      ``stack``     the JS stack with ``specifier:line:column`` frames (for a
                    thrown non-Error value, the ``throw`` site when it is
                    known), or ``None``;
      ``specifier`` the script or module that was evaluated;
      ``exception`` the exception's text as JS prints it (``"TypeError: x"``,
                    or the thrown value itself);
      ``name``      the error class name (``"TypeError"``), ``None`` for a
                    thrown non-Error value;
      ``line``/``column`` 1-based position for syntax errors, else ``None``.

    It is an exception class so callers may ``raise result.exception``.
    """

    def __init__(
        self,
        message: str,
        *,
        stack: str | None = None,
        specifier: str | None = None,
        exception: str | None = None,
        name: str | None = None,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        self.message = message
        self.stack = stack
        self.specifier = specifier
        self.exception = exception if exception is not None else message
        self.name = name
        self.line = line
        self.column = column
        super().__init__(message)

    def __str__(self) -> str:
        if self.stack:
            return self.stack
        where = f" at {self.specifier}:{self.line}:{self.column}" if self.line else ""
        return f"{self.exception}{where}"

    def __repr__(self) -> str:
        return (
            f"JSException(message={self.message!r}, specifier={self.specifier!r}, "
            f"exception={self.exception!r})"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, JSException):
            return NotImplemented
        return (self.message, self.stack, self.specifier, self.exception, self.name, self.line, self.column) == (
            other.message, other.stack, other.specifier, other.exception, other.name, other.line, other.column)

    __hash__ = ZakoError.__hash__


@dataclass(eq=False)
class ExecutionResult:
    """Outcome of one evaluation.

    ``value`` is the script's return value as plain data (``None`` when it
    threw); ``exception`` is set when it threw. ``heap_stats`` is V8's heap
    statistics at the end of the evaluation (``None`` if the context could not
    be asked); ``peak_heap_bytes`` the high-water mark of the V8 heap the
    evaluation committed (``total_heap_size``: V8 grows the heap to hold the
    peak of live objects and does not give it back within one evaluation);
    ``array_buffer_peak_bytes`` the peak of ArrayBuffer memory, which lives
    outside the heap. ``declarations`` is what ``zako:`` builtins recorded,
    a dict of lists (empty for plain scripts).
    """

    specifier: str
    value: Any = None
    exception: JSException | None = None
    heap_stats: dict[str, int] | None = None
    peak_heap_bytes: int = 0
    array_buffer_peak_bytes: int = 0
    duration_s: float = 0.0
    declarations: dict[str, list[Any]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when the script returned (did not throw)."""
        return self.exception is None

    def unwrap(self) -> Any:
        """The value, or raise the ``JSException`` the script threw."""
        if self.exception is not None:
            raise self.exception
        return self.value
