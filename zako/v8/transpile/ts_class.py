"""Class code generation: parameter properties and ``accessor`` fields.

Target ES2022 with ``useDefineForClassFields`` (tsc's default for that
target, and what V8 runs natively), matching what ``tsc`` emits exactly:

- ``constructor(public a, private b)`` declares the fields ``a; b;`` first
  in the class body (so they are own data properties defined before every
  other field, shadowing any inherited setter, and come first in key order)
  and assigns ``this.a = a; this.b = b;`` at the start of the constructor,
  or right after the top-level ``super(...)`` call in a derived class.
  Field initializers therefore run before the assignments and see
  ``undefined`` for parameter properties, as with tsc for this target.
- ``accessor x = v`` becomes a private backing field ``#x_accessor_storage
  = v`` and a ``get x`` / ``set x`` pair over it (TypeScript 5's lowering);
  static accessors read the storage through the class name.
"""

from __future__ import annotations

from typing import Any

import tree_sitter

__all__ = ["parameter_properties", "accessor_field"]


def parameter_properties(rw: Any, method: tree_sitter.Node) -> None:
    params = method.child_by_field_name("parameters")
    names: list[str] = []
    for p in params.named_children if params is not None else ():
        if p.type not in ("required_parameter", "optional_parameter"):
            continue
        mods = [c for c in p.children if c.type in ("accessibility_modifier", "readonly", "override_modifier")]
        if not mods:
            continue
        rw.require_ts(p)
        for m in mods:
            if m.type == "readonly":  # not in _ERASE (it is an anonymous keyword)
                rw.blank(m.start_byte, m.end_byte)
        pat = p.child_by_field_name("pattern")
        if pat is None or pat.type != "identifier":
            raise rw.error(p, "a parameter property must be a plain identifier")
        names.append(rw.text(pat))
    if not names:
        return
    body = method.child_by_field_name("body")
    class_body = method.parent
    cls = class_body.parent if class_body is not None else None
    if class_body is not None and class_body.type == "class_body":
        rw.insert(class_body.children[0].end_byte, "".join(f"{x};" for x in names))
    assigns = "".join(f"this.{x}={x};" for x in names)
    heritage = rw.child_of_type(cls, "class_heritage") if cls is not None else None
    if heritage is not None and rw.child_of_type(heritage, "extends_clause") is not None:
        for stmt in body.named_children:
            expr = stmt.named_children[0] if stmt.type == "expression_statement" and stmt.named_children else None
            if expr is not None and expr.type == "call_expression" and expr.children[0].type == "super":
                # `;` first: the super call may end without one (`super(b)\n`)
                rw.insert(stmt.end_byte, ";" + assigns)
                return
        raise rw.error(method, "parameter properties in a derived class need a top-level `super(...)` statement")
    rw.insert(body.children[0].end_byte, assigns)


def accessor_field(rw: Any, field: tree_sitter.Node, accessors: set[int]) -> None:
    """Lower ``field`` if an ``accessor`` keyword was taken out before its name."""
    name = field.child_by_field_name("name")
    if name is None or not any(field.start_byte <= a <= name.start_byte for a in accessors):
        return
    is_static = any(c.type == "static" for c in field.children)
    key = rw.text(name)
    if name.type == "private_property_identifier":
        storage = f"#_{key[1:]}_accessor_storage"
    elif name.type == "property_identifier":
        storage = f"#{key}_accessor_storage"
    else:
        storage = f"#_{name.start_byte}_accessor_storage"
    receiver = "this"
    if is_static:
        body = field.parent
        cls = body.parent if body is not None else None
        cls_name = cls.child_by_field_name("name") if cls is not None else None
        if cls_name is not None:
            receiver = rw.text(cls_name)
    rw.replace(name.start_byte, name.end_byte, storage)
    static = "static " if is_static else ""
    rw.insert(
        field.end_byte,
        f";{static}get {key}() {{ return {receiver}.{storage}; }} {static}set {key}(value) {{ {receiver}.{storage} = value; }}",
    )
