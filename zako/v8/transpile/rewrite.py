"""ES module / TypeScript -> mini-racer-runnable code, by span edits on a
tree-sitter concrete syntax tree.

Why span edits: every erased or rewritten piece is replaced in place, with
newlines kept, so line *n* of the output is line *n* of the source and
stack traces need no source map. Erased type syntax becomes spaces, so
columns hold too, except on lines where an ``export default``, an enum or a
parameter property is rewritten.

Module semantics (see ``docs/modules.md``): the module body runs inside an
async generator nested in a sloppy-mode ``with (scope)`` block, where
``scope`` has one getter per imported binding. Imports therefore stay live
and are shadowed by local declarations exactly as the language resolves
names -- no identifier rewriting and no scope analysis of ours. The body
itself is strict (modules always are).
"""

from __future__ import annotations

import itertools
import json
import re
import threading

import tree_sitter
import tree_sitter_typescript

from ..errors import TranspileError
from . import early_errors, module_repair
from . import ts_class, ts_enum, ts_erase, ts_namespace, ts_repair, ts_scope
from .result import ExportEntry, ImportBinding, ModuleRequest, TransformResult

__all__ = ["rewrite_module", "parse_count", "HEAD_PREFIX"]

_LANGUAGE = tree_sitter.Language(tree_sitter_typescript.language_typescript())
_local = threading.local()
_parses = itertools.count()
_parse_total = 0
_parse_lock = threading.Lock()

# Line 1 of every module: nothing may be inserted before user code on its own line.
HEAD_PREFIX = '(function(__zako_s){with(__zako_s){return async function*(__zako_m){"use strict";'
# The body's end reports itself: a module whose body has not reached it
# after its first step is suspended in top-level await (see runtime.js).
_TAIL = "\n;__zako_m.f()}}})"
_DEFAULT_LOCAL = "__zako_d"

# Type-only syntax erased wherever it appears (the subtree is not visited).
_ERASE = frozenset(
    {
        "type_annotation",
        "type_predicate_annotation",
        "asserts_annotation",
        "type_parameters",
        "type_arguments",
        "implements_clause",
        "accessibility_modifier",
        "override_modifier",
        "index_signature",
        "method_signature",
        "abstract_method_signature",
    }
)
# Statements that are types only; erased with a ';' kept so ASI cannot join
# the statements around them.
_ERASE_STATEMENT = frozenset({"interface_declaration", "type_alias_declaration", "ambient_declaration", "function_signature"})
_DECLARATION_NAMES = frozenset(
    {"function_declaration", "generator_function_declaration", "class_declaration", "abstract_class_declaration", "enum_declaration"}
)
_FUNCTION_LIKE = frozenset(
    {
        "function_declaration",
        "generator_function_declaration",
        "function_expression",
        "generator_function",
        "arrow_function",
        "method_definition",
        "function",
    }
)


_ESCAPE = re.compile(r"\\(u\{[0-9A-Fa-f]+\}|u[0-9A-Fa-f]{4}|x[0-9A-Fa-f]{2}|\r\n|[\s\S])")
# every byte but CR and LF becomes a space (UTF-8 continuation bytes too)
_BLANK = bytes(c if c in b"\r\n" else 0x20 for c in range(256))
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_SIMPLE_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "v": "\v", "0": "\0"}


# Node types visit() acts on; every other node is only descended into.
_SPECIAL = (
    _ERASE
    | _ERASE_STATEMENT
    | {
        "identifier",
        "shorthand_property_identifier",
        "as_expression",
        "satisfies_expression",
        "non_null_expression",
        "type_assertion",
        "internal_module",
        "module",
        "decorator",
        "enum_declaration",
        "meta_property",
        "return_statement",
        "yield_expression",
        "import_statement",
        "export_statement",
        "call_expression",
        "abstract_class_declaration",
        "public_field_definition",
        "variable_declarator",
        "optional_parameter",
        "method_definition",
        "formal_parameters",
        "binary_expression",
        "import_alias",
        "arrow_function",
    }
)


def parse_count() -> int:
    """How many sources this process has parsed (cache hits do not parse)."""
    return _parse_total


def _parser() -> tree_sitter.Parser:
    # A tree-sitter Parser is not thread-safe; one per thread is cheap.
    parser = getattr(_local, "parser", None)
    if parser is None:
        parser = _local.parser = tree_sitter.Parser(_LANGUAGE)
    return parser


def _parse(src: bytes) -> tree_sitter.Tree:
    global _parse_total
    tree = _parser().parse(src)
    with _parse_lock:
        _parse_total += 1
    return tree


class _Rewriter:
    def __init__(self, src: bytes, filename: str, typescript: bool, repairs: ts_repair.Repairs | None = None) -> None:
        self.src = src
        # what tree-sitter parsed (same offsets as src; see ts_repair)
        self.parsed = bytes(repairs.src) if repairs is not None else src
        self.repairs = repairs
        # enums and namespaces: names declared per statement list, enum members so far
        self.ts_declared: dict[int, set[str]] = {}
        self.ts_enum_members: dict[tuple[int, str], dict[str, object]] = {}
        self.ts_ns_vars: dict[tuple[int, str], set[str]] = {}
        self.ts_aliases: list[tuple[tree_sitter.Node, bool]] = []
        self.ts_merged: set[str] = set()
        self.import_refs: dict[str, list[tree_sitter.Node]] = {}  # top-level enum and namespace names (declarations merge)
        self.filename = filename
        self.typescript = typescript
        self.default_rename = False  # `export default function(){}`: name it "default"
        self.has_tla = False  # awaits at its top level: the runtime evaluates it as async
        self.edits: list[tuple[int, int, bytes]] = []
        self.requests: list[ModuleRequest] = []
        self.request_index: dict[tuple[str, tuple[tuple[str, str], ...], bool], int] = {}
        self.bindings: list[ImportBinding] = []
        self.binding_nodes: dict[str, tree_sitter.Node] = {}
        # import statements with bindings, for TypeScript's elision of type-only imports
        self.import_groups: list[list[int]] = []
        self.side_effect_requests: set[int] = set()
        self.exports: list[ExportEntry] = []
        self.local_export_nodes: dict[str, tree_sitter.Node] = {}
        self.star_exports: list[int] = []
        self.dynamic_requests: set[int] = set()
        self.dynamic_sites: list[tuple[int, int, int]] = []
        self.type_names: set[str] = set()
        self.value_names: set[str] = set()  # top-level value declarations
        self.referenced: set[str] = set()  # identifiers used in value positions

    # --- helpers -----------------------------------------------------------

    def text(self, node: tree_sitter.Node) -> str:
        return self.src[node.start_byte : node.end_byte].decode("utf-8", "surrogatepass")

    def error(self, node: tree_sitter.Node, message: str) -> TranspileError:
        line, col = node.start_point.row + 1, node.start_point.column + 1
        return TranspileError(f"{self.filename}:{line}:{col}: {message}", file=self.filename, line=line, column=col)

    def require_ts(self, node: tree_sitter.Node) -> None:
        if not self.typescript:
            raise self.error(node, f"TypeScript syntax ({node.type}) in a JavaScript module; rename the file to .ts")

    def blank(self, start: int, end: int, prefix: bytes = b"") -> None:
        """Replace [start, end) with ``prefix`` then spaces, keeping every newline."""
        body = self.src[start:end].translate(_BLANK)
        if prefix:
            first_nl = min((i for i in (body.find(b"\n"), body.find(b"\r")) if i >= 0), default=len(body))
            if first_nl >= len(prefix):
                body = prefix + body[len(prefix) :]
            else:
                body = prefix + body
        self.edits.append((start, end, body))

    def replace(self, start: int, end: int, text: str) -> None:
        """Replace [start, end) with ``text``, padded to keep columns when it fits
        and followed by the span's newlines so later lines do not move."""
        chunk = self.src[start:end]
        new = text.encode()
        newlines = chunk.count(b"\n")
        if newlines:
            new += b"\n" * newlines
        elif len(new) < len(chunk):
            new += b" " * (len(chunk) - len(new))
        self.edits.append((start, end, new))

    def insert(self, at: int, text: str) -> None:
        self.edits.append((at, at, text.encode()))

    def child_of_type(self, node: tree_sitter.Node, type_: str) -> tree_sitter.Node | None:
        for c in node.children:
            if c.type == type_:
                return c
        return None

    def string_value(self, node: tree_sitter.Node) -> str:
        raw = self.text(node)
        if node.type != "string" or len(raw) < 2:
            raise self.error(node, f"expected a string literal, got {raw!r}")
        body = raw[1:-1]
        if "\\" not in body:
            return body

        def unescape(m: re.Match[str]) -> str:
            e = m.group(1)
            if e[0] in "xu":
                return chr(int(e[2:-1] if e.startswith("u{") else e[1:], 16))
            if e[0] in "\r\n\u2028\u2029":
                return ""  # line continuation
            return _SIMPLE_ESCAPES.get(e, e)

        try:
            return _ESCAPE.sub(unescape, body)
        except ValueError:
            raise self.error(node, f"unsupported escape in string literal {raw}") from None

    def module_export_name(self, node: tree_sitter.Node) -> str:
        if node.type != "string":
            return _identifier_name(self.text(node))
        # `\uD83D\uDE00` escapes decode to two halves: join them (UTF-16
        # round trip); a half left alone is a SyntaxError (ESM export names
        # must be well-formed Unicode).
        name = self.string_value(node).encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")
        if _LONE_SURROGATE.search(name):
            raise self.error(node, f"export name {self.text(node)} is not well-formed Unicode (unpaired surrogate)")
        return name

    def request(self, source: tree_sitter.Node, attributes: tuple[tuple[str, str], ...] = (), dynamic: bool = False) -> int:
        spec = self.string_value(source)
        key = (spec, attributes, dynamic)
        idx = self.request_index.get(key)
        if idx is None:
            idx = len(self.requests)
            self.request_index[key] = idx
            self.requests.append(
                ModuleRequest(spec, attributes, source.start_point.row + 1, source.start_point.column + 1, dynamic)
            )
        return idx

    def attributes(self, stmt: tree_sitter.Node) -> tuple[tuple[str, str], ...]:
        attr = self.child_of_type(stmt, "import_attribute")
        if attr is None:
            return ()
        obj = self.child_of_type(attr, "object")
        out: dict[str, str] = {}
        for pair in obj.named_children if obj is not None else ():
            if pair.type == "comment":
                continue
            key = pair.child_by_field_name("key")
            value = pair.child_by_field_name("value")
            if pair.type != "pair" or key is None or value is None or value.type != "string":
                raise self.error(pair, "import attributes must be `key: \"string\"` pairs")
            name = self.string_value(key) if key.type == "string" else self.text(key)
            if name != "type":
                raise self.error(pair, f"unsupported import attribute {name!r} (only `type` is supported)")
            kind = self.string_value(value)
            if kind != "json":
                raise self.error(value, f"unsupported module type {kind!r} (only \"json\" is supported)")
            out[name] = kind
        return tuple(sorted(out.items()))

    def pattern_names(self, node: tree_sitter.Node, out: list[str]) -> None:
        """Bound names of a binding pattern (identifiers, destructuring, rest, defaults)."""
        t = node.type
        if t in ("identifier", "shorthand_property_identifier_pattern"):
            out.append(self.text(node))
        elif t == "pair_pattern":
            value = node.child_by_field_name("value")
            if value is not None:
                self.pattern_names(value, out)
        elif t in ("assignment_pattern", "object_assignment_pattern"):
            left = node.child_by_field_name("left")
            if left is not None:
                self.pattern_names(left, out)
        elif t in ("object_pattern", "array_pattern", "rest_pattern"):
            for c in node.named_children:
                self.pattern_names(c, out)

    def declared_names(self, decl: tree_sitter.Node) -> list[str]:
        names: list[str] = []
        if decl.type in ("lexical_declaration", "variable_declaration"):
            for d in decl.named_children:
                if d.type == "variable_declarator":
                    self.pattern_names(d.child_by_field_name("name"), names)
        elif decl.type in _DECLARATION_NAMES:
            name = decl.child_by_field_name("name")
            if name is not None:
                names.append(self.text(name))
        elif decl.type in ("internal_module", "module", "import_alias"):
            names.extend(ts_namespace.declared_name(self, decl))
        return names

    # --- top level ---------------------------------------------------------

    def run(self, root: tree_sitter.Node) -> None:
        if root.has_error:
            bad = self.first_error(root)
            what = "missing " + bad.type if bad.is_missing else "unexpected " + repr(self.text(bad)[:30])
            raise self.error(bad, f"syntax error: {what}")
        self.has_tla = early_errors.check_module(root, self.error)
        if not self.has_tla and self.repairs is not None and self.repairs.awaits:
            self.has_tla = early_errors.awaits_at_top_level(root, self.repairs.awaits)
        for stmt in root.children:
            t = stmt.type
            if t == "import_statement":
                self.import_statement(stmt)
            elif t == "export_statement":
                self.export_statement(stmt)
            elif t == "hash_bang_line":
                self.blank(stmt.start_byte, stmt.end_byte)
            else:
                if t in ("lexical_declaration", "variable_declaration") or t in _DECLARATION_NAMES:
                    self.value_names.update(self.declared_names(stmt))
                elif t == "expression_statement":  # `using x = ...` (exportable by name)
                    self.value_names.update(self.text(n) for n in early_errors.using_names(stmt))
                elif t in ("interface_declaration", "type_alias_declaration"):
                    name = stmt.child_by_field_name("name")
                    if name is not None:
                        self.type_names.add(self.text(name))
                self.visit(stmt)

    def first_error(self, root: tree_sitter.Node) -> tree_sitter.Node:
        stack = [root]
        while stack:
            n = stack.pop()
            if n.type == "ERROR" or n.is_missing:
                return n
            if n.has_error:
                stack.extend(reversed(n.children))
        return root

    def import_statement(self, stmt: tree_sitter.Node) -> None:
        if self.child_of_type(stmt, "import_require_clause") is not None:
            raise self.error(stmt, "`import x = require(...)` is not supported; use an ES import")
        if any(c.type == "type" for c in stmt.children):  # import type {...}
            self.require_ts(stmt)
            self.blank(stmt.start_byte, stmt.end_byte, b";")
            return
        source = stmt.child_by_field_name("source")
        idx = self.request(source, self.attributes(stmt))
        clause = self.child_of_type(stmt, "import_clause")
        group: list[int] = []
        if clause is None:
            self.side_effect_requests.add(idx)
        else:
            for c in clause.named_children:
                if c.type == "identifier":
                    group.append(self.bind(self.text(c), idx, "default", c))
                elif c.type == "namespace_import":
                    ident = self.child_of_type(c, "identifier")
                    group.append(self.bind(self.text(ident), idx, "*", ident))
                elif c.type == "named_imports":
                    for spec in c.named_children:
                        if spec.type != "import_specifier":
                            continue
                        if any(k.type == "type" for k in spec.children):
                            self.require_ts(spec)
                            continue
                        name = spec.child_by_field_name("name")
                        alias = spec.child_by_field_name("alias")
                        imported = self.module_export_name(name)
                        local = self.text(alias) if alias is not None else imported
                        group.append(self.bind(local, idx, imported, alias if alias is not None else name))
            if group:
                self.import_groups.append(group)
            elif not self.typescript:
                # `import {} from "x"` still loads x; in TypeScript an import of
                # types only (`import { type A } from`) is elided entirely.
                self.side_effect_requests.add(idx)
        self.blank(stmt.start_byte, stmt.end_byte, b";")

    def bind(self, local: str, request: int, imported: str, node: tree_sitter.Node) -> int:
        # ESM makes a name bound twice at module level a SyntaxError; so do we
        # (the `with` scope would otherwise let one silently shadow the other).
        if local in self.binding_nodes:
            raise self.error(node, f"duplicate import of {local!r}")
        self.binding_nodes[local] = node
        self.bindings.append(ImportBinding(local, request, imported))
        return len(self.bindings) - 1

    def export_statement(self, stmt: tree_sitter.Node) -> None:
        kids = stmt.children
        if any(c.type == "type" for c in kids):  # export type {...} [from]
            self.require_ts(stmt)
            self.blank(stmt.start_byte, stmt.end_byte, b";")
            return
        if any(c.type == "=" for c in kids):
            raise self.error(stmt, "`export =` is not supported; use `export default`")
        if any(c.type == "decorator" for c in kids):
            raise self.error(self.child_of_type(stmt, "decorator"), "decorators are not supported")
        source = stmt.child_by_field_name("source")
        declaration = stmt.child_by_field_name("declaration")
        value = stmt.child_by_field_name("value")
        is_default = any(c.type == "default" for c in kids)

        if source is not None:
            attributes = self.attributes(stmt)
            if not attributes:  # the grammar has none on re-exports (see module_repair)
                try:
                    found = module_repair.reexport_attributes(self.src, source.end_byte)
                except ValueError as exc:
                    raise self.error(source, str(exc)) from None
                if found is not None:
                    attributes = found[0]
                    if attributes and attributes[0][1] != "json":
                        raise self.error(source, f"unsupported module type {attributes[0][1]!r} (only \"json\" is supported)")
            idx = self.request(source, attributes)
            self.side_effect_requests.add(idx)  # `export {} from` still evaluates it
            clause = self.child_of_type(stmt, "export_clause")
            ns_export = self.child_of_type(stmt, "namespace_export")
            if clause is not None:
                for spec in clause.named_children:
                    if spec.type != "export_specifier":
                        continue
                    if any(k.type == "type" for k in spec.children):
                        self.require_ts(spec)
                        continue
                    name = self.module_export_name(spec.child_by_field_name("name"))
                    alias = spec.child_by_field_name("alias")
                    exported = self.module_export_name(alias) if alias is not None else name
                    self.exports.append(ExportEntry(exported, request=idx, imported=name))
            elif ns_export is not None:
                name_node = [c for c in ns_export.named_children][-1]
                self.exports.append(ExportEntry(self.module_export_name(name_node), request=idx, imported="*"))
            else:
                self.star_exports.append(idx)
            self.blank(stmt.start_byte, stmt.end_byte, b";")
            return

        if declaration is not None:
            t = declaration.type
            if t in _ERASE_STATEMENT:
                self.require_ts(declaration)
                if t in ("interface_declaration", "type_alias_declaration"):
                    name = declaration.child_by_field_name("name")
                    if name is not None:
                        self.type_names.add(self.text(name))
                self.blank(stmt.start_byte, stmt.end_byte, b";")
                return
            if t in ("internal_module", "module", "import_alias") and ts_namespace.export_hook(self, stmt, declaration):
                return
            names = self.declared_names(declaration)
            if not names:
                raise self.error(declaration, f"cannot export this declaration ({t})")
            self.value_names.update(names)
            if is_default:
                self.exports.append(ExportEntry("default", local=names[0]))
            else:
                for n in names:
                    self.exports.append(ExportEntry(n, local=n))
            self.blank(stmt.start_byte, declaration.start_byte)
            self.visit(declaration)
            return

        if is_default and value is not None:
            t = value.type
            rest = None
            if t == "call_expression" and value.children[0].type in ("function_expression", "generator_function", "class"):
                # `export default function(){}\n(x)`: a declaration, then an
                # expression statement -- never a call (the tree reads a call).
                fn, args = value.children[0], value.child_by_field_name("arguments")
                if args is None or args.type != "arguments" or not args.named_children:
                    raise self.error(args or value, "an `export default` function or class declaration cannot be called")
                value, rest, t = fn, args, fn.type
            if t in ("function_expression", "generator_function", "class", "function", "abstract_class_declaration"):
                name = value.child_by_field_name("name")
                if name is not None:
                    local = self.text(name)
                    self.blank(stmt.start_byte, value.start_byte)
                else:
                    local = _DEFAULT_LOCAL
                    keyword = None
                    for c in value.children:
                        if c.type in ("function", "class", "*"):
                            keyword = c
                        elif c.is_named:
                            break
                    if keyword is None:
                        raise self.error(value, "cannot name this default export")
                    if t in ("class", "abstract_class_declaration"):
                        # A class is named when defined (static blocks see it):
                        # a property definition names it "default", as ESM does.
                        self.replace(stmt.start_byte, value.start_byte, f"const {_DEFAULT_LOCAL}=({{default:")
                        self.insert(value.end_byte, "}).default;")
                    else:
                        self.blank(stmt.start_byte, value.start_byte)
                        self.insert(keyword.end_byte, " " + _DEFAULT_LOCAL)
                        # hoisted: named in the head, before any body runs
                        self.default_rename = True
                self.value_names.add(local)
                self.exports.append(ExportEntry("default", local=local))
                self.visit(value)
                if rest is not None:
                    self.insert(value.end_byte, ";")
                    self.visit(rest)
                return
            if _anonymous_function(value):
                # NamedEvaluation: an anonymous function or class gets the name "default".
                self.replace(stmt.start_byte, value.start_byte, f"const {_DEFAULT_LOCAL}=({{default:")
                self.insert(value.end_byte, "}).default")
            else:
                self.replace(stmt.start_byte, value.start_byte, f"const {_DEFAULT_LOCAL} =")
            self.value_names.add(_DEFAULT_LOCAL)
            self.exports.append(ExportEntry("default", local=_DEFAULT_LOCAL))
            self.visit(value)
            return

        clause = self.child_of_type(stmt, "export_clause")
        if clause is not None:
            for spec in clause.named_children:
                if spec.type != "export_specifier":
                    continue
                if any(k.type == "type" for k in spec.children):
                    self.require_ts(spec)
                    continue
                name_node = spec.child_by_field_name("name")
                alias = spec.child_by_field_name("alias")
                local = self.text(name_node)
                exported = self.module_export_name(alias) if alias is not None else local
                self.exports.append(ExportEntry(exported, local=local))
                self.local_export_nodes.setdefault(local, name_node)
                self.referenced.add(local)
            self.blank(stmt.start_byte, stmt.end_byte, b";")
            return
        raise self.error(stmt, "unsupported export form")

    # --- everything below the top level ------------------------------------

    def visit(self, node: tree_sitter.Node) -> None:
        stack = [node]
        special = _SPECIAL
        while stack:
            n = stack.pop()
            t = n.type
            if t not in special:  # most nodes: nothing to do but descend
                if n.child_count:
                    stack.extend(reversed(n.children))
                continue
            if t in _ERASE:
                self.require_ts(n)
                self.blank(n.start_byte, n.end_byte)
                continue
            if t in _ERASE_STATEMENT:
                self.require_ts(n)
                self.blank(n.start_byte, n.end_byte, b";")
                continue
            children = n.children
            if t == "identifier" or t == "shorthand_property_identifier":
                if self.typescript:  # only TypeScript elides unused imports
                    word = self.text(n)
                    if word in self.binding_nodes and word not in self.referenced:
                        # a use of an imported name counts only if no local shadows it (checked in finish)
                        self.import_refs.setdefault(word, []).append(n)
                    else:
                        self.referenced.add(word)
                continue
            if t in ("as_expression", "satisfies_expression"):
                self.require_ts(n)
                kw = self.child_of_type(n, "as" if t == "as_expression" else "satisfies")
                self.blank(kw.start_byte, ts_erase.cast_end(n))
                stack.append(children[0])
                continue
            if t == "non_null_expression":
                self.require_ts(n)
                self.blank(children[-1].start_byte, children[-1].end_byte)
                stack.append(children[0])
                continue
            if t == "type_assertion":
                self.require_ts(n)
                for c in children:
                    if c.type == "type_arguments":
                        self.blank(c.start_byte, c.end_byte)
                    else:
                        stack.append(c)
                continue
            if t in ("internal_module", "module"):
                ts_namespace.emit_namespace(self, n)
                continue
            if t == "import_alias":
                ts_namespace.import_alias(self, n)
                continue
            if t == "decorator":
                raise self.error(n, "decorators are not supported")
            if t == "enum_declaration":
                self.require_ts(n)
                self.enum(n, stack)
                continue
            if t == "meta_property":
                if children and children[0].type == "import":  # new.target keeps its meaning
                    self.replace(n.start_byte, n.end_byte, "__zako_m.meta")
                continue
            if t in ("return_statement", "yield_expression") and self.at_module_level(n):
                # The body runs inside our generator: a top-level yield would
                # suspend it half-way, a return would end it. ESM forbids both.
                word = "return" if t == "return_statement" else "yield"
                raise self.error(n, f"`{word}` outside a function is not allowed in a module")
            if t in ("import_statement", "export_statement"):
                raise self.error(n, f"{t.split('_')[0]} declarations may only appear at the top level of a module")
            if t == "arrow_function":
                if self.typescript:
                    children = ts_erase.arrow_return_children(self, n, children)
                stack.extend(reversed(children))
                continue
            if t == "binary_expression":
                if self.typescript and children[1].type == "<":
                    span = ts_repair.generic_call_span(self.parsed, children[1].start_byte, _parser().parse)
                    if span is not None:
                        raise ts_repair.Reparse(*span)
                stack.extend(reversed(children))
                continue
            if t == "call_expression" and children and children[0].type == "import":
                self.dynamic_import(n)
                continue
            if t == "abstract_class_declaration":
                self.require_ts(n)
                for c in children:
                    if c.type == "abstract":
                        self.blank(c.start_byte, c.end_byte)
            elif t == "public_field_definition":
                if self.repairs is not None and self.repairs.accessors:
                    ts_class.accessor_field(self, n, self.repairs.accessors)
                if any(c.type in ("declare", "abstract") for c in children):
                    self.require_ts(n)
                    self.blank(n.start_byte, n.end_byte)
                    continue
                for c in children:
                    if c.type in ("?", "!", "readonly"):
                        self.require_ts(c)
                        self.blank(c.start_byte, c.end_byte)
            elif t == "variable_declarator":
                for c in children:
                    if c.type == "!":
                        self.require_ts(c)
                        self.blank(c.start_byte, c.end_byte)
            elif t == "optional_parameter":
                self.require_ts(n)
                for c in children:
                    if c.type == "?":
                        self.blank(c.start_byte, c.end_byte)
            elif t == "method_definition":
                for c in children:
                    if c.type == "?":
                        self.require_ts(c)
                        self.blank(c.start_byte, c.end_byte)
                name = n.child_by_field_name("name")
                if name is not None and self.text(name) == "constructor":
                    self.parameter_properties(n)
            elif t == "formal_parameters":
                # `this: T` parameter: erase it and its comma
                params = n.children
                for i, c in enumerate(params):
                    if c.type == "required_parameter":
                        pat = c.child_by_field_name("pattern")
                        if pat is not None and pat.type == "this":
                            self.require_ts(c)
                            end = c.end_byte
                            if i + 1 < len(params) and params[i + 1].type == ",":
                                end = params[i + 1].end_byte
                            self.blank(c.start_byte, end)
                            children = [x for x in children if x is not c]
            stack.extend(reversed(children))

    @staticmethod
    def at_module_level(n: tree_sitter.Node) -> bool:
        p = n.parent
        while p is not None:
            if p.type in _FUNCTION_LIKE or p.type == "class_static_block":
                return False
            p = p.parent
        return True

    def dynamic_import(self, n: tree_sitter.Node) -> None:
        args = n.child_by_field_name("arguments")
        real = [a for a in (args.named_children if args is not None else []) if a.type != "comment"]
        if len(real) != 1 or real[0].type != "string":
            raise self.error(n, "dynamic import() needs one string literal specifier (the module graph is resolved before running)")
        idx = self.request(real[0], dynamic=True)
        self.dynamic_requests.add(idx)
        # written in finish(), once request indices are final
        self.dynamic_sites.append((n.start_byte, n.end_byte, idx))

    def parameter_properties(self, method: tree_sitter.Node) -> None:
        ts_class.parameter_properties(self, method)

    def enum(self, n: tree_sitter.Node, stack: list[tree_sitter.Node]) -> None:
        ts_enum.emit_enum(self, n, stack)

    # --- result --------------------------------------------------------------

    def finish(self) -> TransformResult:
        if self.ts_aliases:
            ts_namespace.finish_aliases(self)
        for local, node in self.binding_nodes.items():
            if local in self.value_names:
                raise self.error(node, f"{local!r} is imported and also declared in this module")
        # Local exports of type-only names vanish (TypeScript elides them);
        # exports of undeclared names are an error, as in ESM.
        imported_locals = {b.local for b in self.bindings}
        exports: list[ExportEntry] = []
        for e in self.exports:
            if e.local is not None and e.local not in self.value_names and e.local not in imported_locals:
                if e.local in self.type_names:
                    continue
                node = self.local_export_nodes.get(e.local)
                if node is not None:
                    raise self.error(node, f"export of undeclared name {e.local!r}")
            exports.append(e)
        seen: dict[str, ExportEntry] = {}
        if self.ts_merged:  # `export enum E` / `export namespace N` twice: one binding, merged
            exports = [e for i, e in enumerate(exports) if not (e.local in self.ts_merged and e in exports[:i])]
        for e in exports:
            if e.name in seen:
                raise TranspileError(f"{self.filename}: duplicate export {e.name!r}", file=self.filename)
            seen[e.name] = e

        # TypeScript elides imports whose bindings are never used as values
        # (they named types); an import left with no bindings is dropped.
        keep_binding = [True] * len(self.bindings)
        used_requests: set[int] = set(self.side_effect_requests) | set(self.star_exports) | self.dynamic_requests
        used_requests.update(e.request for e in exports if e.request is not None)
        if self.typescript:
            for group in self.import_groups:
                for b in group:
                    local = self.bindings[b].local
                    if local not in self.referenced and all(
                        ts_scope.shadowed(self, ref, local) for ref in self.import_refs.get(local, ())
                    ):
                        keep_binding[b] = False
        for i, b in enumerate(self.bindings):
            if keep_binding[i]:
                used_requests.add(b.request)
        remap: dict[int, int] = {}
        requests: list[ModuleRequest] = []
        for i, r in enumerate(self.requests):
            if i in used_requests:
                remap[i] = len(requests)
                requests.append(r)
        for start, end, idx in self.dynamic_sites:
            self.replace(start, end, f"__zako_m.i({remap[idx]})")
        bindings = tuple(
            ImportBinding(b.local, remap[b.request], b.imported) for i, b in enumerate(self.bindings) if keep_binding[i]
        )
        exports_out = tuple(
            ExportEntry(e.name, e.local, remap[e.request], e.imported) if e.request is not None else e for e in exports
        )

        if self.repairs is not None:
            for start, end in self.repairs.blanked:
                self.blank(start, end)
        out = bytearray()
        pos = 0
        for start, end, text in sorted(self.edits, key=lambda x: (x[0], x[0] != x[1], -x[1])):
            if start < pos:
                if end <= pos and self.repairs is not None:
                    continue  # a repair blank inside a span erased anyway
                raise AssertionError(f"overlapping edits at byte {start} in {self.filename}")
            out += self.src[pos:start]
            out += text
            pos = end
        out += self.src[pos:]
        body = out.decode("utf-8", "surrogatepass")
        getters = ",".join(
            f"{json.dumps(local)}:()=>{local}" for local in dict.fromkeys(e.local for e in exports_out if e.local is not None)
        )
        rename = (f'Object.defineProperty({_DEFAULT_LOCAL},"name",{{value:"default",configurable:true}});'
                  if self.default_rename else "")
        if self.has_tla:
            rename += "__zako_m.a();"
        code = f"{HEAD_PREFIX}__zako_m.x({{{getters}}});{rename}yield;{body}{_TAIL}"
        return TransformResult(
            code=code,
            requests=tuple(requests),
            bindings=bindings,
            exports=exports_out,
            star_exports=tuple(remap[i] for i in self.star_exports),
            typescript=self.typescript,
        )


def _identifier_name(text: str) -> str:
    """The name an identifier spells: `export { x as \\u03bc }` exports "μ"."""
    if "\\" not in text:
        return text
    return re.sub(r"\\u\{([0-9A-Fa-f]+)\}|\\u([0-9A-Fa-f]{4})", lambda m: chr(int(m.group(1) or m.group(2), 16)), text)


def _anonymous_function(n: tree_sitter.Node) -> bool:
    """IsAnonymousFunctionDefinition, parentheses looked through."""
    while n.type == "parenthesized_expression" and n.named_children:
        n = n.named_children[0]
    if n.type == "arrow_function":
        return True
    return n.type in ("function_expression", "generator_function", "class", "function") and n.child_by_field_name("name") is None


def rewrite_module(source: str, *, filename: str, typescript: bool) -> TransformResult:
    """Parse and transform one module. Raises ``TranspileError`` (file:line:col)."""
    if source.startswith("\ufeff"):
        source = " " + source[1:]  # keep columns; a BOM is not code
    src = source.encode("utf-8", "surrogatepass")
    tree = _parse(src)
    repairs = None
    if tree.root_node.has_error or (typescript and ts_repair.needs_repairs(src, tree)):
        repairs = ts_repair.lexical_repairs(src, tree, _parser().parse, typescript)
        if repairs is not None:
            repaired = _parse(bytes(repairs.src))
            if repairs.imports and ts_repair.undo_value_imports(repairs, repaired, src):
                repaired = _parse(bytes(repairs.src))
            if repaired.root_node.has_error:
                repairs = None  # the error is the user's: report it on the original text
            else:
                tree = repaired
    if repairs is None and module_repair.needs_repair(tree):
        # module syntax the grammar lacks (re-export attributes, `export` on
        # its own line...): kept only if it makes the text parse
        repairs = module_repair.module_repairs(src, tree, _parse)
        if repairs is not None:
            tree = _parse(bytes(repairs.src))
    # A `<` tree-sitter read as a comparison that TypeScript reads as type
    # arguments: blank them and parse again (rare; bounded by the count of `<`).
    for _ in range(src.count(b"<") + 1):
        rw = _Rewriter(src, filename, typescript, repairs)
        try:
            rw.run(tree.root_node)
        except ts_repair.Reparse as again:
            if repairs is None:
                repairs = ts_repair.Repairs(src)
            repairs.blank(again.start, again.end)
            tree = _parse(bytes(repairs.src))
            continue
        return rw.finish()
    raise AssertionError(f"type-argument repairs did not converge in {filename}")
