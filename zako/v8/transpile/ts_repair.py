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
  ``abstract``, invalid escapes in tagged templates).
- ``generic_call_span``: a ``<`` that tree-sitter read as a comparison but
  TypeScript reads as type arguments of a call or tagged template
  (``g(await f<A, B>(x))``, ``` tag<T>`x` ```, ``f<typeof import("./x")>(1)``).
"""

from __future__ import annotations

import re

import tree_sitter

__all__ = ["Repairs", "Reparse", "lexical_repairs", "generic_call_span"]

_BLANK = bytes(c if c in b"\r\n" else 0x20 for c in range(256))

# `accessor` before a member name on the same line (a field named `accessor`
# is followed by `=`, `;`, `(`, `?`, `:` or a line break instead).
_ACCESSOR = re.compile(rb"(?<![\w$.#])accessor[ \t]+(?=[#\w$\[\"'])")
_USING = re.compile(rb"(?<![\w$.#])using([ \t]+)(?=[\w$]+[ \t]*[:=])")
_VARIANCE = re.compile(rb"(?<=[<,])(\s*)((?:in[ \t]+out|in|out)[ \t]+)(?=[\w$]+\s*(?:[,>=]|extends\b))")
_EXPORT_TYPE_STAR = re.compile(rb"export\s+type\s+\*(?:\s+as\s+[\w$]+)?\s+from\s*(?:\"[^\"\n]*\"|'[^'\n]*')[ \t]*;?")
_IMPORT_TYPE_ARGS = re.compile(rb"import\s*\(\s*(?:\"[^\"\n]*\"|'[^'\n]*')\s*\)(?:\s*\.\s*[\w$]+)+\s*(?=<)")
_ABSTRACT_NAME = re.compile(rb"(?<![\w$.#])abstract(?=\s*[?:=;(,}])")
_LT = re.compile(rb"[\w$)\]][ \t]*<(?![<=])")
_BAD_ESCAPE = re.compile(rb"\\(?:u(?![0-9A-Fa-f]{4}|\{[0-9A-Fa-f]+\})|x(?![0-9A-Fa-f]{2}))")


class Repairs:
    """The repaired text, the spans blanked in it (as output edits), and
    where an ``accessor`` keyword was taken out (by byte offset)."""

    __slots__ = ("src", "blanked", "accessors", "using")

    def __init__(self, src: bytes) -> None:
        self.src = bytearray(src)
        self.blanked: list[tuple[int, int]] = []
        self.accessors: set[int] = set()
        self.using: list[int] = []

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


def lexical_repairs(src: bytes, tree: tree_sitter.Tree, parse: "callable") -> Repairs | None:
    """Repairs for the grammar gaps listed in the module docstring, or None
    when no pattern matches (the parse error is the user's)."""
    r = Repairs(src)
    found = False
    # type arguments of calls whose argument list tree-sitter cannot read
    # once it took the `<` for a comparison (`f<typeof import("x")>(a,)`)
    for m in _LT.finditer(src):
        lt = m.end() - 1
        if any(a <= lt < b for a, b in r.blanked) or _skip(tree, lt):
            continue
        span = generic_call_span(src, lt, parse)
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
            r.swap(m.start(), b"let  ")
            r.using.append(m.start())
            found = True
    for m in _VARIANCE.finditer(src):
        if not _skip(tree, m.start()):
            r.blank(m.start(2), m.end(2))
            found = True
    for m in _IMPORT_TYPE_ARGS.finditer(src):
        end = _angle_end(src, m.end())
        if end is not None and not _skip(tree, m.start()):
            nxt = src[end : end + 1]
            if nxt != b"(":  # `import("m").f<T>(x)` is a call and parses fine
                r.blank(m.end(), end)
                found = True
    for m in _ABSTRACT_NAME.finditer(src):
        if not _skip(tree, m.start()):
            r.swap(m.start(), b"_bstract")
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
