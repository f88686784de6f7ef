"""ModuleSpecifier.parse: classification and refusal of bad specifiers."""

from __future__ import annotations

import pytest

from zako.v8 import ModuleLoadError, ModuleSpecifier, ModuleType


@pytest.mark.parametrize(
    ("text", "url", "module_type"),
    [
        ("zako:core", "zako:core", ModuleType.BUILTIN),
        ("zako:build", "zako:build", ModuleType.BUILTIN),
        ("zako-memory:main", "zako-memory:main", ModuleType.MEMORY),
        ("__zako_memory:main", "zako-memory:main", ModuleType.MEMORY),
        ("__zako_memory:pkg/defs", "zako-memory:pkg/defs", ModuleType.MEMORY),
        ("@lib", "@lib", ModuleType.IMPORT_MAP),
        ("@scope/pkg/x.ts", "@scope/pkg/x.ts", ModuleType.IMPORT_MAP),
        ("./a.ts", "./a.ts", ModuleType.FILE),
        ("../b", "../b", ModuleType.FILE),
        ("/abs/c.ts", "/abs/c.ts", ModuleType.FILE),
        ("lib/d.ts", "lib/d.ts", ModuleType.FILE),
        ("file:///abs/e.ts", "file:///abs/e.ts", ModuleType.FILE),
        ("C:/proj/f.ts", "C:/proj/f.ts", ModuleType.FILE),
    ],
)
def test_parse_classifies(text, url, module_type):
    spec = ModuleSpecifier.parse(text)
    assert spec == ModuleSpecifier(url, module_type)
    assert str(spec) == url


def test_memory_spellings_name_the_same_module():
    assert ModuleSpecifier.parse("zako-memory:x") == ModuleSpecifier.parse("__zako_memory:x")


def test_name_property():
    assert ModuleSpecifier.parse("zako:rule").name == "rule"
    assert ModuleSpecifier.parse("__zako_memory:m").name == "m"
    assert ModuleSpecifier.parse("./x.ts").name == "./x.ts"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("\t\n", "empty"),
        (" ./a.ts", "whitespace"),
        ("./a\x00.ts", "control character"),
        ("http://example.com/a.js", "unsupported URL scheme 'http'"),
        ("https://x/y", "unsupported URL scheme 'https'"),
        ("node:fs", "unsupported URL scheme 'node'"),
        ("data:text/javascript,1", "unsupported URL scheme 'data'"),
        ("zako:", "empty name"),
        ("zako-memory:", "empty name"),
        ("__zako_memory:", "empty name"),
        ("zako:bad name", "name 'bad name'"),
        ("zako:../core", "name '../core'"),
        ("@", "no name"),
        ("@/x", "no name"),
        ("file:relative.ts", "absolute"),
    ],
)
def test_bad_specifiers_raise_naming_the_text(text, fragment):
    with pytest.raises(ModuleLoadError) as info:
        ModuleSpecifier.parse(text)
    assert fragment in str(info.value)
    assert repr(text) in str(info.value)
    assert info.value.specifier == text


def test_non_string_is_refused():
    with pytest.raises(ModuleLoadError, match="must be a string"):
        ModuleSpecifier.parse(42)  # type: ignore[arg-type]


def test_specifier_is_immutable_and_hashable():
    spec = ModuleSpecifier.parse("zako:core")
    assert len({spec, ModuleSpecifier.parse("zako:core")}) == 1
    with pytest.raises(AttributeError):
        spec.url = "zako:build"  # type: ignore[misc]
