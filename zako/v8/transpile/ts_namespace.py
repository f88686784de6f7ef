"""Namespaces and ``import X = N.y`` aliases, emitted as tsc emits them.

A namespace with values becomes an IIFE over ``N || (N = {})`` (a nested
``export namespace`` inside ``P``: ``N = P.N || (P.N = {})``), preceded by
``var N;`` (``let`` below the top level) unless something already binds the
name (an earlier declaration of the namespace, a function or class it
merges with). Inside, exported functions and classes stay local and are
copied onto ``N`` after their declaration; exported variables live only on
``N``: their declarations assign ``N.x = ...`` and every unshadowed
reference to them in the namespace (or in another declaration of the same
namespace in the same scope) reads ``N.x``. A namespace holding only types
is erased, as tsc does. All of it stays on the namespace's lines.
"""

from __future__ import annotations

from typing import Any

import tree_sitter

from . import ts_enum, ts_scope
from .result import ExportEntry

__all__ = ["emit_namespace", "import_alias", "finish_aliases", "instantiated"]

_TYPE_ONLY = frozenset({"interface_declaration", "type_alias_declaration", "ambient_declaration", "empty_statement", "comment"})


def instantiated(ns: tree_sitter.Node) -> bool:
    """Whether a namespace declares any value (tsc emits nothing otherwise)."""
    body = ns.child_by_field_name("body")
    for stmt in body.named_children if body is not None else ():
        if stmt.type == "export_statement":
            inner = stmt.child_by_field_name("declaration")
            if inner is None:
                return True
            stmt = inner
        elif stmt.type == "expression_statement" and stmt.named_child_count == 1:
            stmt = stmt.named_children[0]
        t = stmt.type
        if t in _TYPE_ONLY:
            continue
        if t in ("internal_module", "module"):
            if instantiated(stmt):
                return True
            continue
        if t == "import_alias":
            continue
        return True
    return False


def _parts(rw: Any, name: tree_sitter.Node) -> list[str]:
    return [p.strip() for p in rw.text(name).split(".")]


def emit_namespace(rw: Any, ns: tree_sitter.Node, parent: str | None = None) -> None:
    """Rewrite namespace ``ns`` in place; ``parent`` names the enclosing
    namespace when ``ns`` is exported from one."""
    rw.require_ts(ns)
    if not instantiated(ns):
        rw.blank(ns.start_byte, ns.end_byte, b";")
        return
    name_node = ns.child_by_field_name("name")
    body = ns.child_by_field_name("body")
    if name_node is None or body is None or name_node.type == "string":
        raise rw.error(ns, "a namespace needs a name and a body")
    parts = _parts(rw, name_node)
    head = ts_enum.declare_once(rw, ns, parts[0])
    opens, closes = [], []
    outer = parent
    for i, part in enumerate(parts):
        if i:
            head = f"let {part}; "
        opens.append(f"{head}(function ({part}) {{")
        target = f"{part} = {outer}.{part} || ({outer}.{part} = {{}})" if outer else f"{part} || ({part} = {{}})"
        closes.append(f"}})({target});")
        outer = part
    inner = parts[-1]
    rw.replace(ns.start_byte, body.children[0].end_byte, " ".join(opens))
    rw.replace(body.children[-1].start_byte, body.children[-1].end_byte, "".join(reversed(closes)))

    key, _ = ts_enum.scope_key(ns)
    exported_vars: set[str] = rw.ts_ns_vars.setdefault((key, ".".join(parts)), set())
    replaced: set[int] = set()
    for stmt in body.named_children:
        if stmt.type != "export_statement":
            rw.visit(stmt)
            continue
        decl = stmt.child_by_field_name("declaration")
        if decl is None or any(c.type in ("default", "=") for c in stmt.children):
            raise rw.error(stmt, "a namespace can export only declarations")
        export_kw = stmt.children[0]
        t = decl.type
        if t in ("interface_declaration", "type_alias_declaration", "ambient_declaration", "function_signature"):
            rw.blank(stmt.start_byte, stmt.end_byte, b";")
            continue
        rw.blank(export_kw.start_byte, export_kw.end_byte)
        if t in ("internal_module", "module"):
            emit_namespace(rw, decl, inner)
        elif t in ("lexical_declaration", "variable_declaration"):
            keyword = decl.children[0]
            rw.blank(keyword.start_byte, keyword.end_byte)
            for d in decl.named_children:
                if d.type != "variable_declarator":
                    continue
                target = d.child_by_field_name("name")
                if target.type != "identifier":
                    raise rw.error(target, "a destructuring export in a namespace is not supported; export each name")
                exported_vars.add(rw.text(target))
                replaced.add(target.id)
                rw.replace(target.start_byte, target.end_byte, f"{inner}.{rw.text(target)}")
                rw.visit(d)
        elif t == "import_alias":
            alias = decl.named_children[0]
            rw.replace(decl.children[0].start_byte, alias.end_byte, f"{inner}.{rw.text(alias)}")
        else:
            names = rw.declared_names(decl)
            rw.visit(decl)
            if names:
                rw.insert(decl.end_byte, f" {inner}.{names[0]} = {names[0]};")
    if exported_vars:
        for ident in ts_scope.value_identifiers(body):
            word = rw.text(ident)
            if word not in exported_vars or ident.id in replaced:
                continue
            if ts_scope.shadowed(rw, ident, word, stop=body):
                continue
            if ident.type == "shorthand_property_identifier":
                rw.replace(ident.start_byte, ident.end_byte, f"{word}: {inner}.{word}")
            else:
                rw.replace(ident.start_byte, ident.end_byte, f"{inner}.{word}")


def import_alias(rw: Any, node: tree_sitter.Node, exported: bool = False) -> None:
    """``import Y = N.y``: ``var Y = N.y``, decided in ``finish_aliases``
    (tsc drops an alias used only as a type)."""
    rw.require_ts(node)
    if rw.child_of_type(node, "import_require_clause") is not None:
        raise rw.error(node, "`import x = require(...)` is not supported; use an ES import")
    rw.ts_aliases.append((node, exported))


def finish_aliases(rw: Any) -> None:
    for node, exported in rw.ts_aliases:
        local = rw.text(node.named_children[0])
        if exported or local in rw.referenced:
            keyword = node.children[0]
            rw.replace(keyword.start_byte, keyword.end_byte, "var")
            target = node.named_children[1]
            for ident in ts_scope.value_identifiers(target):
                rw.referenced.add(rw.text(ident))
        else:
            rw.blank(node.start_byte, node.end_byte, b";")


def declared_name(rw: Any, decl: tree_sitter.Node) -> list[str]:
    """The module-level name a namespace or alias declaration binds."""
    if decl.type == "import_alias":
        return [rw.text(decl.named_children[0])]
    name = decl.child_by_field_name("name")
    if name is None or name.type == "string" or not instantiated(decl):
        return []
    return [_parts(rw, name)[0]]


def export_hook(rw: Any, stmt: tree_sitter.Node, decl: tree_sitter.Node) -> bool:
    """``export namespace`` / ``export import X = N.y`` at the top level.
    Returns False to let the caller export the declared name as usual."""
    if decl.type == "import_alias":
        name = declared_name(rw, decl)[0]
        rw.value_names.add(name)
        rw.exports.append(ExportEntry(name, local=name))
        rw.blank(stmt.start_byte, decl.start_byte)
        import_alias(rw, decl, exported=True)
        return True
    if not instantiated(decl):
        name = decl.child_by_field_name("name")
        if name is not None:
            rw.type_names.add(_parts(rw, name)[0])
        rw.blank(stmt.start_byte, stmt.end_byte, b";")
        return True
    return False
