"""``enum`` declarations, emitted as the TypeScript compiler emits them:

    var E; (function (E) { E[E["A"] = 0] = "A"; E["S"] = "s"; })(E || (E = {}));

so a second ``enum E`` merges into the first, members may be named with
reserved words or like the enum, and a string member gets no reverse
mapping. Inside initializers a bare name of an earlier member (of this or
an earlier declaration of the same enum, quoted names included) reads
``E["name"]``, as tsc resolves it. Constant initializers are folded here
only to learn whether a member is a string and what the next
auto-incremented value is; the emitted initializer is the source's.
"""

from __future__ import annotations

import json
import math
from typing import Any

import tree_sitter

__all__ = ["emit_enum", "scope_key"]

_TYPE_NODES = frozenset({"type_arguments", "type_annotation", "type_parameters"})


def scope_key(decl: tree_sitter.Node) -> tuple[int, bool]:
    """(id of the statement list holding ``decl``, whether it is the module's top level)."""
    holder = decl.parent
    # `export enum E`, and a namespace tree-sitter wraps as an expression statement
    if holder is not None and holder.type in ("export_statement", "expression_statement"):
        holder = holder.parent
    if holder is None:
        return (0, True)
    return (holder.id, holder.type == "program")


def declare_once(rw: Any, decl: tree_sitter.Node, name: str) -> str:
    """``var E; `` (``let`` below the top level) the first time ``name`` is
    declared by an enum or namespace in this statement list, else ``""``
    (a merged declaration, or a function/class of that name already binds it)."""
    key, top = scope_key(decl)
    seen = rw.ts_declared.setdefault(key, None)
    if seen is None:
        seen = rw.ts_declared[key] = _sibling_bindings(rw, decl)
    if top:
        rw.ts_merged.add(name)
    if name in seen:
        return ""
    seen.add(name)
    return ("var " if top else "let ") + name + "; "


def _sibling_bindings(rw: Any, decl: tree_sitter.Node) -> set[str]:
    holder = decl.parent
    # `export enum E`, and a namespace tree-sitter wraps as an expression statement
    if holder is not None and holder.type in ("export_statement", "expression_statement"):
        holder = holder.parent
    names: set[str] = set()
    for stmt in holder.named_children if holder is not None else ():
        if stmt.type == "export_statement":
            inner = stmt.child_by_field_name("declaration")
            stmt = inner if inner is not None else stmt
        if stmt.type in ("function_declaration", "generator_function_declaration", "class_declaration", "abstract_class_declaration"):
            name = stmt.child_by_field_name("name")
            if name is not None:
                names.add(rw.text(name))
    return names


def emit_enum(rw: Any, n: tree_sitter.Node, stack: list[tree_sitter.Node]) -> None:
    name = rw.text(n.child_by_field_name("name"))
    body = n.child_by_field_name("body")
    open_brace, close_brace = body.children[0], body.children[-1]
    key, _ = scope_key(n)
    members: dict[str, Any] = rw.ts_enum_members.setdefault((key, name), {})
    rw.replace(n.start_byte, open_brace.end_byte, f"{declare_once(rw, n, name)}(function ({name}) {{")
    prev: str | None = None
    for c in body.children[1:-1]:
        if c.type == ",":
            rw.blank(c.start_byte, c.end_byte)
            continue
        if c.type == "comment":
            continue
        if c.type in ("property_identifier", "string"):
            key_node, value = c, None
        elif c.type == "enum_assignment":
            key_node, value = c.child_by_field_name("name"), c.child_by_field_name("value")
        else:
            raise rw.error(c, f"unsupported enum member ({c.type})")
        member = rw.string_value(key_node) if key_node.type == "string" else rw.text(key_node)
        ref = f"{name}[{json.dumps(member)}]"
        if value is None:
            if prev is None:
                const: Any = 0
            else:
                before = members.get(prev)
                const = before + 1 if isinstance(before, (int, float)) and not isinstance(before, bool) else None
            init = _number(const) if const is not None else f"{name}[{json.dumps(prev)}] + 1"
            rw.replace(c.start_byte, c.end_byte, f"{name}[{ref} = {init}] = {json.dumps(member)};")
        else:
            const = _fold(rw, value, members)
            _rewrite_member_refs(rw, value, name, members)
            if isinstance(const, str):
                rw.replace(c.start_byte, value.start_byte, f"{ref} = ")
                rw.insert(value.end_byte, ";")
            else:
                rw.replace(c.start_byte, value.start_byte, f"{name}[{ref} = ")
                rw.insert(value.end_byte, f"] = {json.dumps(member)};")
            stack.append(value)
        members[member] = const
        prev = member
    rw.replace(close_brace.start_byte, close_brace.end_byte, f"}})({name} || ({name} = {{}}));")


def _number(v: float) -> str:
    if isinstance(v, int) or (isinstance(v, float) and v.is_integer() and abs(v) < 2**53):
        return str(int(v))
    return repr(v)


def _rewrite_member_refs(rw: Any, value: tree_sitter.Node, enum: str, members: dict[str, Any]) -> None:
    stack = [value]
    while stack:
        x = stack.pop()
        t = x.type
        if t in _TYPE_NODES or t.endswith("_type"):
            continue
        if t == "identifier":
            word = rw.text(x)
            if word in members:
                rw.replace(x.start_byte, x.end_byte, f"{enum}[{json.dumps(word)}]")
            continue
        if t in ("as_expression", "satisfies_expression", "non_null_expression"):
            stack.append(x.children[0])
            continue
        if t in ("arrow_function", "function_expression", "class", "member_expression", "subscript_expression"):
            if t in ("member_expression", "subscript_expression"):
                stack.append(x.children[0])  # `A.x`: only the object can be a member
            continue
        stack.extend(x.named_children)


def _int32(v: float) -> int:
    v = int(v) & 0xFFFFFFFF
    return v - (1 << 32) if v >= 1 << 31 else v


def _fold(rw: Any, x: tree_sitter.Node, members: dict[str, Any]) -> Any:
    """The constant value of an enum initializer (number or str), or None."""
    t = x.type
    try:
        if t == "number":
            text = rw.text(x).replace("_", "")
            low = text.lower()
            if low.startswith(("0x", "0o", "0b")):
                return int(text, 0)
            return float(text) if any(ch in low for ch in ".e") else int(text)
        if t == "string":
            return rw.string_value(x)
        if t == "template_string" and x.named_child_count <= 1 and all(c.type == "string_fragment" for c in x.named_children):
            return rw.text(x)[1:-1] if "\\" not in rw.text(x) else None
        if t == "parenthesized_expression":
            return _fold(rw, x.named_children[0], members)
        if t == "identifier":
            return members.get(rw.text(x))
        if t == "unary_expression":
            op, arg = x.children[0].type, _fold(rw, x.children[1], members)
            if not isinstance(arg, (int, float)):
                return None
            return {"-": lambda: -arg, "+": lambda: arg, "~": lambda: ~_int32(arg)}.get(op, lambda: None)()
        if t == "binary_expression":
            a, op, b = _fold(rw, x.children[0], members), x.children[1].type, _fold(rw, x.children[2], members)
            if a is None or b is None:
                return None
            if op == "+" and (isinstance(a, str) or isinstance(b, str)):
                return (a if isinstance(a, str) else _number(a)) + (b if isinstance(b, str) else _number(b))
            if isinstance(a, str) or isinstance(b, str):
                return None
            ops = {
                "+": lambda: a + b,
                "-": lambda: a - b,
                "*": lambda: a * b,
                "/": lambda: a / b,
                "%": lambda: math.fmod(a, b),
                "**": lambda: a**b,
                "|": lambda: _int32(a) | _int32(b),
                "&": lambda: _int32(a) & _int32(b),
                "^": lambda: _int32(a) ^ _int32(b),
                "<<": lambda: _int32(_int32(a) << (int(b) & 31)),
                ">>": lambda: _int32(a) >> (int(b) & 31),
                ">>>": lambda: (int(a) & 0xFFFFFFFF) >> (int(b) & 31),
            }
            fn = ops.get(op)
            return fn() if fn is not None else None
    except (ValueError, ZeroDivisionError, OverflowError, IndexError):
        return None
    return None
