"""zako:semver by example: node-semver's documented behaviour, one readable
case per function, plus what is zako's own (which contexts may import it,
fresh state per evaluation, types that tsc accepts). The exhaustive check
against node-semver itself is tests/test_semver_differential.py."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from zako.v8 import ContextType, Engine, ModuleLoader

BUILTINS = Path(__file__).parent.parent / "zako" / "v8" / "builtins"

# (JS expression over the namespace `s`, expected value as JSON). The
# expectations are the ones node-semver's README states.
EXAMPLES = [
    # versions
    ('s.valid("1.2.3")', "1.2.3"),
    ('s.valid("a.b.c")', None),
    ('s.valid("=v1.2.3", true)', "1.2.3"),
    ('s.clean("  =v1.2.3   ")', "1.2.3"),
    ('s.clean("=v1.2.3-beta+build")', "1.2.3-beta"),
    ('s.parse("1.2.3-beta.1+exp.sha").prerelease', ["beta", 1]),
    ('s.parse("1.2.3-beta.1+exp.sha").build', ["exp", "sha"]),
    ('s.parse("not")', None),
    ('s.major("2.3.4")', 2),
    ('s.minor("2.3.4")', 3),
    ('s.patch("2.3.4")', 4),
    ('s.prerelease("1.2.3-alpha.1")', ["alpha", 1]),
    ('s.prerelease("1.2.3")', None),
    ('s.inc("1.2.3", "minor")', "1.3.0"),
    ('s.inc("1.2.3", "prerelease", "beta")', "1.2.4-beta.0"),
    ('s.inc("1.2.4-beta.0", "prerelease")', "1.2.4-beta.1"),
    ('s.inc("1.0.0-5", "major")', "1.0.0"),
    ('s.inc("1.2.3", "nope")', None),
    ('s.diff("1.2.3", "1.3.0")', "minor"),
    ('s.diff("1.2.3", "2.0.0-pre")', "premajor"),
    ('s.diff("1.2.3", "1.2.3")', None),
    ('s.coerce("v2").version', "2.0.0"),
    ('s.coerce("42.6.7.9.3-alpha").version', "42.6.7"),
    ('s.coerce("1.2.3.4", {rtl: true}).version', "2.3.4"),
    ('s.coerce("none")', None),
    ('s.SEMVER_SPEC_VERSION', "2.0.0"),
    # the SemVer class
    ('`${new s.SemVer("v1.2.3-rc.1+b", true)}`', "1.2.3-rc.1"),
    ('new s.SemVer("1.2.3").compare("1.2.4")', -1),
    ('new s.SemVer("1.2.3-alpha").comparePre("1.2.3")', -1),
    ('new s.SemVer("1.2.3+b").compareBuild("1.2.3+a")', 1),
    ('new s.SemVer("1.2.3").inc("patch").version', "1.2.4"),
    ('(() => { try { new s.SemVer("1.2"); } catch (e) { return `${e.name}: ${e.message}`; } })()', "TypeError: Invalid Version: 1.2"),
    # comparing
    ('s.gt("1.2.4", "1.2.3")', True),
    ('s.lt("1.2.3-alpha", "1.2.3")', True),
    ('s.eq("1.2.3", "v1.2.3", true)', True),
    ('s.neq("1.2.3", "1.2.4")', True),
    ('s.gte("1.2.3", "1.2.3") && s.lte("1.2.3", "1.2.3")', True),
    ('s.cmp("1.2.3", ">=", "1.0.0")', True),
    ('s.compare("1.0.0-alpha.1", "1.0.0-alpha.beta")', -1),
    ('s.rcompare("1.0.0", "2.0.0")', 1),
    ('s.compareLoose("v1.0.0", "=1.0.0")', 0),
    ('s.compareBuild("1.0.0+1", "1.0.0+2")', -1),
    ('s.sort(["1.10.0", "1.2.0", "1.2.0-rc.1"])', ["1.2.0-rc.1", "1.2.0", "1.10.0"]),
    ('s.rsort(["1.10.0", "1.2.0", "1.2.0-rc.1"])', ["1.10.0", "1.2.0", "1.2.0-rc.1"]),
    # ranges
    ('s.satisfies("1.2.3", "1.x || >=2.5.0 || 5.0.0 - 7.2.3")', True),
    ('s.satisfies("1.2.4-beta.1", "^1.2.3")', False),
    ('s.satisfies("1.2.4-beta.1", "^1.2.3", {includePrerelease: true})', True),
    ('s.satisfies("1.2.3-beta.4", ">1.2.3-alpha.3")', True),
    ('new s.Range("^0.2.3").range', ">=0.2.3 <0.3.0-0"),
    ('new s.Range("~1.2").range', ">=1.2.0 <1.3.0-0"),
    ('new s.Range("1.2.3 - 2.3").range', ">=1.2.3 <2.4.0-0"),
    ('new s.Range(">1.2").range', ">=1.3.0"),
    ('new s.Range("1.2.3 || <0.0.0-0").set.length', 1),
    ('new s.Range(">=1.2.3 <2").test("1.9.0")', True),
    ('s.toComparators("^1.2.3 || 2.x")', [[">=1.2.3", "<2.0.0-0"], [">=2.0.0", "<3.0.0-0"]]),
    ('s.validRange("")', "*"),
    ('s.validRange("not a range")', None),
    ('s.maxSatisfying(["1.2.3", "1.2.4", "1.3.0"], "~1.2")', "1.2.4"),
    ('s.minSatisfying(["1.2.3", "1.2.4", "1.3.0"], "^1.2.4")', "1.2.4"),
    ('s.minVersion(">=1.0.0 || >1.0.0-alpha").version', "1.0.0-alpha.0"),
    ('s.minVersion("<0.0.0-0")', None),
    ('s.gtr("2.0.0", "^1.2.3")', True),
    ('s.ltr("1.0.0", "^1.2.3")', True),
    ('s.outside("1.5.0", "^1.2.3", ">")', False),
    ('s.intersects("^1.2.3", "~1.5")', True),
    ('s.intersects(">2", "<1")', False),
    ('s.subset("^1.2.3", "^1.0.0")', True),
    ('s.subset("^1.2.3", "~1.2.0")', False),
    ('s.simplifyRange(["1.0.0", "1.1.0", "1.2.0", "2.0.0"], ">=1.0.0 <1.2.0 || 1.2.0")', "<=1.2.0"),
    ('new s.Comparator(">=1.2.3").test("1.3.0")', True),
    ('new s.Comparator("").semver === s.Comparator.ANY', True),
    ('new s.Comparator(">1.0.0").intersects(new s.Comparator("<2.0.0"))', True),
]


@pytest.fixture(scope="module")
def engine():
    return Engine(timeout_s=30.0)


def run_module(engine, tmp_path, source: str, context_type=ContextType.LIBRARY, name: str = "main"):
    loader = ModuleLoader(tmp_path, memory_modules={name: source})
    result = engine.execute_module(f"zako-memory:{name}", context_type=context_type, loader=loader)
    assert result.exception is None, result.exception
    return result.value


def test_documented_examples(engine, tmp_path):
    # one evaluation for all examples; each reports its own value or throw
    body = ",\n".join(
        f"(() => {{ try {{ return {{v: {expr}}}; }} catch (e) {{ return {{e: `${{e.name}}: ${{e.message}}`}}; }} }})()"
        for expr, _ in EXAMPLES
    )
    source = f'import * as s from "zako:semver";\nexport default JSON.stringify([\n{body}\n]);\n'
    outcomes = json.loads(run_module(engine, tmp_path, source)["default"])
    assert len(outcomes) == len(EXAMPLES)
    mismatches = [(expr, want, got) for (expr, want), got in zip(EXAMPLES, outcomes) if got != {"v": want}]
    assert mismatches == []


@pytest.mark.parametrize("context_type", list(ContextType), ids=lambda c: c.value)
def test_every_context_may_import_semver(engine, tmp_path, context_type):
    source = 'import { satisfies, SemVer } from "zako:semver";\nexport const ok = satisfies(new SemVer("1.2.3"), "^1");\n'
    assert run_module(engine, tmp_path, source, context_type)["ok"] is True


def test_a_library_file_imports_semver(engine, tmp_path):
    (tmp_path / "versions.ts").write_text(
        'import { maxSatisfying } from "zako:semver";\n'
        "export const pick = (vs: string[], r: string): string | null => maxSatisfying(vs, r);\n"
    )
    (tmp_path / "BUILD.ts").write_text(
        'import { pick } from "./versions.ts";\nexport const best = pick(["1.0.0", "1.4.2", "2.0.0"], "^1");\n'
    )
    result = engine.execute_module("BUILD.ts", context_type=ContextType.BUILD, loader=ModuleLoader(tmp_path))
    assert result.exception is None, result.exception
    assert result.value["best"] == "1.4.2"


def test_each_evaluation_gets_a_fresh_module(engine, tmp_path):
    # A build file that patches the classes changes nothing for the next one.
    patch = (
        'import { SemVer, Range } from "zako:semver";\n'
        "SemVer.prototype.compare = () => 0;\n"
        "Range.prototype.test = () => true;\n"
        "export const patched = true;\n"
    )
    assert run_module(engine, tmp_path, patch, name="patch")["patched"] is True
    check = 'import { gt, satisfies } from "zako:semver";\nexport const r = [gt("2.0.0", "1.0.0"), satisfies("3.0.0", "^1")];\n'
    assert run_module(engine, tmp_path, check, name="check")["r"] == [True, False]


def test_the_module_does_not_touch_shared_intrinsics(engine, tmp_path):
    # Evaluating the whole API leaves the realm's RegExp/Array/String/Object
    # prototypes as they were: Array/String/Object are frozen (a write would
    # throw); RegExp.prototype is watched, not frozen (V8's fast paths), and
    # lockdown's own check must find it, and the global object, unchanged.
    source = (
        'import * as s from "zako:semver";\n'
        "const before = [RegExp, Array, String, Object].map((c) => Object.getOwnPropertyNames(c.prototype).join());\n"
        's.coerce("1.2.3.4", {rtl: true}); s.subset("^1", "^1 || ^2"); s.minVersion(">1.0.0");\n'
        "const after = [RegExp, Array, String, Object].map((c) => Object.getOwnPropertyNames(c.prototype).join());\n"
        "export const same = JSON.stringify(before) === JSON.stringify(after);\n"
        "export const intact = globalThis.__zako_intact();\n"
    )
    value = run_module(engine, tmp_path, source)
    assert (value["same"], value["intact"]) == (True, True)


def _ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes", "on")


def test_types_accept_the_documented_usage(tmp_path):
    tsc = shutil.which("tsc")
    if tsc is None:
        if _ci():
            pytest.fail("CI=true and tsc (node-typescript) is not installed")
        pytest.skip("tsc (node-typescript) is not installed")
    (tmp_path / "use.ts").write_text(
        f'/// <reference path="{(BUILTINS / "semver.d.ts").as_posix()}" />\n'
        'import { SemVer, Range, Comparator, satisfies, parse, inc, coerce, maxSatisfying, sort, cmp } from "zako:semver";\n'
        'import * as semver from "zako:semver";\n'
        'const v: SemVer = new SemVer("1.2.3", { loose: true });\n'
        "const text: string = `${v}` + v.version + v.major.toFixed(0) + v.prerelease.join();\n"
        'const r = new Range("^1.2.3 || ~2", true);\n'
        'const ok: boolean = satisfies(v, r) && r.test("1.2.4") && new Comparator(">=1").test(v);\n'
        'const p: SemVer | null = parse("1.2.3");\n'
        'const n: string | null = inc("1.2.3", "minor") ?? inc("1.2.3", "prerelease", "beta");\n'
        'const c: SemVer | null = coerce("v2", { rtl: true });\n'
        'const m: string | null = maxSatisfying(["1.0.0", "1.2.0"], "^1");\n'
        'const sorted: string[] = sort(["2.0.0", "1.0.0"]);\n'
        'const b: boolean = cmp("1.0.0", ">=", "0.1.0") && semver.subset("^1.2.3", "^1");\n'
        "export { text, ok, p, n, c, m, sorted, b };\n"
        "// @ts-expect-error: not a release type\n"
        'inc("1.2.3", "huge");\n'
    )
    proc = subprocess.run(
        [tsc, "--noEmit", "--strict", "--target", "es2022", "--module", "es2022", "--moduleResolution", "node", "use.ts"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_a_range_made_from_a_comparator_has_options(engine, tmp_path):
    # docs/semver.md, difference 1: node-semver 7.3.5 leaves these unset and
    # then throws on a prerelease; zako answers.
    source = (
        'import { Range, Comparator, satisfies } from "zako:semver";\n'
        'const r = new Range(new Comparator(">=1.0.0"), {includePrerelease: true});\n'
        "export const fields = [r.options, r.loose, r.includePrerelease, r.range];\n"
        'export const tests = [r.test("1.2.0-beta"), satisfies("1.2.0-beta", new Comparator(">=1.0.0"))];\n'
    )
    value = run_module(engine, tmp_path, source)
    assert value["fields"] == [{"includePrerelease": True}, False, True, ">=1.0.0"]
    assert value["tests"] == [True, False]
