"""Source repairs for valid TypeScript that tree-sitter-typescript 0.23
misreads, applied before (re)parsing.

Every repair keeps the source's length and newlines: it either blanks
type-only text (which erasure would blank anyway) or swaps a word for one of
the same length that parses the same way. The rewriter parses the repaired
text but builds its output from the original, so a swapped word comes back
untouched unless it sat in erased type syntax; blanked spans are handed back
as edits.

Two kinds:

- ``lexical_repairs``: only when a parse has errors; each pattern is a known
  grammar gap (``accessor`` fields, ``using x: T``, variance ``in``/``out``,
  ``export type *``, ``import("m").T<A>`` in types, members named
  ``abstract``, ``accessor`` or ``in``, invalid escapes in tagged templates).
- ``generic_call_span``: a ``<`` that tree-sitter read as a comparison but
  TypeScript reads as type arguments of a call or tagged template
  (``g(await f<A, B>(x))``, ``` tag<T>`x` ```, ``f<typeof import("./x")>(1)``).
"""

from __future__ import annotations

import re

import tree_sitter

__all__ = ["Repairs", "Reparse", "needs_repairs", "lexical_repairs", "generic_call_span"]

_BLANK = bytes(c if c in b"\r\n" else 0x20 for c in range(256))

# `accessor` before a member name on the same line (a field named `accessor`
# is followed by `=`, `;`, `(`, `?`, `:` or a line break instead).
_ACCESSOR = re.compile(rb"(?<![\w$.#])accessor[ \t]+(?=[#\w$\[\"'])")
_USING = re.compile(rb"(?<![\w$.#])(?:await[ \t]+)?using[ \t]+(?=[\w$]+[ \t]*[:=])")
# (a line comment must end its line: `//[^\n]*` alone backtracks exponentially on `////` banners)
_VARIANCE = re.compile(
    rb"(?<=[<,])((?:\s|/\*[\s\S]*?\*/|//[^\n]*\n)*)((?:in[ \t]+out|in|out)[ \t]+)(?=[\w$]+\s*(?:[,>=]|extends\b))"
)
_EXPORT_TYPE_STAR = re.compile(rb"export\s+type\s+\*(?:\s+as\s+[\w$]+)?\s+from\s*(?:\"[^\"\n]*\"|'[^'\n]*')[ \t]*;?")
_IMPORT_TYPE_ARGS = re.compile(rb"import\s*\(\s*(?:\"[^\"\n]*\"|'[^'\n]*')\s*\)(?:\s*\.\s*[\w$]+)+\s*(?=<)")
_IMPORT_CALL = re.compile(rb"(?<![\w$.])import[ \t]*\([ \t]*(?:\"[^\"\n]*\"|'[^'\n]*')[ \t]*\)")
# member names tree-sitter lexes as keywords (`in?: T`, and `in2: T` after a
# line break, read as the `in` operator); only the first letter is swapped
_ABSTRACT_NAME = re.compile(rb"(?<![\w$.#'\"])(?:(?:abstract|accessor)(?=\s*[?:=;(,}])|in(?=[\w$]*\??:))")
_LT = re.compile(rb"[\w$)\]][ \t]*<(?![<=])")
_BAD_ESCAPE = re.compile(rb"\\(?:u(?![0-9A-Fa-f]{4}|\{[0-9A-Fa-f]+\})|x(?![0-9A-Fa-f]{2}))")


class Repairs:
    """The repaired text, the spans blanked in it (as output edits), and
    where an ``accessor`` keyword was taken out (by byte offset)."""

    __slots__ = ("src", "blanked", "accessors", "using", "imports", "awaits")

    def __init__(self, src: bytes) -> None:
        self.src = bytearray(src)
        # where `for (await using` lost its `await` to the parse: a top-level
        # one still makes the module async
        self.awaits: list[int] = []
        self.blanked: list[tuple[int, int]] = []
        self.accessors: set[int] = set()
        self.using: list[int] = []
        self.imports: list[tuple[int, int]] = []

    def blank(self, start: int, end: int) -> None:
        self.src[start:end] = bytes(self.src[start:end]).translate(_BLANK)
        self.blanked.append((start, end))

    def swap(self, start: int, word: bytes) -> None:
        self.src[start : start + len(word)] = word


def _skip(tree: tree_sitter.Tree, at: int) -> bool:
    """True when ``at`` is inside a comment or a string, where no repair applies."""
    node = tree.root_node.descendant_for_byte_range(at, at + 1)
    while node is not None:
        if node.type in ("comment", "string", "string_fragment", "regex"):
            return True
        if node.type in ("template_string", "program", "statement_block", "class_body"):
            return False
        node = node.parent
    return False


_TYPE_CONTEXT = frozenset(
    {"type_annotation", "type_arguments", "type_parameters", "type_alias_declaration", "interface_declaration",
     "ambient_declaration", "type_predicate_annotation", "asserts_annotation", "implements_clause", "extends_type_clause"}
)


def undo_value_imports(r: Repairs, tree: tree_sitter.Tree, original: bytes) -> bool:
    """Put back every swapped ``import(...)`` that the repaired tree shows in
    a value position. Returns True when something was put back (parse again)."""
    undone = False
    for start, end in list(r.imports):
        if any(a <= start and end <= b for a, b in r.blanked):
            continue  # inside type arguments taken out as a whole
        node = tree.root_node.descendant_for_byte_range(start, end)
        in_type = False
        while node is not None:
            if node.type in _TYPE_CONTEXT or (node.type.endswith("_type") and node.type != "expression_statement"):
                in_type = True
                break
            parent = node.parent
            if parent is not None and parent.type in ("as_expression", "satisfies_expression") and parent.children[0] != node:
                in_type = True
                break
            node = parent
        if not in_type:
            r.src[start:end] = original[start:end]
            r.imports.remove((start, end))
            undone = True
    return undone


def needs_repairs(src: bytes, tree: tree_sitter.Tree) -> bool:
    """Parse errors, or ``import("m").T<A>`` (which tree-sitter may misread
    without an error: ``x as import("m").T<A>[]``)."""
    return tree.root_node.has_error or (b"import" in src and _IMPORT_TYPE_ARGS.search(src) is not None)


def lexical_repairs(src: bytes, tree: tree_sitter.Tree, parse: "callable", typescript: bool = True) -> Repairs | None:
    """Repairs for the grammar gaps listed in the module docstring, or None
    when no pattern matches (the parse error is the user's). JavaScript
    gets only the two that are JavaScript too (fields named ``abstract`` /
    ``accessor``, invalid escapes in tagged templates)."""
    r = Repairs(src)
    found = False
    if not typescript:
        return _javascript_repairs(r, src, tree)
    # `import("m")` in a type becomes an identifier of the same length, which
    # every type form accepts (`import("m").T<A>[]`); a real import() call
    # that got swapped is put back by `undo_value_imports`
    for m in _IMPORT_CALL.finditer(src):
        if not _skip(tree, m.start()):
            r.swap(m.start(), b"_" * (m.end() - m.start()))
            r.imports.append((m.start(), m.end()))
            found = True
    # type arguments of calls whose argument list tree-sitter cannot read
    # once it took the `<` for a comparison (`f<typeof import("x")>(a,)`)
    for m in _LT.finditer(src):
        lt = m.end() - 1
        if any(a <= lt < b for a, b in r.blanked) or _skip(tree, lt):
            continue
        span = generic_call_span(bytes(r.src), lt, parse)
        if span is not None:
            r.blank(*span)
            found = True
    for m in _EXPORT_TYPE_STAR.finditer(src):
        if not _skip(tree, m.start()):
            r.blank(m.start(), m.end())
            found = True
    for m in _ACCESSOR.finditer(src):
        if not _skip(tree, m.start()):
            r.blank(m.start(), m.start() + len(b"accessor"))
            r.accessors.add(m.end())
            found = True
    for m in _USING.finditer(src):
        if not _skip(tree, m.start()):
            r.swap(m.start(), b"let".ljust(m.end() - m.start()))  # `await using` too
            r.using.append(m.start())
            found = True
    for m in _VARIANCE.finditer(src):
        if not _skip(tree, m.start()):
            r.blank(m.start(2), m.end(2))
            found = True
    return _javascript_repairs(r, src, tree, found)


def _javascript_repairs(r: Repairs, src: bytes, tree: tree_sitter.Tree, found: bool = False) -> Repairs | None:
    for m in _ABSTRACT_NAME.finditer(src):
        if not _skip(tree, m.start()):
            r.swap(m.start(), b"_" + m.group()[1:])
            found = True
    for m in _BAD_ESCAPE.finditer(src):
        node = tree.root_node.descendant_for_byte_range(m.start(), m.end())
        if node is not None and _in_template(node):
            r.swap(m.start(), b"\\\\")
            found = True
    return r if found else None


def _in_template(node: tree_sitter.Node) -> bool:
    while node is not None:
        if node.type == "template_string":
            return True
        if node.type in ("string", "comment", "program"):
            return False
        node = node.parent
    # an error node swallowed the template: look at the raw text instead
    return False


def _angle_end(src: bytes, start: int) -> int | None:
    """End offset (after ``>``) of the balanced ``<...>`` at ``start``."""
    depth = 0
    i, n = start, len(src)
    quote = 0
    while i < n:
        c = src[i]
        if quote:
            if c == 0x5C:
                i += 2
                continue
            if c == quote:
                quote = 0
        elif c in b"\"'`":
            quote = c
        elif c in b"<([{":
            depth += 1
        elif c in b")]}":
            depth -= 1
            if depth < 0:
                return None
        elif c == 0x3E:  # '>'
            if i > 0 and src[i - 1] == 0x3D:  # '=>' of a function type
                pass
            else:
                depth -= 1
                if depth == 0:
                    return i + 1
        elif c == 0x3B:  # ';' cannot be inside type arguments
            return None
        i += 1
    return None


def generic_call_span(src: bytes, lt: int, parse: "callable") -> tuple[int, int] | None:
    """If the ``<`` at ``lt`` opens type arguments of a call or tagged
    template (as TypeScript reads it), the span of those arguments.

    TypeScript's rule: ``<...>`` parses as type arguments and the next token
    is ``(`` or a template. We check the second part on the text and the
    first by parsing the arguments alone (``parse`` returns a tree)."""
    end = _angle_end(src, lt)
    if end is None:
        return None
    j = end
    while j < len(src) and src[j] in b" \t\r\n":
        j += 1
    if j >= len(src) or src[j] not in b"(`":
        return None
    # parsed as a type (`type _ = f<...>;`), which no expression reading can
    # take for a comparison
    probe = b"type _=f" + src[lt:end] + b";"
    root = parse(probe).root_node
    if root.has_error or root.named_child_count != 1:
        return None
    alias = root.named_children[0]
    value = alias.child_by_field_name("value") if alias.type == "type_alias_declaration" else None
    if value is None or value.type != "generic_type" or value.end_byte != len(probe) - 1:
        return None
    return lt, end


class Reparse(Exception):
    """Raised by the rewriter when a span must be blanked and the source parsed again."""

    def __init__(self, start: int, end: int) -> None:
        super().__init__(start, end)
        self.start, self.end = start, end
