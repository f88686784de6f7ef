"""Erasure spans that tree-sitter's tree does not give directly."""

from __future__ import annotations

import tree_sitter

__all__ = ["cast_end", "arrow_return_edit"]

_RETURN_TYPES = frozenset({"type_annotation", "type_predicate_annotation", "asserts_annotation"})


def cast_end(cast: tree_sitter.Node) -> int:
    """End of the type of ``x as T`` / ``x satisfies T``.

    tree-sitter reads ``x as A.B.C`` as ``(x as A.B).C``; in TypeScript a
    ``.name`` right after a cast's type always continues the type name, so
    the erased span runs to the end of every member access wrapped around
    the cast."""
    end = cast.end_byte
    cur, parent = cast, cast.parent
    while (
        parent is not None
        and parent.type == "member_expression"
        and parent.children[0] == cur
        and parent.child_count == 3
        and parent.children[1].type == "."
    ):
        end = parent.end_byte
        cur, parent = parent, parent.parent
    return end


def arrow_return_edit(annotation: tree_sitter.Node) -> tuple[int, int] | None:
    """For an arrow function's return type that spans lines, the span from
    the type to the end of ``=>``: erasing only the type would leave a line
    break before ``=>``, which JavaScript forbids. The caller writes ``=>``
    first and keeps the newlines after it."""
    parent = annotation.parent
    if parent is None or parent.type != "arrow_function" or annotation.type not in _RETURN_TYPES:
        return None
    arrow = None
    for c in parent.children:
        if c.type == "=>":
            arrow = c
            break
    if arrow is None or annotation.start_point.row == arrow.start_point.row:
        return None
    return annotation.start_byte, arrow.end_byte
