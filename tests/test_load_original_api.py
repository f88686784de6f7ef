"""``zako load`` over the original Zako's project features: ``builds``
selecting packages, ``rules``/``toolchains`` scripts evaluated and reported,
``config`` values reaching scripts (and their cache keys), ``@dep//`` labels
of ``{path}`` dependencies."""

from __future__ import annotations

import pytest

from zako.global_state import GlobalState
from zako.project.errors import LoadFailed

from project_tree import make_project, write_files

MANIFEST = 'group = "t"\nartifact = "t"\nversion = "1.0.0"\n'
TARGET = 'import { target } from "zako:build";\ntarget({ name: "%s", kind: "k"%s });\n'


@pytest.fixture
def state(tmp_path):
    with GlobalState(cache_dir=tmp_path / "cache", jobs=2, timeout_s=10.0) as s:
        yield s


def labels(result, state):
    return sorted(state.interner.resolve(t.label) for p in result.packages for t in p.targets)


def first_problem(state, root, **kw):
    with pytest.raises(LoadFailed) as info:
        state.load(root, **kw)
    return info.value.problems[0]


def test_builds_pattern_selects_packages(tmp_path, state):
    root = make_project(tmp_path / "p", {
        "BUILD.ts": TARGET % ("root", ""),
        "src/a/BUILD.ts": TARGET % ("a", ""),
        "src/x/BUILD.ts": TARGET % ("x", ""),
        "other/BUILD.ts": TARGET % ("o", ""),
    }, manifest=MANIFEST + 'builds = { include = ["src/**"], exclude = ["src/x"] }\n')
    result = state.load(root)
    assert labels(result, state) == ["//src/a:a"]
    assert result.stats["scripts"] == 1 and result.stats["evaluated"] == 1


def test_package_script_add_build_selects_packages(tmp_path, state):
    root = make_project(tmp_path / "p", {
        "zako.ts": 'import { newProject } from "zako:package";\nnewProject({}).addBuild(["lib", "."]);\n',
        "BUILD.ts": TARGET % ("root", ""),
        "lib/BUILD.ts": TARGET % ("lib", ""),
        "app/BUILD.ts": TARGET % ("app", ""),
    }, manifest=MANIFEST)
    result = state.load(root)
    assert labels(result, state) == ["//:root", "//lib:lib"]
    assert result.project["builds"] == {"include": ["lib", "."], "exclude": []}


def test_a_dep_on_an_unselected_package_is_missing(tmp_path, state):
    root = make_project(tmp_path / "p", {
        "src/BUILD.ts": TARGET % ("a", ', deps: ["//other:o"]'),
        "other/BUILD.ts": TARGET % ("o", ""),
    }, manifest=MANIFEST + 'builds = ["src"]\n')
    p = first_problem(state, root)
    assert (p.kind, p.file, p.line) == ("missing-dep", "src/BUILD.ts", 2) and "there is no package 'other'" in p.message


RULE = 'import { rule } from "zako:rule";\nimport { config } from "zako:context";\nrule({ name: "%s", attrs: { level: config.level } });\n'
TOOLCHAIN = 'import { toolchain } from "zako:toolchain";\ntoolchain({ name: "%s", tools: { cc: { path: "cc" } } });\n'


def test_rules_and_toolchains_are_evaluated_and_reported(tmp_path, state):
    root = make_project(tmp_path / "p", {
        "BUILD.ts": TARGET % ("t", ""),
        "rules/cc.rule.ts": RULE % "cc_binary",
        "rules/test/skip.rule.ts": RULE % "skipped",
        "rules/not_a_rule.ts": "export const x = 1;\n",
        "tc/gcc.toolchain.ts": TOOLCHAIN % "gcc",
    }, manifest=MANIFEST + 'rules = { include = ["rules/**"], exclude = ["rules/test/**"] }\ntoolchains = ["tc/*"]\n'
                 '[config]\nlevel = { type = "number", default = 2 }\n')
    result = state.load(root)
    assert result.rules == [{"name": "cc_binary", "attrs": {"level": 2}, "file": "rules/cc.rule.ts", "line": 3}]
    assert result.toolchains == [{"name": "gcc", "tools": {"cc": {"path": "cc"}}, "file": "tc/gcc.toolchain.ts", "line": 2}]
    doc = result.to_json(state.interner)
    assert list(doc) == ["project", "packages", "rules", "toolchains", "stats"]
    assert result.stats["scripts"] == 3 and "rules/cc.rule.ts" in result.evaluated
    # --config reaches the rule, and is part of its cache key
    again = state.load(root, config={"level": "5"})
    assert again.rules[0]["attrs"] == {"level": 5} and "rules/cc.rule.ts" in again.evaluated
    warm = state.load(root, config={"level": "5"})
    assert warm.rules == again.rules and warm.stats["evaluated"] == 0


def test_no_rules_pattern_no_rules_section(tmp_path, state):
    root = make_project(tmp_path / "p", {"BUILD.ts": TARGET % ("t", ""), "a.rule.ts": RULE % "r"}, manifest=MANIFEST)
    result = state.load(root)
    assert result.rules is None and "rules" not in result.to_json(state.interner)


def test_a_throwing_rule_script_is_a_problem_at_its_line(tmp_path, state):
    root = make_project(tmp_path / "p", {"r/bad.rule.ts": 'const x = 1;\nthrow new Error("no rule today");\n'},
                        manifest=MANIFEST + 'rules = ["r/*"]\n')
    p = first_problem(state, root)
    assert (p.kind, p.file, p.line) == ("script-error", "r/bad.rule.ts", 2) and "no rule today" in p.message


CONFIG_BUILD = '''import { target } from "zako:build";
import { config, getConfig } from "zako:context";
target({ name: "t", kind: "k", attrs: { debug: config.debug, label: getConfig("main"), name: executionContext.project.config.name } });
'''


def test_config_defaults_overrides_and_cache(tmp_path, state):
    root = make_project(tmp_path / "p", {"BUILD.ts": CONFIG_BUILD}, manifest=MANIFEST + """
[config]
debug = { type = "boolean", default = false }
main = { type = "label", default = "//app:main" }
name = { type = "string", default = "x" }
""")
    attrs = lambda r: r.to_json(state.interner)["packages"][0]["targets"][0]["attrs"]  # noqa: E731
    first = state.load(root)
    assert attrs(first) == {"debug": False, "label": "//app:main", "name": "x"}
    assert first.project["config"] == {"debug": False, "main": "//app:main", "name": "x"}
    over = state.load(root, config={"debug": "true", "name": "y"})
    assert attrs(over) == {"debug": True, "label": "//app:main", "name": "y"} and over.stats["evaluated"] == 1
    back = state.load(root)
    assert attrs(back) == attrs(first) and back.stats["evaluated"] == 0


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"debug": "maybe"}, "--config debug=maybe: 'debug' is a boolean config; 'maybe' is not a boolean"),
        ({"main": "app"}, "--config main=app: 'main' is a label config; 'app' is not a label"),
        ({"nope": "1"}, "--config nope=1: no config named 'nope' in zako.toml (config: debug, main, name)"),
    ],
)
def test_wrong_config_is_a_clear_error(tmp_path, state, config, message):
    root = make_project(tmp_path / "p", {"BUILD.ts": CONFIG_BUILD}, manifest=MANIFEST + """
[config]
debug = { type = "boolean", default = false }
main = { type = "label", default = "//app:main" }
name = { type = "string", default = "x" }
""")
    p = first_problem(state, root, config=config)
    assert (p.kind, p.file) == ("manifest", "zako.toml") and p.message == message


DEP_MANIFEST = MANIFEST + '[dependencies]\nlib = { path = "../lib" }\nvendored = { path = "third_party/v" }\nreg = { package = "a:b@1.0.0" }\n'


def dep_tree(tmp_path, dep: str):
    write_files(tmp_path / "lib", {
        "zako.toml": 'group = "l"\nartifact = "lib"\nversion = "0.1.0"\n',
        "BUILD.ts": TARGET % ("core", ', deps: ["//util:u"]'),
        "util/BUILD.ts": TARGET % ("u", ""),
    })
    return make_project(tmp_path / "p", {
        "BUILD.ts": TARGET % ("app", f', deps: ["{dep}"]'),
        "third_party/v/zako.toml": 'group = "v"\nartifact = "v"\nversion = "1.0.0"\n',
        "third_party/v/BUILD.ts": TARGET % ("v", ""),
    }, manifest=DEP_MANIFEST)


def test_path_dependency_targets_by_at_label(tmp_path, state):
    root = dep_tree(tmp_path, "@lib//:core")
    result = state.load(root)
    assert labels(result, state) == ["//:app"]  # the vendored project is not a package of this one
    assert sorted(result.dependencies) == ["lib", "vendored"]
    lib = result.dependencies["lib"]
    assert lib.root == "../lib" and labels(lib, state) == ["//:core", "//util:u"]
    doc = result.to_json(state.interner)
    assert doc["packages"][0]["targets"][0]["deps"] == ["@lib//:core"]
    assert doc["dependencies"]["vendored"]["root"] == "third_party/v"
    assert [t["label"] for t in doc["dependencies"]["lib"]["packages"][1]["targets"]] == ["//util:u"]


@pytest.mark.parametrize(
    ("dep", "why"),
    [
        ("@nope//:x", "@nope is not a declared dependency (dependencies in zako.toml: lib, reg, vendored)"),
        ("@reg//:x", "dependency 'reg' is a {package} dependency: zako loads only {path} dependencies"),
        ("@lib//:ghost", "package // of dependency 'lib' has no target 'ghost'"),
        ("@lib//gone:x", "dependency 'lib' has no package 'gone'"),
        ("@vendored//util:u", "dependency 'vendored' has no package 'util'"),
    ],
)
def test_bad_dependency_labels(tmp_path, state, dep, why):
    root = dep_tree(tmp_path, dep)
    p = first_problem(state, root)
    assert (p.kind, p.file, p.line) == ("missing-dep", "BUILD.ts", 2)
    assert p.message == f"target //:app depends on {dep}, but {why}"


def test_dependency_problems_name_their_files(tmp_path, state):
    root = dep_tree(tmp_path, "@lib//:core")
    write_files(tmp_path / "lib", {"util/BUILD.ts": 'const a = 1;\nthrow new Error("broken dep");\n'})
    p = first_problem(state, root)
    assert (p.kind, p.file, p.line) == ("script-error", "../lib/util/BUILD.ts", 2)
    assert p.message.startswith("in dependency 'lib': ") and "broken dep" in p.message


def test_dependency_cycle_is_an_error(tmp_path, state):
    write_files(tmp_path / "lib", {"zako.toml": MANIFEST + '[dependencies]\nback = { path = "../p" }\n', "BUILD.ts": TARGET % ("l", "")})
    root = make_project(tmp_path / "p", {"BUILD.ts": TARGET % ("a", "")}, manifest=MANIFEST + '[dependencies]\nlib = { path = "../lib" }\n')
    p = first_problem(state, root)
    assert p.kind == "manifest" and p.file == "../lib/zako.toml" and "dependencies form a cycle" in p.message


def test_a_package_script_license_is_checked_as_the_manifests(tmp_path, state):
    root = make_project(tmp_path / "p", {
        "zako.ts": 'import { newProject } from "zako:package";\n\nnewProject({ license: "MIT OR" });\n',
        "BUILD.ts": TARGET % ("t", ""),
    }, manifest=MANIFEST)
    p = first_problem(state, root)
    assert (p.kind, p.file, p.line) == ("script-error", "zako.ts", 3)
    assert p.message == "project license: 'MIT OR' is not an SPDX license expression: expected a license id at the end"


def test_manifest_fields_scripts_read_are_in_their_cache_keys(tmp_path, state):
    root = make_project(tmp_path / "p", {
        "zako.ts": 'import { project } from "zako:package";\nproject({ description: `${project.license} ${project.authors}` });\n',
        "BUILD.ts": 'import { target } from "zako:build";\ntarget({ name: "t", kind: "k", attrs: { d: executionContext.project.description } });\n',
    }, manifest=MANIFEST + 'license = "MIT"\nauthors = ["A <a@b.c>"]\n')
    assert state.load(root).project["description"] == "MIT A <a@b.c>"
    assert state.load(root).stats["evaluated"] == 0
    write_files(tmp_path / "p", {"zako.toml": MANIFEST + 'license = "Apache-2.0"\nauthors = ["A <a@b.c>"]\n'})
    result = state.load(root)
    assert result.project["description"] == "Apache-2.0 A <a@b.c>" and result.evaluated == [".", "."]
    attrs = result.to_json(state.interner)["packages"][0]["targets"][0]["attrs"]
    assert attrs == {"d": "Apache-2.0 A <a@b.c>"}
