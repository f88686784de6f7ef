"""Just enough scope analysis for TypeScript's rewrites: is a name, at some
identifier, bound by a declaration between it and an outer node?

Used where tsc resolves names and we must agree: an import used as a value
only through a shadowing local is still type-only (elided), and a reference
to a namespace's exported variable is rewritten to ``N.x`` unless shadowed.
Cost: a walk up the identifier's ancestors, run only for the few names that
need it.
"""

from __future__ import annotations

from typing import Any

import tree_sitter

__all__ = ["shadowed", "value_identifiers"]

_FUNCTIONS = frozenset(
    {
        "function_declaration",
        "generator_function_declaration",
        "function_expression",
        "generator_function",
        "function",
        "arrow_function",
        "method_definition",
    }
)
_BLOCKS = frozenset({"statement_block", "program", "switch_body", "class_static_block", "switch_case", "switch_default"})
_DECLS = frozenset({"lexical_declaration", "variable_declaration"})
_NAMED = frozenset(
    {"function_declaration", "generator_function_declaration", "class_declaration", "abstract_class_declaration", "enum_declaration",
     "internal_module", "module"}
)
# subtrees that are types only: never value references
_TYPES = frozenset(
    {"type_annotation", "type_arguments", "type_parameters", "type_predicate_annotation", "asserts_annotation",
     "implements_clause", "interface_declaration", "type_alias_declaration", "ambient_declaration", "index_signature",
     "method_signature", "abstract_method_signature", "function_signature"}
)


def _binds(rw: Any, scope: tree_sitter.Node, name: str) -> bool:
    t = scope.type
    if t in _FUNCTIONS:
        fname = scope.child_by_field_name("name")
        if fname is not None and t not in ("function_declaration", "generator_function_declaration", "method_definition"):
            if rw.text(fname) == name:
                return True
        single = scope.child_by_field_name("parameter")
        if single is not None and rw.text(single) == name:
            return True
        params = scope.child_by_field_name("parameters")
        for p in params.named_children if params is not None else ():
            pat = p.child_by_field_name("pattern") if p.type in ("required_parameter", "optional_parameter") else p
            names: list[str] = []
            if pat is not None:
                rw.pattern_names(pat, names)
            if name in names:
                return True
        return False
    if t in _BLOCKS:
        for stmt in scope.named_children:
            if stmt.type == "export_statement":
                inner = stmt.child_by_field_name("declaration")
                if inner is None:
                    continue
                stmt = inner
            elif stmt.type == "expression_statement" and stmt.named_child_count == 1:
                stmt = stmt.named_children[0]
            if stmt.type in _DECLS:
                if name in rw.declared_names(stmt):
                    return True
            elif stmt.type in _NAMED:
                n = stmt.child_by_field_name("name")
                if n is not None and rw.text(n).split(".")[0] == name:
                    return True
        return False
    if t in ("for_statement", "for_in_statement"):
        for c in scope.named_children:
            if c.type in _DECLS and name in rw.declared_names(c):
                return True
        left = scope.child_by_field_name("left")
        kind = scope.child_by_field_name("kind")
        if left is not None and kind is not None:
            names: list[str] = []
            rw.pattern_names(left, names)
            return name in names
        return False
    if t == "catch_clause":
        param = scope.child_by_field_name("parameter")
        if param is not None:
            names = []
            rw.pattern_names(param, names)
            return name in names
        return False
    if t in ("class_declaration", "class", "abstract_class_declaration"):
        n = scope.child_by_field_name("name")
        return n is not None and rw.text(n) == name
    return False


def shadowed(rw: Any, node: tree_sitter.Node, name: str, stop: tree_sitter.Node | None = None) -> bool:
    """True when a declaration between ``node`` and ``stop`` (exclusive; the
    root when None) binds ``name``."""
    p = node.parent
    while p is not None and p != stop:
        if _binds(rw, p, name):
            return True
        p = p.parent
    return False


def value_identifiers(root: tree_sitter.Node):
    """Identifiers (and shorthand properties) under ``root`` in value
    positions: type syntax and cast types are skipped."""
    stack = [root]
    while stack:
        x = stack.pop()
        t = x.type
        if t in ("identifier", "shorthand_property_identifier"):
            yield x
            continue
        if t in _TYPES or t.endswith("_type"):
            continue
        if t in ("as_expression", "satisfies_expression"):
            stack.append(x.children[0])
            continue
        if t == "import_alias":
            continue
        stack.extend(reversed(x.named_children))
