"""Where in a module V8 found a SyntaxError.

The module runtime compiles each module with ``(0, eval)``, whose
SyntaxError carries no position (the runtime only appends
``(in module NAME)``). Compiling the same code again as a top-level script
does report the line, and since the transform keeps line *n* of the source
on line *n* of its output, that line is the user's. Only the error path
pays for it: one scratch context, one failed compile.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["locate_syntax_error"]

_IN_MODULE = re.compile(r"^(?P<message>.*) \(in module (?P<name>.+)\)$", re.S)
_PARSE_LINE = re.compile(r"^<anonymous>:(\d+):")


def _compile_line(code: str) -> int | None:
    from py_mini_racer import MiniRacer

    ctx = MiniRacer()
    try:
        # wrapped in a function that is never called: compiling is enough
        ctx.eval("(function(){return " + code + "\n})")
    except Exception as exc:  # mini-racer's parse exception names the line
        m = _PARSE_LINE.match(str(exc))
        return int(m.group(1)) if m else None
    finally:
        ctx.close()
    return None


def locate_syntax_error(exception: Any, modules: list[Any]) -> None:
    """If ``exception`` (a ``JSException``) is a SyntaxError the runtime
    tagged with a module name, make its message ``file:line: message`` and
    set ``line``. ``modules`` are the graph's loaded modules (``name``,
    ``transform``)."""
    if exception.name != "SyntaxError" or exception.line is not None:
        return
    m = _IN_MODULE.match(exception.message or "")
    if m is None:
        return
    name = m.group("name")
    module = next((x for x in modules if x.name == name and x.transform is not None), None)
    if module is None:
        return
    line = _compile_line(module.transform.code)
    if line is None:
        return
    exception.line = line
    exception.message = f"{name}:{line}: {m.group('message')}"
    exception.args = (exception.message,)
