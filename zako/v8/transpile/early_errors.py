"""Early errors of the Module goal that V8 cannot see in our output.

A module body runs as the body of an async generator function (see
``rewrite``), where duplicate top-level functions, ``var f; function f(){}``,
HTML-like comments and a top-level ``new.target`` are all legal: V8 never
parses our code as a Module. These rules are checked here on the
tree-sitter tree, before anything is rewritten; each raises through
``error(node, message)`` (a ``TranspileError`` at the node's file:line:col).

Checked (ECMA-262 16.2.1.1 and the static semantics they use):
- LexicallyDeclaredNames of the module (imports, let/const/class and, at
  the top level of a module, function declarations) hold no duplicate and
  meet no VarDeclaredNames;
- an import binds neither ``eval`` nor ``arguments``;
- ``new.target`` only inside a non-arrow function (or a class field);
- ``import.meta`` is never an assignment target;
- no HTML-like comment (``<!--``, ``-->``; Annex B is for scripts only);
- ``export default`` of a ``let``/``const``/``var`` declaration.
"""

from __future__ import annotations

import re
from typing import Callable

import tree_sitter

__all__ = ["check_module"]

_LEXICAL_DECLARATIONS = frozenset(
    {"class_declaration", "abstract_class_declaration", "function_declaration", "generator_function_declaration"}
)
# Where `var` stops hoisting, and where new.target means something.
_FUNCTIONS = frozenset(
    {
        "function_declaration",
        "generator_function_declaration",
        "function_expression",
        "generator_function",
        "function",
        "method_definition",
    }
)
_FIELD_INITIALIZERS = frozenset({"public_field_definition", "field_definition", "class_static_block"})
_VAR_SCOPES = _FUNCTIONS | {"arrow_function", "class_static_block"}
_ASSIGNMENT_TARGETS = (
    ("assignment_expression", "left"),
    ("augmented_assignment_expression", "left"),
    ("update_expression", "argument"),
    ("for_in_statement", "left"),
)

Raise = Callable[[tree_sitter.Node, str], Exception]


def _text(n: tree_sitter.Node) -> str:
    return n.text.decode("utf-8", "surrogatepass") if n.text is not None else ""


def _pattern_names(node: tree_sitter.Node | None, out: list[tree_sitter.Node]) -> None:
    if node is None:
        return
    t = node.type
    if t in ("identifier", "shorthand_property_identifier_pattern"):
        out.append(node)
    elif t == "pair_pattern":
        _pattern_names(node.child_by_field_name("value"), out)
    elif t in ("assignment_pattern", "object_assignment_pattern"):
        _pattern_names(node.child_by_field_name("left"), out)
    elif t in ("object_pattern", "array_pattern", "rest_pattern"):
        for c in node.named_children:
            _pattern_names(c, out)


def _declarators(decl: tree_sitter.Node) -> list[tree_sitter.Node]:
    names: list[tree_sitter.Node] = []
    for d in decl.named_children:
        if d.type == "variable_declarator":
            _pattern_names(d.child_by_field_name("name"), names)
    return names


def _lexical_names(stmt: tree_sitter.Node, out: list[tree_sitter.Node]) -> None:
    """Names one top-level statement declares lexically."""
    t = stmt.type
    if t == "import_statement":
        clause = next((c for c in stmt.named_children if c.type == "import_clause"), None)
        for c in clause.named_children if clause is not None else ():
            if c.type == "identifier":
                out.append(c)
            elif c.type == "namespace_import":
                out.extend(x for x in c.named_children if x.type == "identifier")
            elif c.type == "named_imports":
                for spec in c.named_children:
                    if spec.type != "import_specifier" or any(k.type == "type" for k in spec.children):
                        continue
                    node = spec.child_by_field_name("alias") or spec.child_by_field_name("name")
                    if node is not None and node.type == "identifier":
                        out.append(node)
        return
    if t == "export_statement":
        inner = stmt.child_by_field_name("declaration") or stmt.child_by_field_name("value")
        if inner is not None:
            if inner.type in ("function_expression", "generator_function", "class", "function"):
                name = inner.child_by_field_name("name")
                if name is not None:
                    out.append(name)
                return
            _lexical_names(inner, out)
        return
    if t == "lexical_declaration":
        out.extend(_declarators(stmt))
    elif t == "expression_statement":
        out.extend(using_names(stmt))
    elif t in _LEXICAL_DECLARATIONS:
        name = stmt.child_by_field_name("name")
        if name is not None:
            out.append(name)


def check_module(root: tree_sitter.Node, error: Raise) -> bool:
    """Raise the first early error; return whether the module awaits at its
    top level (then it evaluates asynchronously, whatever its body does)."""
    lexical: list[tree_sitter.Node] = []
    for stmt in root.named_children:
        _lexical_names(stmt, lexical)
        if stmt.type == "export_statement" and any(c.type == "default" for c in stmt.children):
            decl = stmt.child_by_field_name("declaration")
            if decl is not None and decl.type in ("lexical_declaration", "variable_declaration"):
                raise error(decl, "`export default` takes an expression or a function or class, not a variable declaration")
    imported: list[tree_sitter.Node] = []
    for stmt in root.named_children:
        if stmt.type == "import_statement":
            _lexical_names(stmt, imported)
    for node in imported:
        if _text(node) in ("eval", "arguments"):
            raise error(node, f"an import cannot bind {_text(node)!r} (strict mode code)")
    # Imports bound twice or also declared: the rewriter names both sites.
    import_ids = {n.id for n in imported}
    seen: dict[str, tree_sitter.Node] = {}
    for node in lexical:
        name = _text(node)
        if name in seen and node.id not in import_ids and seen[name].id not in import_ids:
            raise error(node, f"{name!r} is declared twice at the top level of this module")
        seen.setdefault(name, node)
    return _walk(root, seen, error)


_TARGET_FIELD = dict(_ASSIGNMENT_TARGETS)
# Where the rules below can fire, found in the text: a walk of every node
# costs as much as the rest of the transform (py-tree-sitter allocates a
# Python object per node), while these words are few. Each hit is looked up
# in the tree (a hit in a string or comment finds no such node).
_TRIGGERS = re.compile(rb"<!--|-->|\bawait\b|\bvar\b|\bnew\b|\bimport\b")


def awaits_at_top_level(root: tree_sitter.Node, offsets: list[int]) -> bool:
    """Whether any of these offsets (where a repair took an ``await`` out of
    the parsed text) lies outside every function: the module is async then."""
    for at in offsets:
        n = root.descendant_for_byte_range(at, at + 1)
        if n is not None and not any(a.type in _VAR_SCOPES for a in _ancestors(n)):
            return True
    return False


def _ancestors(n: tree_sitter.Node):
    p = n.parent
    while p is not None:
        yield p
        p = p.parent


def _walk(root: tree_sitter.Node, lexical: dict[str, tree_sitter.Node], error: Raise) -> bool:
    src = root.text or b""
    base = root.start_byte  # the program node starts at its first token
    has_tla = False
    for m in _TRIGGERS.finditer(src):
        word = m.group()
        n = root.descendant_for_byte_range(base + m.start(), base + m.end())
        if n is None:
            continue
        t = n.type
        if word in (b"<!--", b"-->"):
            if t == "html_comment":
                raise error(n, "HTML-like comments are not allowed in module code")
            continue
        parent = n.parent
        if parent is None:
            continue
        pt = parent.type
        if word == b"new" or word == b"import":
            if pt != "meta_property":
                continue
            if word == b"new":
                if not any(a.type in _FUNCTIONS or a.type in _FIELD_INITIALIZERS for a in _ancestors(parent)):
                    raise error(parent, "new.target is only allowed in functions")
                continue
            target, holder = parent, parent.parent
            while holder is not None and holder.type == "parenthesized_expression":
                target, holder = holder, holder.parent
            field = _TARGET_FIELD.get(holder.type) if holder is not None else None
            if field is not None:
                slot = holder.child_by_field_name(field)
                if slot is not None and slot.id == target.id:
                    raise error(parent, "import.meta is not assignable")
            continue
        if t != word.decode():  # not the keyword (an identifier, a property name...)
            continue
        if any(a.type in _VAR_SCOPES for a in _ancestors(n)):
            continue  # inside a function or static block: not the module's
        if word == b"await":
            if pt in ("await_expression", "for_in_statement"):
                has_tla = True
            continue
        var_names: list[tree_sitter.Node] = []
        if pt == "variable_declaration":
            var_names = _declarators(parent)
        elif pt == "for_in_statement":
            _pattern_names(parent.child_by_field_name("left"), var_names)
        for v in var_names:
            if _text(v) in lexical:
                raise error(v, f"{_text(v)!r} is declared with var and lexically in this module")
    return has_tla


def using_names(stmt: tree_sitter.Node) -> list[tree_sitter.Node]:
    """Names a top-level ``using x = ...`` / ``await using x = ...`` declares.

    tree-sitter's grammar predates explicit resource management and reads
    these as an assignment with the keyword dropped; the text we emit is the
    source's, so only the declared name has to be recovered here."""
    if stmt.type != "expression_statement" or not stmt.named_children:
        return []
    e = stmt.named_children[0]
    if e.type == "await_expression" and e.named_children:
        e = e.named_children[0]
    if e.type != "assignment_expression":
        return []
    left = e.child_by_field_name("left")
    if left is None or left.type != "identifier" or stmt.text is None:
        return []
    head = stmt.text[: left.start_byte - stmt.start_byte].split()
    return [left] if head[-1:] == [b"using"] else []
