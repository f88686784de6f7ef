"""The original Zako's builtins: zako:package (and its alias zako:project),
zako:core's additions, zako:console and zako:context, run in V8."""

from __future__ import annotations

import logging

import pytest

from zako import __version__
from zako.v8 import ContextType, Engine, ModuleLoader
from zako.v8.engine import TRACE

MANIFEST = {"group": "moe.fra", "artifact": "zako", "version": "1.2.3-rc.1", "description": "d", "options": {},
            "config": {"debug": True, "level": 2}}


@pytest.fixture(scope="module")
def engine():
    return Engine(timeout_s=10.0)


def run(engine, tmp_path, name: str, source: str, ctx=ContextType.PACKAGE, inputs=None):
    (tmp_path / name).write_text(source)
    return engine.execute_module(name, context_type=ctx, loader=ModuleLoader(tmp_path),
                                 inputs={"project": MANIFEST} if inputs is None else inputs)


@pytest.mark.parametrize("module", ["zako:package", "zako:project"])
def test_project_metadata_and_semver_version(engine, tmp_path, module):
    r = run(engine, tmp_path, "zako.ts", f"""
import {{ project }} from "{module}";
import meta from "{module}";
import {{ SemVer }} from "zako:semver";
export const text = `${{project.group}}:${{project.artifact}}@${{project.version}}`;
export const parts = [project.version.major, project.version.minor, project.version.patch, project.version.prerelease];
export const isSemVer = project.version instanceof SemVer;
export const same = meta === project && project() === project;
export const config = project.config;
""")
    assert r.exception is None, r.exception
    assert r.value["text"] == "moe.fra:zako@1.2.3-rc.1"
    assert r.value["parts"] == [1, 2, 3, ["rc", 1]]
    assert r.value["isSemVer"] is True and r.value["same"] is True
    assert r.value["config"] == {"debug": True, "level": 2}


def test_new_project_and_project_options_return_a_recording_builder(engine, tmp_path):
    r = run(engine, tmp_path, "zako.ts", """
import { project, newProject } from "zako:package";
const p = project({ artifact: "zako_test", version: "2.0.0", license: "MIT", authors: ["MoeGodot <me@kawayi.moe>"] });
p.addBuild("src/**");
p.addRule({ include: ["rules/**/*.ts"], exclude: ["rules/test/*.ts"] });
const q = newProject({ group: "fra.moe", artifact: "zako_test", version: "2.0.0", builds: ["lib/**"] });
q.addToolchain(["tc/*.toolchain.ts"]);
export const same = p === q;
export const version = `${q.version}`;
export const builds = q.builds;
""")
    assert r.exception is None, r.exception
    assert r.value == {"same": True, "version": "2.0.0", "builds": {"include": ["lib/**", "src/**"], "exclude": []}}
    (record,) = r.declarations["project"]
    assert record["artifact"] == "zako_test" and record["group"] == "fra.moe" and record["version"] == "2.0.0"
    assert (record["license"], record["authors"]) == ("MIT", ["MoeGodot <me@kawayi.moe>"])
    assert record["rules"] == {"include": ["rules/**/*.ts"], "exclude": ["rules/test/*.ts"]}
    assert record["toolchains"] == {"include": ["tc/*.toolchain.ts"], "exclude": []}


@pytest.mark.parametrize(
    ("call", "message"),
    [
        ('newProject({ version: "one" })', 'newProject(): version "one" is not a semantic version'),
        ('newProject({ authors: ["nobody"] })', 'authors must be an array of "Name <user@host>" strings'),
        ('newProject({ builds: [1] })', "newProject(): builds: a pattern must be an array of non-empty glob strings"),
        ('project({ group: 3 })', "project(): group must be a string, got 3"),
        ('newProject({}).addBuild({ inclde: ["x"] })', 'addBuild(): unknown pattern key "inclde"'),
    ],
)
def test_builder_refusals(engine, tmp_path, call, message):
    r = run(engine, tmp_path, "zako.ts", f'import {{ project, newProject }} from "zako:package";\n{call};\n')
    assert r.exception is not None and message in r.exception.message, r.exception


def test_core_version_require_and_append(engine, tmp_path):
    r = run(engine, tmp_path, "lib.ts", """
import { version, requireZakoVersion, appendPattern, ZakoRuntimeError } from "zako:core";
import { Range } from "zako:semver";
requireZakoVersion(">=0.0.1");
requireZakoVersion(new Range("*"));
let refused = "";
try { requireZakoVersion(">=999.0.0"); } catch (e) { refused = `${e instanceof ZakoRuntimeError && e instanceof Error}:${e.name}:${e.message}`; }
export const text = `${version}`;
export const major = version.major;
export const refusal = refused;
export const merged = appendPattern(["a/**"], { include: ["b"], exclude: ["c"] });
export const fromNothing = appendPattern(undefined, "x");
""", ctx=ContextType.LIBRARY)
    assert r.exception is None, r.exception
    assert r.value["text"] == __version__ and r.value["major"] == int(__version__.split(".")[0])
    assert r.value["refusal"] == f"true:ZakoRuntimeError:this project requires zako >=999.0.0, but this is zako {__version__}"
    assert r.value["merged"] == {"include": ["a/**", "b"], "exclude": ["c"]}
    assert r.value["fromNothing"] == {"include": ["x"], "exclude": []}


@pytest.mark.parametrize("ctx", list(ContextType))
def test_context_name_and_config_in_every_context(engine, tmp_path, ctx):
    name = {ContextType.PACKAGE: "zako.ts", ContextType.BUILD: "BUILD.ts", ContextType.RULE: "x.rule.ts",
            ContextType.TOOLCHAIN: "x.toolchain.ts", ContextType.CONFIG: "x.config.ts"}.get(ctx, "lib.ts")
    r = run(engine, tmp_path, name, """
import { name, config, getConfig } from "zako:context";
import { Console, console as c } from "zako:console";
import * as semver from "zako:semver";
let missing = "";
try { getConfig("nope"); } catch (e) { missing = e.name + ": " + e.message; }
export const out = { name, level: getConfig("level"), config, missing, console: c instanceof Console,
                     sem: semver.satisfies("1.2.3", "^1.0.0") };
""", ctx=ctx)
    assert r.exception is None, r.exception
    assert r.value["out"] == {
        "name": ctx.value, "level": 2, "config": {"debug": True, "level": 2}, "console": True, "sem": True,
        "missing": 'ZakoRuntimeError: no config named "nope" in the manifest (config: debug, level)',
    }


def test_console_and_core_levels_reach_the_logger(engine, tmp_path, caplog):
    with caplog.at_level(TRACE, logger="zako.js"):
        r = run(engine, tmp_path, "lib.ts", """
import * as core from "zako:core";
import c from "zako:console";
core.trace("t1"); core.debug("d1"); core.info("i1"); core.warn("w1"); core.error("e1");
c.trace("t2"); c.debug("d2"); c.log("l2"); c.info("i2"); c.warn("w2"); c.error("e2", 3);
console.trace("t3");
""", ctx=ContextType.LIBRARY)
    assert r.exception is None, r.exception
    got = [(rec.levelno, rec.getMessage()) for rec in caplog.records if rec.name == "zako.js"]
    levels = [TRACE, logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR]
    assert got == [(lv, f"lib.ts: {m}") for lv, m in zip(levels, ["t1", "d1", "i1", "w1", "e1"])] + [
        (TRACE, "lib.ts: t2"), (logging.DEBUG, "lib.ts: d2"), (logging.INFO, "lib.ts: l2"),
        (logging.INFO, "lib.ts: i2"), (logging.WARNING, "lib.ts: w2"), (logging.ERROR, "lib.ts: e2 3"),
        (TRACE, "lib.ts: t3"),
    ]


def test_package_builtin_only_in_package_context(engine, tmp_path):
    from zako.v8 import ModuleLoadError

    with pytest.raises(ModuleLoadError, match="zako:package is available to package"):
        run(engine, tmp_path, "BUILD.ts", 'import { project } from "zako:package";\nproject();\n', ctx=ContextType.BUILD)


def test_the_original_new_project_script_form_loads(engine, tmp_path, caplog):
    # The calls the original's own tests/new_project script makes: project()
    # with the manifest's JSON (its "options" and a dropped "workspaces"
    # field), then project({...}) as a builder.
    (tmp_path / "zako.json").write_text('{"group": "fra.moe", "artifact": "zako", "version": "1.0.0",'
                                        ' "options": {"debug": {"type": "boolean", "default": false}},'
                                        ' "workspaces": ["src/**"]}')
    with caplog.at_level(logging.WARNING, logger="zako.js"):
        r = run(engine, tmp_path, "zako.ts", """
import { project } from "zako:project";
import def from "./zako.json" with { type: "json" };

project(def as any);
const myProject = project({ group: "fra.moe", artifact: "zako_test", version: "1.0.0", license: "MIT",
                            authors: ["MoeGodot <me@kawayi.moe>"], workspaces: ["src/**", "tests/**"] } as any);
myProject.addBuild("src/**");
myProject.addRule({ include: ["rules/**/*.ts"], exclude: ["rules/test/*.ts"] });
""")
    assert r.exception is None, r.exception
    (record,) = r.declarations["project"]
    assert (record["artifact"], record["builds"]) == ("zako_test", {"include": ["src/**"], "exclude": []})
    assert record["options"] == {"debug": {"type": "boolean", "default": False}}
    warnings = [rec.getMessage() for rec in caplog.records if rec.name == "zako.js"]
    assert [w.split(" is ignored")[0] for w in warnings] == [
        'zako.ts: zako.ts:5: project(): unknown field "workspaces"',
        'zako.ts: zako.ts:6: project(): unknown field "workspaces"',
    ]
