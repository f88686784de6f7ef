"""Valid module syntax tree-sitter-typescript's grammar does not know,
made parseable without moving a byte.

Only consulted when a tree has an error. Each repair changes the text that
is *parsed* (same length, so every node's offsets still address the
source) and, where the output must change too, blanks the span in the
output as well (``Repairs.blank``):

- attributes on a re-export (``export * from "x" with { type: "json" }``,
  ``export { a } from "x" with {}``): blanked in both; the rewriter reads
  them from the source after the specifier (``reexport_attributes``);
- ``export`` and ``{`` on different lines: the line breaks and comments
  between are parsed as spaces (an ``export`` alone on its line is
  otherwise read as an identifier);
- ``export default function(){} stmt`` / ``export default class {} stmt``
  on one line: a ``;`` is parsed after the declaration's ``}``;
- ``for (await using x of …)``: parsed as ``for (const x of …)``.

The caller keeps a repair only if the repaired text parses without error.
"""

from __future__ import annotations

import re
from typing import Callable

import tree_sitter

from .ts_repair import Repairs

__all__ = ["needs_repair", "module_repairs", "reexport_attributes"]

_REEXPORT_ATTRS = re.compile(
    rb"""(\bexport\b[^;'"]*?\bfrom\s*(["'])(?:(?!\2)[^\\\n]|\\.)*\2)(\s*(?:with|assert)\s*\{[^{}]*\})"""
)
# `export`, then line breaks and comments, then `{`
_EXPORT_NEWLINE_BRACE = re.compile(rb"\bexport((?:\s|//[^\n\r]*|/\*[\s\S]*?\*/)+)\{")
_DEFAULT_DECL = re.compile(rb"\bexport\s+default\s+(?:async\s+)?(?:function\b|class\b)")
_FOR_AWAIT_USING = re.compile(rb"\bfor\s*\(\s*(await)(\s+)(using)\b")
_ATTRIBUTE = re.compile(rb"""\s*(?:with|assert)\s*\{\s*(?:(?:type|"type"|'type')\s*:\s*(["'])([^"']*)\1\s*,?\s*)?\}""")

Parse = Callable[[bytes], tree_sitter.Tree]


def reexport_attributes(src: bytes, at: int) -> tuple[tuple[tuple[str, str], ...], int] | None:
    """Attributes written at ``src[at:]`` right after a re-export's
    specifier: (sorted pairs, end offset), or None when there are none.
    Raises ``ValueError`` for attributes other than ``type``."""
    m = re.compile(rb"\s*(?:with|assert)\b").match(src, at)
    if m is None:
        return None
    full = _ATTRIBUTE.match(src, at)
    if full is None:
        raise ValueError("unsupported import attributes (only `type` is supported)")
    kind = full.group(2)
    return ((("type", kind.decode("utf-8")),) if kind is not None else ()), full.end()


def needs_repair(tree: tree_sitter.Tree) -> bool:
    """An error, or ``export`` alone on a line read as an identifier."""
    if tree.root_node.has_error:
        return True
    for stmt in tree.root_node.named_children:
        if stmt.type == "expression_statement" and stmt.named_child_count == 1:
            only = stmt.named_children[0]
            if only.type == "identifier" and only.text == b"export":
                return True
    return False


def module_repairs(src: bytes, tree: tree_sitter.Tree, parse: Parse) -> Repairs | None:
    repairs = Repairs(src)
    changed = False
    for m in _REEXPORT_ATTRS.finditer(src):
        repairs.blank(m.start(3), m.end(3))
        changed = True
    for m in _EXPORT_NEWLINE_BRACE.finditer(src):
        gap = m.group(1)
        if b"\n" in gap or b"\r" in gap:  # parsed as spaces: comments too, or `//` would eat the `{`
            repairs.swap(m.start(1), b" " * len(gap))
            changed = True
    for m in _FOR_AWAIT_USING.finditer(src):
        repairs.swap(m.start(1), b" " * len(m.group(1)))
        repairs.swap(m.start(3), b"const")
        repairs.awaits.append(m.start(1))
        changed = True
    if changed and not parse(bytes(repairs.src)).root_node.has_error:
        return repairs
    # `export default function(){} stmt`: find the `}` after which a `;`
    # makes the text parse (bounded: this only runs on a failing file).
    for m in _DEFAULT_DECL.finditer(src):
        tries = 0
        for close in re.finditer(rb"\}([ \t]+)\S", src[m.end():]):
            at = m.end() + close.start(1)
            trial = bytearray(repairs.src)
            trial[at : at + 1] = b";"
            if not parse(bytes(trial)).root_node.has_error:
                repairs.swap(at, b";")
                return repairs
            tries += 1
            if tries >= 16:
                break
    return None
