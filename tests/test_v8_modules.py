"""End to end: ES modules, TypeScript and the zako: builtins on a real Engine,
over the fixture tree in tests/fixtures/modules."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

from zako.v8 import ContextType, Engine, ModuleLoader, ModuleLoadError, TranspileError
from zako.v8.transpile import MemoryTransformCache, parse_count

FIXTURES = Path(__file__).parent / "fixtures" / "modules"
MANIFEST = {"group": "org.example", "artifact": "shop", "version": "1.0.0", "description": "d", "options": {"x": 1}}


def line_of(rel: str, marker: str) -> int:
    for number, line in enumerate((FIXTURES / rel).read_text().splitlines(), 1):
        if marker in line:
            return number
    raise AssertionError(f"{marker!r} not in {rel}")


@pytest.fixture(scope="module")
def engine():
    return Engine(timeout_s=10.0)


@pytest.fixture
def loader():
    return ModuleLoader(FIXTURES, import_map={"@shared/": "shared/"}, transform_cache=MemoryTransformCache())


@pytest.fixture(scope="module")
def build_result(engine):
    loader = ModuleLoader(FIXTURES, import_map={"@shared/": "shared/"}, transform_cache=MemoryTransformCache())
    result = engine.execute_module("BUILD.ts", context_type=ContextType.BUILD, loader=loader)
    assert result.exception is None, result.exception
    return result


def test_namespace_has_every_export_form(build_result):
    ns = build_result.value
    assert ns["default"] == {"greeting": "hello build", "tag": "[object Module]"}
    assert ns["total"] == (1 + 2) + (3 + 4)  # named import + `export { add as plus } from`
    assert ns["pi"] == 3.14  # export * from, re-exported under another name
    assert ns["app"] == ":app"
    assert ns["fromIndex"] == "lib/index"  # directory import resolves index.ts
    assert ns["ping"] == "pong"  # import map prefix
    assert ns["area"] == 6 and ns["red"] == 0 and ns["colorName"] == "Blue"


def test_namespace_import_lists_exports_and_leaves_out_functions(build_result):
    # `import * as math`: sorted names, types erased, classes/functions are exports too
    assert build_result.value["names"] == ["Base", "Color", "Flags", "Shape", "add", "default", "doubled", "flags"]
    # the entry's own exported functions would not be data: the result leaves them out
    assert all(not callable(v) for v in build_result.value.values())


def test_live_binding_and_namespace_reexport(build_result):
    # counter.js mutates `count`; the importer sees 2 after two inc() calls
    assert build_result.value["liveCount"] == 2
    assert build_result.value["counterNs"] == 2  # through `export * as counter`


def test_json_import_and_side_effect_import_runs_once(build_result):
    assert build_result.value["data"] == {"name": "fixture", "values": [1, 2, 3]}
    assert build_result.value["sideEffects"] == 1  # imported by BUILD.ts and lib/index.ts


def test_targets_are_declared_with_globs_and_locations(build_result):
    targets = build_result.declarations["targets"]
    assert [t["name"] for t in targets] == ["app", "lib"]
    app, lib = targets
    assert app == {
        "name": "app",
        "kind": "cc_binary",
        "srcs": [{"include": ["src/**/*.c"], "exclude": ["src/gen/**"]}, "main.c"],
        "deps": [":lib"],
        "attrs": {"copts": ["-O2"], "scale": 2},
        "location": f"BUILD.ts:{line_of('BUILD.ts', 'target({')}",
    }
    assert lib["srcs"] == [{"include": ["lib/*.c"], "exclude": []}]
    assert set(build_result.declarations) == {"targets", "rules", "toolchains", "configs", "project"}
    assert build_result.declarations["rules"] == []


def test_cycle_behaves_like_esm(engine, loader):
    result = engine.execute_module("lib/cycle_entry.ts", context_type=ContextType.LIBRARY, loader=loader)
    assert result.value["result"] == {
        "seenFromA": "bFunction:b",  # a ran after b
        "early": "aFunction",  # a's hoisted function is callable while a is in progress
        "seenA": "ReferenceError",  # a's const is in its temporal dead zone then
        "late": "a",  # and live once a finished
    }


def test_throw_three_imports_deep_reports_original_lines(engine, loader):
    result = engine.execute_module("lib/deep_entry.ts", context_type=ContextType.LIBRARY, loader=loader)
    exc = result.exception
    assert exc is not None and "deep failure x" in exc.message
    frames = re.findall(r"\(?([\w./-]+\.ts):(\d+):\d+\)?", exc.stack)
    assert frames[:4] == [
        ("lib/deep3.ts", str(line_of("lib/deep3.ts", "THROW-LINE"))),
        ("lib/deep2.ts", str(line_of("lib/deep2.ts", "level3(arg)"))),
        ("lib/deep1.ts", str(line_of("lib/deep1.ts", "level2("))),
        ("lib/deep_entry.ts", str(line_of("lib/deep_entry.ts", "ENTRY-CALL"))),
    ]
    assert result.declarations == {k: [] for k in ("targets", "rules", "toolchains", "configs", "project")}


def test_line_one_columns_do_not_count_the_wrapper(engine, tmp_path):
    (tmp_path / "one.ts").write_text('const n: number = 1; throw new Error("first line");\n')
    result = engine.execute_module("one.ts", context_type=ContextType.LIBRARY, loader=ModuleLoader(tmp_path))
    assert "one.ts:1:28" in result.exception.stack


def test_code_v8_rejects_is_an_exception_naming_the_module(engine, tmp_path):
    # (at the top level the transform refuses it first: a block V8 must see)
    (tmp_path / "redeclared.js").write_text("{\nlet a = 1;\nlet a = 2;\n}\n")
    (tmp_path / "main.js").write_text('import "./redeclared.js";\n')
    result = engine.execute_module("main.js", context_type=ContextType.LIBRARY, loader=ModuleLoader(tmp_path))
    assert result.exception.name == "SyntaxError"
    assert "already been declared (in module redeclared.js)" in result.exception.exception
    assert result.exception.message.startswith("redeclared.js:3: ")


def test_duplicate_target_names_both_lines(engine, loader):
    result = engine.execute_module("pkg/BUILD.ts", context_type=ContextType.BUILD, loader=loader)
    first = line_of("pkg/BUILD.ts", 'name: "one"')
    second = line_of("pkg/BUILD.ts", "DUPLICATE-LINE")
    assert f'duplicate target "one": declared at pkg/BUILD.ts:{first} and again at pkg/BUILD.ts:{second}' in result.exception.message


@pytest.mark.parametrize(
    ("call", "fragment"),
    [
        ('target({ name: "bad name", kind: "x" })', 'invalid name "bad name"'),
        ('target({ name: "", kind: "x" })', 'invalid name ""'),
        ('target({ name: "ok" })', "kind must be a non-empty string"),
        ('target({ name: "ok", kind: "k", srcs: [42] })', "srcs[0] must be a path string or a glob()"),
        ('target({ name: "ok", kind: "k", attrs: { f: () => 1 } })', "attrs.f must be plain data"),
        ('target({ name: "ok", kind: "k", nme: 1 })', 'unknown field "nme"'),
        ('glob("*.c", { exclud: [] })', 'unknown option "exclud"'),
        ("glob([])", "glob() include must name at least one pattern"),
        ("glob(42)", "glob() include must be a non-empty string"),
    ],
)
def test_build_builtin_validates(engine, tmp_path, call, fragment):
    (tmp_path / "BUILD.ts").write_text(f'import {{ target, glob }} from "zako:build";\n{call};\n')
    result = engine.execute_module("BUILD.ts", context_type=ContextType.BUILD, loader=ModuleLoader(tmp_path))
    assert result.exception is not None and fragment in result.exception.message


def test_valid_target_names(engine, tmp_path):
    (tmp_path / "BUILD.js").write_text(
        'import { target } from "zako:build";\nfor (const n of ["a_b-c.d+e", "X9"]) target({ name: n, kind: "k" });\n'
    )
    result = engine.execute_module("BUILD.js", context_type=ContextType.BUILD, loader=ModuleLoader(tmp_path))
    assert [t["name"] for t in result.declarations["targets"]] == ["a_b-c.d+e", "X9"]


def test_package_project_fields_and_override(engine, loader):
    result = engine.execute_module("zako.ts", context_type=ContextType.PACKAGE, loader=loader, inputs={"project": MANIFEST})
    assert result.value["seen"] == {"group": "org.example", "version": "2.0.0"}
    (project,) = result.declarations["project"]
    assert project == {
        "group": "org.example",
        "artifact": "shop",
        "version": "2.0.0",
        "description": "overridden",
        "options": {"x": 1},
        "location": f"zako.ts:{line_of('zako.ts', 'project({')}",
    }


def test_project_warns_on_unknown_fields(engine, tmp_path, caplog):
    # Ignored with a warning naming it and its line, as the original Zako ignores it.
    (tmp_path / "zako.ts").write_text('import { project } from "zako:project";\nproject({ versoin: "1" });\n')
    with caplog.at_level(logging.WARNING, logger="zako.js"):
        result = engine.execute_module("zako.ts", context_type=ContextType.PACKAGE, loader=ModuleLoader(tmp_path))
    assert result.exception is None
    assert any('zako.ts:2: project(): unknown field "versoin" is ignored' in r.getMessage() for r in caplog.records)


def test_rule_toolchain_config_declarations(engine, loader):
    rule = engine.execute_module("rules/cc.rule.ts", context_type=ContextType.RULE, loader=loader)
    assert rule.declarations["rules"] == [
        {"name": "cc_binary", "attrs": {"copts": {"type": "string_list", "default": []}}, "location": "rules/cc.rule.ts:3"}
    ]
    tool = engine.execute_module("tools/gcc.toolchain.ts", context_type=ContextType.TOOLCHAIN, loader=loader)
    assert tool.declarations["toolchains"][0]["tools"] == {"cc": {"path": "/usr/bin/gcc"}, "ar": {"path": "/usr/bin/ar"}}
    conf = engine.execute_module("conf/release.config.ts", context_type=ContextType.CONFIG, loader=loader)
    assert conf.declarations["configs"] == [{"options": {"opt": "3", "lto": True}, "location": "conf/release.config.ts:3"}]


def test_core_logs_to_python_logging(engine, tmp_path, caplog):
    (tmp_path / "lib.ts").write_text('import { warn, version } from "zako:core";\nwarn("careful", 42, version);\n')
    with caplog.at_level(logging.DEBUG, logger="zako.js"):
        result = engine.execute_module("lib.ts", context_type=ContextType.LIBRARY, loader=ModuleLoader(tmp_path))
    assert result.exception is None
    records = [r for r in caplog.records if r.name == "zako.js" and "careful" in r.getMessage()]
    assert records and records[0].levelno == logging.WARNING
    from zako import __version__

    assert __version__ in records[0].getMessage()


def test_memory_module_entry_with_builtins(engine, tmp_path):
    loader = ModuleLoader(tmp_path)
    spec = loader.add_memory_module("main", 'import { target } from "zako:build";\ntarget({ name: "m", kind: "k" });\nexport default 7;')
    result = engine.execute_module(spec, context_type=ContextType.BUILD, loader=loader)
    assert result.value == {"default": 7}
    assert result.declarations["targets"][0]["location"] == "zako-memory:main:2"


def test_dynamic_import_of_a_literal(engine, tmp_path):
    (tmp_path / "flags.ts").write_text("export const ran: string[] = [];\n")
    (tmp_path / "lazy.ts").write_text('import { ran } from "./flags.ts";\nexport const lazy = "loaded";\nran.push("lazy");\n')
    (tmp_path / "main.ts").write_text(
        'import { ran } from "./flags.ts";\nexport const before = ran.includes("lazy");\n'
        'export const { lazy } = await import("./lazy.ts");\nexport const after = ran.includes("lazy");\n'
    )
    result = engine.execute_module("main.ts", context_type=ContextType.LIBRARY, loader=ModuleLoader(tmp_path))
    assert result.value == {"before": False, "lazy": "loaded", "after": True}


def test_import_bindings_are_read_only(engine, tmp_path):
    (tmp_path / "a.js").write_text("export let v = 1;\n")
    (tmp_path / "b.js").write_text('import { v } from "./a.js";\nv = 2;\n')
    result = engine.execute_module("b.js", context_type=ContextType.LIBRARY, loader=ModuleLoader(tmp_path))
    assert result.exception is not None and result.exception.name == "TypeError"
    assert "b.js:2" in result.exception.stack


def test_imported_function_cannot_add_bindings_through_this(engine, tmp_path):
    (tmp_path / "sloppy.js").write_text("export function setIt() { this.leak = 1; }\n")
    (tmp_path / "main.js").write_text('import { setIt } from "./sloppy.js";\nsetIt();\nexport const leaked = typeof leak;\n')
    result = engine.execute_module("main.js", context_type=ContextType.LIBRARY, loader=ModuleLoader(tmp_path))
    # native ESM: `this` is undefined, so the write is a TypeError; here too
    assert result.exception is not None and result.exception.name == "TypeError"


def test_loader_and_transpile_errors_raise_before_running(engine, tmp_path):
    (tmp_path / "bad.ts").write_text("const a = 1;\nexport = a;\n")  # refused (namespaces now compile)
    (tmp_path / "uses_bad.ts").write_text('import "./bad.ts";\n')
    with pytest.raises(TranspileError) as info:
        engine.execute_module("uses_bad.ts", context_type=ContextType.LIBRARY, loader=ModuleLoader(tmp_path))
    assert (info.value.file, info.value.line) == ("bad.ts", 2)
    (tmp_path / "lib.ts").write_text('import { target } from "zako:build";\nexport const t = target;\n')
    with pytest.raises(ModuleLoadError, match="library module may import only zako:core"):
        engine.execute_module("lib.ts", context_type=ContextType.LIBRARY, loader=ModuleLoader(tmp_path))


def test_second_evaluation_performs_no_parse(engine):
    loader = ModuleLoader(FIXTURES, import_map={"@shared/": "shared/"}, transform_cache=MemoryTransformCache())
    first = engine.execute_module("BUILD.ts", context_type=ContextType.BUILD, loader=loader)
    parses = parse_count()
    second = engine.execute_module("BUILD.ts", context_type=ContextType.BUILD, loader=loader)
    assert parse_count() == parses
    assert second.value == first.value and second.declarations == first.declarations
    assert loader.transform_cache.hits >= 10


def test_each_evaluation_gets_a_fresh_context(engine, loader):
    results = [engine.execute_module("BUILD.ts", context_type=ContextType.BUILD, loader=loader) for _ in range(2)]
    assert [r.value["sideEffects"] for r in results] == [1, 1]


def test_top_level_await_in_a_module(engine, tmp_path):
    (tmp_path / "slow.ts").write_text("export const v: number = await new Promise((r) => setTimeout(() => r(5), 5));\n")
    (tmp_path / "main.ts").write_text('import { v } from "./slow.ts";\nexport const doubled = v * 2;\n')
    result = engine.execute_module("main.ts", context_type=ContextType.LIBRARY, loader=ModuleLoader(tmp_path))
    assert result.value == {"doubled": 10}


def test_module_waiting_forever_is_a_deadlock_not_a_hang(engine, tmp_path):
    from zako.v8 import DeadlockError

    (tmp_path / "stuck.js").write_text("await new Promise(() => {});\nexport const never = 1;\n")
    with pytest.raises(DeadlockError):
        engine.execute_module("stuck.js", context_type=ContextType.LIBRARY, loader=ModuleLoader(tmp_path))


def test_shared_loader_across_threads():
    from concurrent.futures import ThreadPoolExecutor

    loader = ModuleLoader(FIXTURES, import_map={"@shared/": "shared/"}, transform_cache=MemoryTransformCache())

    def run(_):
        engine = Engine(timeout_s=10.0)
        result = engine.execute_module("BUILD.ts", context_type=ContextType.BUILD, loader=loader)
        return result.value["total"], [t["name"] for t in result.declarations["targets"]]

    with ThreadPoolExecutor(4) as pool:
        outcomes = list(pool.map(run, range(8)))
    assert outcomes == [(10, ["app", "lib"])] * 8


@pytest.mark.parametrize("thrown", ['"plain string"', "{ code: 3 }", "42"])
def test_a_thrown_non_error_names_its_line(engine, tmp_path, thrown):
    (tmp_path / "lib.ts").write_text(f"export function fail(): never {{\n  throw {thrown};\n}}\n")
    (tmp_path / "main.ts").write_text(f'import {{ fail }} from "./lib.ts";\n\nthrow {thrown};\n')
    (tmp_path / "indirect.ts").write_text('import { fail } from "./lib.ts";\nexport const x = 1;\nfail();\n')
    loader = ModuleLoader(tmp_path)
    direct = engine.execute_module("main.ts", context_type=ContextType.LIBRARY, loader=loader).exception
    assert direct is not None and "main.ts:3:" in (direct.stack or "")
    indirect = engine.execute_module("indirect.ts", context_type=ContextType.LIBRARY, loader=loader).exception
    assert "lib.ts:2:" in (indirect.stack or "") and "indirect.ts:3:" in indirect.stack
