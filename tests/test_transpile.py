"""The ES module / TypeScript transform: records, erasure, errors, cache."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from py_mini_racer import MiniRacer

from zako.v8 import TranspileError
from zako.v8.transpile import (
    MemoryTransformCache,
    StoreTransformCache,
    TransformCache,
    TransformResult,
    cached_transform,
    parse_count,
    transform,
)
from zako.v8.transpile.rewrite import HEAD_PREFIX


def body_lines(result: TransformResult) -> list[str]:
    """The transformed module body, line by line, without the wrapper."""
    code = result.code
    start = code.index(";yield;") + len(";yield;")
    return code[start : code.rindex("\n;__zako_m.f()}}})")].split("\n")


def run_body(result: TransformResult, scope: dict | None = None):
    """Run a transformed module with no imports; return its locals' values."""
    ctx = MiniRacer()
    try:
        script = (
            "var __out; (async () => { const m = {x(l){ this.l = l; }, a(){}, f(){}, meta: {url: 'test'}};"
            f"const g = ({result.code})(Object.create(null))(m); await g.next(); await g.next();"
            "const o = {}; for (const k in m.l) { const v = m.l[k](); o[k] = typeof v === 'function' ? 'fn' : v; }"
            "__out = JSON.stringify(o); })().catch(e => { __out = 'ERR ' + e; });"
        )
        ctx.eval(script)
        out = ctx.eval("__out")
    finally:
        ctx.close()
    assert isinstance(out, str), out
    assert not out.startswith("ERR"), out
    return json.loads(out)


def test_head_is_on_line_one_and_lines_are_kept():
    src = "import a from './a';\n\nexport const x: number = 1;\ninterface I {\n  y: string;\n}\nexport default x;\n"
    result = transform(src, filename="m.ts")
    assert result.code.startswith(HEAD_PREFIX)
    lines = body_lines(result)
    assert len(lines) == src.count("\n") + 1
    # the declaration stays on line 3, at its column
    assert lines[2].index("const x") == src.split("\n")[2].index("const x")
    assert "interface" not in result.code


def test_records_every_import_and_export_form():
    src = """\
import d, { a, b as c } from "./m.js";
import * as ns from "./n";
import "./side";
import j from "./x.json" with { type: "json" };
export const k = 1, { p, q: [r] } = { p: 2, q: [3] };
export function f() {}
export class C {}
export { k as kk, f as default };
export * from "./s";
export * as z from "./z";
export { y as w, default as dd } from "./y";
use(d, a, c, ns, j);
"""
    result = transform(src, filename="m.js")
    assert [r.specifier for r in result.requests] == ["./m.js", "./n", "./side", "./x.json", "./s", "./z", "./y"]
    assert result.imports == tuple(r.specifier for r in result.requests)
    assert result.requests[3].is_json and not result.requests[0].is_json
    assert result.requests[1].line == 2
    assert [(b.local, b.request, b.imported) for b in result.bindings] == [
        ("d", 0, "default"),
        ("a", 0, "a"),
        ("c", 0, "b"),
        ("ns", 1, "*"),
        ("j", 3, "default"),
    ]
    exports = {e.name: e for e in result.exports}
    assert exports["k"].local == "k" and exports["kk"].local == "k"
    assert {"p", "r", "f", "C", "default"} <= set(exports)
    assert exports["default"].local == "f"
    assert (exports["z"].request, exports["z"].imported) == (5, "*")
    assert (exports["w"].request, exports["w"].imported) == (6, "y")
    assert (exports["dd"].request, exports["dd"].imported) == (6, "default")
    assert result.star_exports == (4,)


def test_specifier_string_escapes_are_decoded():
    src = 'import a from "./a\\"b";\nimport c from \'./it\\\'s\';\nimport d from "./\\u0041\\x42\\u{43}";\nuse(a, c, d);'
    assert transform(src, filename="e.js").imports == ('./a"b', "./it's", "./ABC")


@pytest.mark.parametrize(
    ("src", "expected"),
    [
        ("export default 40 + 2;", {"__zako_d": 42}),
        ("export default function () { return 1 }", {"__zako_d": "fn"}),
        ("export default class {}", {"__zako_d": "fn"}),
        ("export default function named() {}", {"named": "fn"}),
        ("let v = 1;\nexport { v as default };", {"v": 1}),
    ],
)
def test_default_export_forms_run(src, expected):
    assert run_body(transform(src, filename="d.js")) == expected


TS_CASES = {
    "annotations": ("let a: number = 1; function f(x: string, y?: number): string { return x }", "let a"),
    "interface": ("interface I { a: number }\nconst a = 1;", "const a"),
    "type alias": ("type T<U> = U[];\nconst a: T<number>[0] = 1;", "const a"),
    "as": ("const a = (1 as unknown) as number;", "const a"),
    "satisfies": ("const a = { x: 1 }.x satisfies number;", "const a"),
    "generics": ("function id<T>(x: T): T { return x }\nconst a = id<number>(1);", "const a"),
    "non-null": ("const m = new Map<string, number>([['a', 1]]);\nconst a = m.get('a')!;", "const a"),
    "import type": ("import type { X } from './x';\nconst a = 1;", "const a"),
    "type specifier": ("import { type X } from './x';\nconst a = 1;", "const a"),
    "export type": ("export type { X } from './x';\nexport type Y = number;\nconst a = 1;", "const a"),
    "declare": ("declare const g: number;\ndeclare global { interface W {} }\nconst a = 1;", "const a"),
    "abstract": ("abstract class A { abstract m(): void; n() { return 1 } }\nconst a = 1;", "const a"),
    "access modifiers": ("class A { private x = 1; public static readonly y?: number; protected z!: string }\nconst a = 1;", "const a"),
    "definite": ("let d!: number;\nconst a = 1;", "const a"),
    "assertion": ("const a = <number>(1 as any);", "const a"),
    "overloads": ("function f(x: string): void;\nfunction f(x: any) {}\nconst a = 1;", "const a"),
    "index signature": ("class A { [k: string]: unknown }\nconst a = 1;", "const a"),
    "this param": ("function f(this: Window, x: number) { return x }\nconst a = f.call(null, 1);", "const a"),
    "predicates": ("function isS(x: unknown): x is string { return true }\nconst a = isS(1) ? 1 : 0;", "const a"),
    "implements": ("interface I {}\nclass C implements I {}\nconst a = 1;", "const a"),
}


@pytest.mark.parametrize("case", sorted(TS_CASES))
def test_typescript_erasure_runs_and_keeps_lines(case):
    src, probe = TS_CASES[case]
    src = src + "\nexport { a };"
    result = transform(src, filename="t.ts")
    lines = body_lines(result)
    assert len(lines) == src.count("\n") + 1
    src_line = next(i for i, line in enumerate(src.split("\n")) if probe in line)
    assert lines[src_line].index(probe) == src.split("\n")[src_line].index(probe), lines
    assert run_body(result)["a"] == 1


def test_erasure_keeps_columns_of_code_after_types():
    src = "const x: Record<string, number> = {}; const y = 2;"
    result = transform(src, filename="c.ts")
    assert body_lines(result)[0].index("const y") == src.index("const y")


def test_enums_generate_objects_with_reverse_mapping():
    src = 'enum E { A, B = 5, C, "d-e" = "s", F = B * 2 }\nconst enum K { X = 1 << 2 }\nexport { E, K };'
    out = run_body(transform(src, filename="e.ts"))
    assert out["E"] == {"0": "A", "5": "B", "6": "C", "10": "F", "A": 0, "B": 5, "C": 6, "d-e": "s", "F": 10}
    assert out["K"] == {"4": "X", "X": 4}


def test_namespaces_run_and_types_only_ones_vanish():
    # Namespaces used to be refused; tsc emits runtime ones as an IIFE and
    # erases types-only ones (tests/test_ts_differential.py compares both with tsc).
    src = "namespace T { export interface I {} }\nnamespace N {\n  export const b = 1;\n}\nexport const a = N.b;"
    result = transform(src, filename="n.ts")
    assert len(body_lines(result)) == src.count("\n") + 1
    assert "T" not in body_lines(result)[0]
    assert run_body(result)["a"] == 1


def test_parameter_properties_are_assigned():
    src = (
        "class Base { constructor(public tag: string) {} }\n"
        "class P extends Base {\n  constructor(readonly x: number, private y = 2) {\n    super('p');\n  }\n}\n"
        "const p = new P(1);\nexport const v = [p.tag, (p as any).x, (p as any).y];"
    )
    assert run_body(transform(src, filename="p.ts"))["v"] == ["p", 1, 2]


def test_unused_type_only_imports_are_elided_in_typescript():
    src = "import { Opts, run } from './lib';\nimport { Only } from './types';\nconst o: Opts = {};\nrun(o as Only);"
    result = transform(src, filename="a.ts")
    assert [r.specifier for r in result.requests] == ["./lib"]
    assert [b.local for b in result.bindings] == ["run"]


def test_javascript_keeps_all_imports():
    result = transform("import { Unused } from './types';", filename="a.js")
    assert [b.local for b in result.bindings] == ["Unused"]


def test_dynamic_import_index_survives_import_elision():
    result = transform("import { T } from './types';\nlet t: T;\nconst p = import('./lazy');", filename="a.ts")
    assert [r.specifier for r in result.requests] == ["./lazy"]
    assert "__zako_m.i(0)" in result.code


def test_import_meta_and_dynamic_import_are_rewritten():
    result = transform("const u = import.meta.url;\nconst p = import('./lazy.ts');", filename="a.ts")
    assert "__zako_m.meta.url" in result.code
    assert result.requests[0].dynamic and result.requests[0].specifier == "./lazy.ts"
    assert "__zako_m.i(0)" in result.code


@pytest.mark.parametrize(
    ("src", "filename", "line", "column", "fragment"),
    [
        ("const a = 1;\n\n  @Component({}) class D {}", "dec2.ts", 3, 3, "decorators"),
        ("\n\n  @sealed class D {}", "dec.ts", 3, 3, "decorators"),
        ("const a = 1;\nlet b: number = 2;", "plain.js", 2, 6, "TypeScript syntax"),
        ("const a = ;", "syntax.ts", 1, None, "syntax error"),
        ("let x = 1;\nfunction f( {", "syntax.js", 2, None, "syntax error"),
        ("import fs = require('fs');", "req.ts", 1, 1, "require"),
        ("export = 1;", "eq.ts", 1, 1, "export ="),
        ("const m = 'x';\nimport(m);", "dyn.js", 2, 1, "string literal"),
        ("import a from './a' with { type: 'css' };", "attr.js", 1, 34, "unsupported module type"),
        ("import a from './a' with { mode: 'x' };", "attr2.js", 1, 28, "unsupported import attribute"),
        ("export { missing };", "undeclared.js", 1, 10, "undeclared name 'missing'"),
        ("import { a } from './x';\nimport { b as a } from './y';", "dupimp.js", 2, 15, "duplicate import of 'a'"),
        ("import a from './x';\nfunction a() {}", "clash.js", 1, 8, "'a' is imported and also declared"),
        ("if (x) { import a from './a'; }", "nested.js", 1, 10, "top level"),
        ("const a = 1;\nif (a) { return; }", "ret.js", 2, 10, "`return` outside a function"),
        ("\n  yield 1;", "yield.js", 2, 3, "`yield` outside a function"),
    ],
)
def test_transpile_errors_name_file_line_column(src, filename, line, column, fragment):
    with pytest.raises(TranspileError) as info:
        transform(src, filename=filename)
    err = info.value
    if column is None:  # tree-sitter places syntax errors on the right line, not always the exact column
        column = err.column
        assert column >= 1
    assert (err.file, err.line, err.column) == (filename, line, column), str(err)
    assert fragment in str(err)
    assert str(err).startswith(f"{filename}:{line}:{column}:")


def test_return_and_yield_inside_functions_are_fine():
    src = "function* g() { yield 1; }\nconst f = () => { return [...g()]; };\nclass C { m() { return f(); } }\nexport const a = new C().m();"
    assert run_body(transform(src, filename="ok.js"))["a"] == [1]


def test_builtin_declarations_match_the_builtin_modules():
    from importlib import resources

    from zako.v8.context_type import BUILTIN_NAMES

    folder = resources.files("zako.v8.builtins")
    for name in BUILTIN_NAMES:
        js = transform(folder.joinpath(f"{name}.js").read_text(), filename=f"{name}.js")
        dts_text = folder.joinpath(f"{name}.d.ts").read_text()
        dts = transform(dts_text, filename=f"{name}.d.ts")  # ambient only: parses, erases to nothing
        assert dts.exports == () and dts.requests == ()
        assert f'declare module "zako:{name}"' in dts_text
        declared = set(re.findall(r"export (?:const|function|class) (\w+)", dts_text))
        if re.search(r"^\s*export default ", dts_text, re.MULTILINE):
            declared.add("default")
        assert declared == {e.name for e in js.exports}, name


def test_duplicate_export_is_an_error():
    with pytest.raises(TranspileError, match="duplicate export 'a'"):
        transform("const a = 1, b = 2;\nexport { a, b as a };", filename="dup.js")


def test_typescript_flag_follows_extension_unless_given():
    assert transform("let a: number = 1;", filename="x.ts").typescript
    with pytest.raises(TranspileError):
        transform("let a: number = 1;", filename="x.js")
    assert transform("let a: number = 1;", filename="x.js", typescript=True).typescript


def test_non_str_source_is_a_type_error():
    with pytest.raises(TypeError, match="x.ts"):
        transform(b"let a = 1;", filename="x.ts")  # type: ignore[arg-type]


# --- cache -------------------------------------------------------------------


def test_cache_hit_performs_no_parse():
    cache = MemoryTransformCache()
    src = "export const unique_for_cache_test: number = 1;"
    before = parse_count()
    first = cached_transform(src, filename="a.ts", cache=cache)
    assert parse_count() == before + 1
    second = cached_transform(src, filename="other_name.ts", cache=cache)
    assert parse_count() == before + 1
    assert second is first
    assert (cache.hits, cache.misses) == (1, 1)
    assert re.fullmatch(r"[0-9a-f]{64}", first.digest)


def test_cache_key_depends_on_source_and_flags():
    cache = MemoryTransformCache()
    src = "export const a = 1;"
    a = cached_transform(src, filename="a.ts", cache=cache)
    b = cached_transform(src, filename="a.js", cache=cache)
    c = cached_transform(src + " ", filename="a.ts", cache=cache)
    assert len({a.digest, b.digest, c.digest}) == 3
    assert cache.misses == 3


def test_failures_are_not_cached():
    cache = MemoryTransformCache()
    for _ in range(2):
        with pytest.raises(TranspileError):
            cached_transform("let = ;", filename="bad.js", cache=cache)
    assert len(cache) == 0 and cache.misses == 2


def test_lru_evicts_by_entries_and_bytes():
    cache = MemoryTransformCache(max_entries=2)
    results = [cached_transform(f"export const v{i} = {i};", filename="a.js", cache=cache) for i in range(3)]
    assert len(cache) == 2
    assert cache.get(results[0].digest) is None
    assert cache.get(results[2].digest) is results[2]
    small = MemoryTransformCache(max_bytes=len(results[0].code) + 10)
    for r in results:
        small.put(r.digest, r)
    assert len(small) == 1 and small.size_bytes <= small.max_bytes
    with pytest.raises(ValueError):
        MemoryTransformCache(max_entries=0)


def test_result_round_trips_through_bytes_for_a_cas_backed_cache():
    result = cached_transform(
        "import x, * as y from './a';\nexport * from './b';\nexport { x as z };\nimport('./c');",
        filename="r.js",
        cache=MemoryTransformCache(),
    )
    again = TransformResult.from_bytes(result.to_bytes())
    assert again == result and again.digest == result.digest
    with pytest.raises(ValueError):
        TransformResult.from_bytes(b"{}")


class DictStore:
    def __init__(self):
        self.data: dict[str, bytes] = {}
        self.fail = False

    def get(self, key):
        if self.fail:
            raise OSError("disk gone")
        return self.data.get(key)

    def put(self, key, data):
        if self.fail:
            raise OSError("disk gone")
        self.data[key] = data


def test_store_backed_cache_survives_the_process_memory():
    store = DictStore()
    src = "export const persisted_probe: number = 1;"
    first = cached_transform(src, filename="p.ts", cache=StoreTransformCache(store))
    assert list(store.data) == [first.digest]
    before = parse_count()
    fresh = StoreTransformCache(store)  # a new process: empty memory, same store
    again = cached_transform(src, filename="p.ts", cache=fresh)
    assert parse_count() == before and again == first and fresh.store_hits == 1


def test_store_failures_and_garbage_are_misses():
    store = DictStore()
    cache = StoreTransformCache(store)
    store.data["k"] = b"not json"
    assert cache.get("k") is None
    store.fail = True
    result = cached_transform("export const store_fail_probe = 1;", filename="f.js", cache=cache)
    assert cache.get(result.digest) is result  # kept in memory although the store failed


def test_memory_cache_satisfies_the_interface():
    assert isinstance(MemoryTransformCache(), TransformCache)
    assert isinstance(StoreTransformCache(DictStore()), TransformCache)


FIXTURES = __import__("pathlib").Path(__file__).parent / "fixtures" / "modules"


@pytest.mark.parametrize("path", sorted(p.relative_to(FIXTURES).as_posix() for p in FIXTURES.rglob("*.[jt]s")))
def test_fixture_modules_keep_their_line_count(path):
    src = (FIXTURES / path).read_text()
    result = transform(src, filename=path)
    assert len(body_lines(result)) == src.count("\n") + 1


def test_parallel_transforms_match_sequential_ones():
    from concurrent.futures import ThreadPoolExecutor

    sources = [
        "".join(f"export const v{i}_{k}: number = {k};\nexport function f{i}_{k}<T>(x: T): T {{ return x; }}\n" for k in range(20))
        for i in range(16)
    ]
    expected = [transform(s, filename=f"m{i}.ts") for i, s in enumerate(sources)]
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(lambda i: transform(sources[i], filename=f"m{i}.ts"), range(16)))
    assert got == expected


def test_loaders_share_the_default_cache(tmp_path):
    from zako.v8 import ContextType, ModuleLoader
    from zako.v8.transpile import default_cache

    (tmp_path / "shared_default_cache_probe.ts").write_text(f"export const probe = {id(tmp_path)};\n")
    ModuleLoader(tmp_path).load_graph("shared_default_cache_probe.ts", context_type=ContextType.LIBRARY)
    before = parse_count()
    ModuleLoader(tmp_path).load_graph("shared_default_cache_probe.ts", context_type=ContextType.LIBRARY)
    assert parse_count() == before
    assert default_cache().hits >= 1


@given(st.lists(st.sampled_from(sorted(TS_CASES)), min_size=1, max_size=6))
@settings(max_examples=25, deadline=None)
def test_any_mix_of_typescript_keeps_lines_and_runs(cases):
    # each case declares `a`; give every snippet its own block scope
    src = "\n".join("{\n" + TS_CASES[c][0].replace("import ", "// import ").replace("export ", "// export ") + "\n}" for c in cases)
    result = transform(src + "\nexport const done = 1;", filename="mix.ts")
    assert len(body_lines(result)) == src.count("\n") + 2
    assert run_body(result)["done"] == 1


def test_javascript_that_tree_sitter_misreads_still_runs():
    # tree-sitter-typescript 0.23 cannot parse these valid JavaScript forms;
    # the transform repairs them before parsing (ts_repair) and emits the original text.
    src = (
        "class A { accessor = 1; abstract = 2 }\n"
        "const a = new A();\n"
        "export const v = [a.accessor, a.abstract, String.raw`\\u${1}\\xZ`];"
    )
    assert run_body(transform(src, filename="j.js"))["v"] == [1, 2, "\\u1\\xZ"]


def test_top_level_for_await_using_marks_the_module_async():
    # tree-sitter cannot parse `for (await using`: the repair that makes it
    # parse takes the `await` out of the parsed text, and the module must
    # still be marked async (its importers wait for it, in the spec's order).
    from zako.v8.transpile import transform

    top = transform("for (await using x of []) {}\n", filename="a.js").code
    nested = transform("async function f() { for (await using x of []) {} }\n", filename="b.js").code
    assert "__zako_m.a();" in top
    assert "__zako_m.a();" not in nested
