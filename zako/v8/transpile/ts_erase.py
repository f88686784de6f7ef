"""Erasure spans that tree-sitter's tree does not give directly."""

from __future__ import annotations

import tree_sitter

__all__ = ["cast_end", "arrow_return_children"]

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


def arrow_return_children(rw, arrow: tree_sitter.Node, children: list[tree_sitter.Node]) -> list[tree_sitter.Node]:
    """An arrow function's return type that spans lines is erased together
    with ``=>``, and ``=>`` is written where the type began: erasing only the
    type would leave a line break before ``=>``, which JavaScript forbids.
    Returns the children still to visit."""
    annotation = arrow_tok = None
    for c in children:
        if c.type in _RETURN_TYPES:
            annotation = c
        elif c.type == "=>":
            arrow_tok = c
            break
    if annotation is None or arrow_tok is None or annotation.start_point.row == arrow_tok.start_point.row:
        return children
    rw.require_ts(annotation)
    rw.blank(annotation.start_byte, arrow_tok.end_byte, b"=>")
    return [c for c in children if c != annotation]
