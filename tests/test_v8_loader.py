"""ModuleLoader: resolution, and every refusal naming importer, specifier and rule."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from zako.v8 import ContextType, ModuleLoader, ModuleLoadError, ModuleSpecifier, ModuleType
from zako.v8.module_runner import build_script, link
from zako.v8.transpile import MemoryTransformCache


def make_project(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


@pytest.fixture
def project(tmp_path):
    root = make_project(
        tmp_path / "proj",
        {
            "BUILD.ts": "export const x = 1;",
            "zako.ts": "",
            "lib/a.ts": "export const a = 1;",
            "lib/b.js": "export const b = 1;",
            "lib/dir/index.ts": "export const d = 1;",
            "lib/jsdir/index.js": "export const j = 1;",
            "lib/compiled.ts": "export const c = 1;",
            "lib/data.json": '{"k": 1}',
            "defs/cc.rule.ts": "",
            "shared/util.ts": "export const u = 1;",
        },
    )
    (tmp_path / "outside.ts").write_text("export const o = 1;")
    return root


def file_spec(loader: ModuleLoader, rel: str) -> ModuleSpecifier:
    return ModuleSpecifier((loader.root / rel).as_uri(), ModuleType.FILE)


def rel(loader: ModuleLoader, spec: ModuleSpecifier) -> str:
    return loader.display_name(spec)


# --- resolution ------------------------------------------------------------------


def test_relative_resolution_and_extension_search(project):
    loader = ModuleLoader(project)
    importer = file_spec(loader, "lib/a.ts")
    assert rel(loader, loader.resolve("./b", importer)) == "lib/b.js"
    assert rel(loader, loader.resolve("./a", importer)) == "lib/a.ts"
    assert rel(loader, loader.resolve("./dir", importer)) == "lib/dir/index.ts"
    assert rel(loader, loader.resolve("./jsdir", importer)) == "lib/jsdir/index.js"
    assert rel(loader, loader.resolve("../BUILD.ts", importer)) == "BUILD.ts"
    # the TypeScript convention: import the output name, get the .ts source
    assert rel(loader, loader.resolve("./compiled.js", importer)) == "lib/compiled.ts"


def test_importer_may_be_given_as_text(project):
    loader = ModuleLoader(project)
    assert rel(loader, loader.resolve("./b", "lib/a.ts")) == "lib/b.js"
    refusal(lambda: loader.resolve("./x", "zako:core"), "builtin module may import only zako: builtins")


def test_bare_paths_are_root_relative_and_absolute_paths_allowed_inside(project):
    loader = ModuleLoader(project)
    importer = file_spec(loader, "lib/a.ts")
    assert rel(loader, loader.resolve("shared/util", importer)) == "shared/util.ts"
    assert rel(loader, loader.resolve(str(project / "lib" / "a.ts"), importer)) == "lib/a.ts"
    assert rel(loader, loader.resolve((project / "lib" / "b.js").as_uri(), importer)) == "lib/b.js"


def test_import_map_exact_and_prefix(project):
    loader = ModuleLoader(project, import_map={"@util": "shared/util.ts", "@lib/": "lib/", "@core": "zako:core"})
    importer = file_spec(loader, "BUILD.ts")
    assert rel(loader, loader.resolve("@util", importer)) == "shared/util.ts"
    assert rel(loader, loader.resolve("@lib/dir", importer)) == "lib/dir/index.ts"
    assert loader.resolve("@core", importer) == ModuleSpecifier("zako:core", ModuleType.BUILTIN)


def test_bad_import_map_is_refused_at_construction(project):
    with pytest.raises(ModuleLoadError, match="must start with '@'"):
        ModuleLoader(project, import_map={"util": "shared/util.ts"})
    with pytest.raises(ModuleLoadError, match="target must be"):
        ModuleLoader(project, import_map={"@m": "zako-memory:x"})
    with pytest.raises(ValueError, match="not a directory"):
        ModuleLoader(project / "BUILD.ts")


# --- refusals ---------------------------------------------------------------------


def refusal(call, *fragments):
    with pytest.raises(ModuleLoadError) as info:
        call()
    for fragment in fragments:
        assert fragment in str(info.value), str(info.value)
    return info.value


def test_builtin_may_import_only_builtins(project):
    loader = ModuleLoader(project)
    core = ModuleSpecifier("zako:core", ModuleType.BUILTIN)
    err = refusal(lambda: loader.resolve("./lib/a.ts", core), "zako:core", "'./lib/a.ts'", "builtin module may import only zako: builtins")
    assert (err.importer, err.specifier) == ("zako:core", "./lib/a.ts")
    assert loader.resolve("zako:core", core).url == "zako:core"


def test_memory_module_may_import_only_builtins(project):
    loader = ModuleLoader(project)
    mem = loader.add_memory_module("main", "import './lib/a.ts';")
    refusal(lambda: loader.resolve("./lib/a.ts", mem), "zako-memory:main", "memory module may import only zako: builtins")
    refusal(
        lambda: loader.load_graph(mem, context_type=ContextType.BUILD),
        "memory module may import only zako: builtins",
    )


def test_file_may_not_import_memory_modules(project):
    loader = ModuleLoader(project)
    loader.add_memory_module("m", "")
    refusal(lambda: loader.resolve("zako-memory:m", file_spec(loader, "lib/a.ts")), "lib/a.ts", "memory modules can only be entry points")


def test_memory_modules_given_to_the_constructor(project):
    loader = ModuleLoader(project, memory_modules={"main": "export const a: number = 1;"})
    graph = loader.load_graph("zako-memory:main", context_type=ContextType.BUILD)
    assert graph.modules[0].name == "zako-memory:main" and graph.modules[0].transform.exports[0].name == "a"


def test_entry_may_be_a_path_object(project):
    graph = ModuleLoader(project).load_graph(project / "lib" / "a.ts", context_type=ContextType.LIBRARY)
    assert graph.modules[0].name == "lib/a.ts"


def test_unregistered_memory_module(project):
    refusal(lambda: ModuleLoader(project).resolve("zako-memory:nope"), "no memory module named 'zako-memory:nope'")


@pytest.mark.parametrize("spec", ["../outside.ts", "../../etc/passwd", "./../../outside"])
def test_relative_escape_from_root_is_refused(project, spec):
    loader = ModuleLoader(project)
    refusal(lambda: loader.resolve(spec, file_spec(loader, "BUILD.ts")), "BUILD.ts", repr(spec), "outside the project root")


def test_absolute_and_file_url_escape_is_refused(project):
    loader = ModuleLoader(project)
    outside = project.parent / "outside.ts"
    refusal(lambda: loader.resolve(str(outside)), "outside the project root")
    refusal(lambda: loader.resolve(outside.as_uri()), "outside the project root")


def test_symlink_escape_is_refused(project):
    link_path = project / "lib" / "sneaky.ts"
    os.symlink(project.parent / "outside.ts", link_path)
    loader = ModuleLoader(project)
    refusal(lambda: loader.resolve("./sneaky.ts", file_spec(loader, "lib/a.ts")), "is a link to", "outside the project root")


def test_missing_module_lists_what_was_tried(project):
    loader = ModuleLoader(project)
    refusal(
        lambda: loader.resolve("./nope", file_spec(loader, "lib/a.ts")),
        "module not found",
        "lib/nope.ts",
        "lib/nope/index.js",
    )


def test_unknown_import_map_entry(project):
    loader = ModuleLoader(project, import_map={"@x": "lib/a.ts"})
    refusal(lambda: loader.resolve("@y", file_spec(loader, "BUILD.ts")), "no import-map entry for '@y'", "@x")


def test_import_map_target_outside_root(project):
    loader = ModuleLoader(project, import_map={"@out": "../outside.ts"})
    refusal(lambda: loader.resolve("@out", file_spec(loader, "BUILD.ts")), "outside the project root")


def test_unknown_builtin(project):
    refusal(lambda: ModuleLoader(project).resolve("zako:fs"), "there is no builtin module zako:fs", "zako:core")


def test_bad_specifier_names_importer(project):
    loader = ModuleLoader(project)
    err = refusal(lambda: loader.resolve("https://x/y.js", file_spec(loader, "lib/a.ts")), "lib/a.ts", "unsupported URL scheme")
    assert err.importer == "lib/a.ts"


@pytest.mark.parametrize(
    ("context", "builtin", "allowed_by"),
    [
        (ContextType.LIBRARY, "build", "build (BUILD.ts / BUILD.js)"),
        (ContextType.LIBRARY, "project", "package (zako.ts / zako.js)"),
        (ContextType.BUILD, "project", "package (zako.ts / zako.js)"),
        (ContextType.BUILD, "rule", "rule (*.rule.ts / *.rule.js)"),
        (ContextType.PACKAGE, "build", "build (BUILD.ts / BUILD.js)"),
        (ContextType.RULE, "toolchain", "toolchain (*.toolchain.ts / *.toolchain.js)"),
        (ContextType.TOOLCHAIN, "config", "config (*.config.ts / *.config.js)"),
        (ContextType.CONFIG, "rule", "rule (*.rule.ts / *.rule.js)"),
    ],
)
def test_builtin_outside_its_context_says_which_context_allows_it(project, context, builtin, allowed_by):
    loader = ModuleLoader(project)
    refusal(
        lambda: loader.resolve(f"zako:{builtin}", file_spec(loader, "BUILD.ts"), context_type=context),
        f"a {context.value} module may import only zako:core",
        f"zako:{builtin} is available to {allowed_by} contexts",
    )


@pytest.mark.parametrize("context", list(ContextType))
def test_every_context_may_import_core(project, context):
    loader = ModuleLoader(project)
    assert loader.resolve("zako:core", file_spec(loader, "BUILD.ts"), context_type=context).url == "zako:core"


def test_library_imported_by_build_file_gets_library_rules(project):
    make_project(project, {"lib/uses_build.ts": "import { target } from 'zako:build';\nexport const t = target;"})
    make_project(project, {"BUILD.ts": "import { t } from './lib/uses_build.ts';\nexport const y = t;"})
    refusal(
        lambda: ModuleLoader(project).load_graph("BUILD.ts", context_type=ContextType.BUILD),
        "from lib/uses_build.ts:1:",
        "'zako:build'",
        "library module may import only zako:core and other libraries",
    )


def test_non_library_files_cannot_be_imported(project):
    make_project(project, {"lib/imports_rule.ts": "import './../defs/cc.rule.ts';", "lib/imports_build.ts": "import '../BUILD.ts';"})
    loader = ModuleLoader(project)
    refusal(
        lambda: loader.load_graph("lib/imports_rule.ts", context_type=ContextType.LIBRARY),
        "defs/cc.rule.ts is a rule file",
        "only library modules and JSON can be imported",
    )
    refusal(lambda: loader.load_graph("lib/imports_build.ts", context_type=ContextType.LIBRARY), "BUILD.ts is a build file")


def test_json_needs_the_type_attribute_and_only_json_gets_it(project):
    make_project(
        project,
        {
            "lib/no_attr.ts": "import d from './data.json';\nexport { d };",
            "lib/wrong_attr.ts": "import d from './a.ts' with { type: 'json' };\nexport { d };",
            "lib/bad.json": "{nope",
            "lib/bad_json.ts": "import d from './bad.json' with { type: 'json' };\nexport { d };",
        },
    )
    loader = ModuleLoader(project)
    refusal(lambda: loader.load_graph("lib/no_attr.ts", context_type=ContextType.LIBRARY), "lib/no_attr.ts:1", 'with { type: "json" }')
    refusal(lambda: loader.load_graph("lib/wrong_attr.ts", context_type=ContextType.LIBRARY), "needs a .json file")
    refusal(lambda: loader.load_graph("lib/bad_json.ts", context_type=ContextType.LIBRARY), "lib/bad.json is not valid JSON")


def test_missing_export_is_a_link_error(project):
    make_project(project, {"lib/bad_import.ts": "import { nope } from './a';\nexport const x = nope;"})
    graph = ModuleLoader(project).load_graph("lib/bad_import.ts", context_type=ContextType.LIBRARY)
    refusal(lambda: link(graph), "cannot import 'nope' from lib/bad_import.ts:1", "lib/a.ts (imported as './a') has no export named 'nope'")


def test_ambiguous_star_export_is_left_out_and_import_refused(project):
    make_project(
        project,
        {
            "lib/s1.ts": "export const dup = 1, one = 1;",
            "lib/s2.ts": "export const dup = 2, two = 2;",
            "lib/stars.ts": "export * from './s1';\nexport * from './s2';",
            "lib/use_stars.ts": "import { dup } from './stars';\nexport const d = dup;",
        },
    )
    loader = ModuleLoader(project)
    graph = loader.load_graph("lib/stars.ts", context_type=ContextType.LIBRARY)
    assert sorted(link(graph)[0]["ns"]) == ["one", "two"]
    graph = loader.load_graph("lib/use_stars.ts", context_type=ContextType.LIBRARY)
    refusal(lambda: link(graph), "ambiguous export named 'dup'")


def test_graph_is_transformed_once_then_cached(project):
    cache = MemoryTransformCache()
    loader = ModuleLoader(project, transform_cache=cache)
    make_project(project, {"BUILD.ts": "import { a } from './lib/a';\nimport { b } from './lib/b.js';\nexport const s = a + b;"})
    graph = loader.load_graph("BUILD.ts", context_type=ContextType.BUILD)
    assert [m.name for m in graph.modules] == ["BUILD.ts", "lib/a.ts", "lib/b.js"]
    assert graph.modules[0].deps == [1, 2]
    misses = cache.misses
    loader.load_graph("BUILD.ts", context_type=ContextType.BUILD)
    assert cache.misses == misses and cache.hits >= 3
    script, heads, _keys = build_script(graph)
    assert "__zako_start" in script and set(heads) == {"BUILD.ts", "lib/a.ts", "lib/b.js"}


def test_context_type_coerce():
    assert ContextType.coerce("build") is ContextType.BUILD
    assert ContextType.coerce("TOOLCHAIN") is ContextType.TOOLCHAIN
    assert ContextType.coerce(ContextType.RULE) is ContextType.RULE
    with pytest.raises(ValueError, match="unknown context type 'bulid'"):
        ContextType.coerce("bulid")
    with pytest.raises(TypeError):
        ContextType.coerce(3)  # type: ignore[arg-type]


def test_context_type_for_filename():
    cases = {
        "zako.ts": ContextType.PACKAGE,
        "pkg/zako.js": ContextType.PACKAGE,
        "BUILD.ts": ContextType.BUILD,
        "a/b/BUILD.js": ContextType.BUILD,
        "cc.rule.ts": ContextType.RULE,
        "gcc.toolchain.ts": ContextType.TOOLCHAIN,
        "release.config.ts": ContextType.CONFIG,
        "lib/util.ts": ContextType.LIBRARY,
        "build.ts": ContextType.LIBRARY,
        ".rule.ts": ContextType.LIBRARY,
    }
    for name, expected in cases.items():
        assert ContextType.for_filename(name) is expected, name


def test_snapshot_loader_gives_the_graphs_a_fresh_loader_gives():
    # A snapshot loader replays reads, observations and resolutions; each
    # graph must still carry its own modules, deps and probes exactly.
    from zako.devtools import gentree

    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        root = os.path.join(tmp, "tree")
        gentree.generate(root, packages=40)
        entries = sorted(os.path.relpath(os.path.join(d, "BUILD.ts"), root)
                         for d, _, fs in os.walk(root) if "BUILD.ts" in fs)
        snap = ModuleLoader(root, snapshot=True)
        for rel in entries * 2:  # twice: the second pass is all replays
            fresh = ModuleLoader(root).load_graph(rel, context_type=ContextType.BUILD)
            replay = snap.load_graph(rel, context_type=ContextType.BUILD)
            assert [(m.name, m.kind, m.deps, m.source) for m in replay.modules] == \
                   [(m.name, m.kind, m.deps, m.source) for m in fresh.modules]
            assert replay.probes == fresh.probes
