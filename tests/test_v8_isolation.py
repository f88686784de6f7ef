"""The isolation contract: evaluation A, then evaluation B on the *same*
engine (the same realm, in realm mode); B must see none of A's doing.

Each case is an A script that tries to leave something behind and a B
probe with the value it must produce. The same cases run in both isolation
modes, and ``test_cases_detect_a_plain_reused_context`` runs the plain-script
ones in a bare reused mini-racer context, where they must leak: it shows
that the cases would catch a realm that is not locked down.
"""

from __future__ import annotations

import json
import logging
import textwrap

import pytest

from zako.v8 import ContextType, Engine, ModuleLoader

MIB = 1 << 20

# (id, A, B, what B must return, leaks in a plain reused context)
SCRIPT_CASES = [
    ("global-assign", "globalThis.leak = 1;", "return typeof leak", "undefined", True),
    ("global-define", "Object.defineProperty(globalThis, 'leak2', {value: 1});", "return typeof leak2", "undefined", True),
    ("global-implicit", "leak3 = 1;", "return typeof leak3", "undefined", True),
    ("global-var-eval", "(0, eval)('var leak4 = 1; function leak5() {}');",
     "return [typeof leak4, typeof leak5]", ["undefined", "undefined"], True),
    ("global-function-ctor", "Function('globalThis.leak6 = 1')();", "return typeof leak6", "undefined", True),
    ("wrapper-escape", "}); let escaped = 1; globalThis.escaped2 = 2; (async function () {",
     "let t; try { t = typeof escaped } catch (e) { t = e.name } return [t, typeof escaped2]",
     ["undefined", "undefined"], True),
    ("object-prototype", "Object.prototype.polluted = 1;", "return ({}).polluted === undefined", True, True),
    ("object-prototype-tostring", "Object.prototype.toString = () => 'pwned';",
     "return String({})", "[object Object]", True),
    ("object-setprototypeof", "Object.setPrototypeOf(Object.prototype, {evil: 1});",
     "return ({}).evil === undefined", True, False),
    ("array-prototype", "Array.prototype.push = function () { return 0 }; Array.prototype.extra = 1;",
     "const a = []; a.push(1); return [a.length, a.extra === undefined]", [1, True], True),
    ("array-iterator", "Array.prototype[Symbol.iterator] = function* () { yield 'evil' };",
     "return [...[1, 2]]", [1, 2], True),
    ("iterator-prototype", "Object.getPrototypeOf(Object.getPrototypeOf([][Symbol.iterator]())).evil = 1;",
     "return [][Symbol.iterator]().evil === undefined", True, True),
    ("function-prototype", "Function.prototype.call = null; Function.prototype.evil = 1;",
     "return [Math.max.call(null, 1, 2), (() => 0).evil === undefined]", [2, True], True),
    ("async-function-prototype", "Object.getPrototypeOf(async function () {}).evil = 1;",
     "return (async function () {}).evil === undefined", True, True),
    ("json", "JSON.parse = () => 42;", "return JSON.parse('1')", 1, True),
    ("math", "Math.max = () => 0; Math.PI = 3;", "return [Math.max(1, 2), Math.PI > 3.14]", [2, True], True),
    ("promise", "Promise.prototype.then = function () {}; Promise.resolve = () => 0;",
     "return await Promise.resolve(5)", 5, True),
    ("error-prepare-stack", "Error.prepareStackTrace = () => 'hacked';",
     "return new Error('x').stack.startsWith('Error: x')", True, True),
    ("error-stack-limit", "Error.stackTraceLimit = 0;", "return new Error('x').stack.includes(' at ')", True, True),
    ("error-prototype", "Error.prototype.name = 'Hacked'; TypeError.prototype.message = 'evil';",
     "return [String(new Error('x')), new TypeError().message]", ["Error: x", ""], True),
    ("symbol-for", "Object.prototype[Symbol.for('zako.leak')] = 1; Symbol.leaked = Symbol.for('zako.leak');",
     "return [Symbol.for('zako.leak') in {}, typeof Symbol.leaked]", [False, "undefined"], True),
    ("regexp-statics", "/(s3cret)/.exec('the s3cret');",
     "return [typeof RegExp.$1, typeof RegExp.lastMatch, typeof RegExp.input]",
     ["undefined", "undefined", "undefined"], True),
    ("regexp-prototype", "RegExp.prototype.exec = () => null;", "return /a/.test('a')", True, True),
    ("regexp-prototype-added", "RegExp.prototype.evil = 1;", "return typeof /a/.evil", "undefined", True),
    ("regexp-prototype-proto", "Object.setPrototypeOf(RegExp.prototype, {evil: 1});", "return typeof /a/.evil",
     "undefined", True),
    ("map-prototype", "Map.prototype.get = () => 'evil';", "return new Map([[1, 2]]).get(1)", 2, True),
    ("set-prototype", "delete Set.prototype.has;", "return typeof new Set().has", "function", True),
    ("global-prevent-extensions", "Object.preventExtensions(globalThis);",
     "globalThis.fine = 1; return typeof fine", "number", True),
    ("string-prototype", "String.prototype.trim = () => 'evil';", "return ' a '.trim()", "a", True),
    ("execution-context", "executionContext.leak = 1;", "return executionContext.leak === undefined", True, True),
    ("console", "console.log = () => { throw new Error('evil') };", "console.log('fine'); return 1", 1, True),
    ("timer-globals", "globalThis.setTimeout = (f) => f();",
     "let ran = false; setTimeout(() => { ran = true }, 0); return ran", False, True),
    ("host-protocol", "globalThis.__zako_step = () => '{\"s\":\"ok\",\"value\":1}';", "return 2", 2, False),
    # A leaves work behind: a timer, and a promise waiting on one. Neither may run in B.
    ("pending-timer", "setTimeout(() => { throw new Error('timer left by A') }, 20); return 1;",
     "await new Promise((r) => setTimeout(r, 80)); return 'clean'", "clean", False),
    ("pending-promise", "new Promise((r) => setTimeout(r, 20)).then(() => { throw new Error('promise left by A') });"
     " return 1;", "await new Promise((r) => setTimeout(r, 80)); return 'clean'", "clean", False),
    ("pending-interval", "setInterval(() => console.error('interval left by A'), 1); return 1;",
     "await new Promise((r) => setTimeout(r, 50)); return 'clean'", "clean", False),
]


# A succeeds at these (the language allows them), so the realm is retired
# after A rather than frozen against them: see lockdown.js, "watched objects".
RETIRING_CASES = {"global-assign", "global-define", "global-implicit", "global-var-eval", "global-function-ctor",
                  "wrapper-escape", "regexp-prototype", "regexp-prototype-added", "regexp-prototype-proto",
                  "map-prototype", "set-prototype", "global-prevent-extensions"}


@pytest.fixture(scope="module", params=["realm", "isolate"])
def engine(request):
    eng = Engine(heap_limit_bytes=64 * MIB, timeout_s=10.0, isolation=request.param)
    yield eng
    eng.close()


@pytest.mark.parametrize("case", SCRIPT_CASES, ids=[c[0] for c in SCRIPT_CASES])
def test_b_sees_nothing_of_a(engine, case, caplog):
    _, a, b, expected, _ = case
    engine.evaluate(a)  # A may fail (frozen objects throw in strict code): only B matters
    realms_before = engine.realms_made
    caplog.set_level(logging.INFO, logger="zako.js")
    caplog.clear()
    result = engine.evaluate(b, specifier="zako-memory:B")
    assert result.exception is None, result.exception
    assert result.value == expected
    assert not [r for r in caplog.records if "left by A" in r.getMessage()]
    if engine.isolation == "realm":
        if case[0] in RETIRING_CASES:
            # A changed what lockdown watches instead of freezing: the realm was retired.
            assert engine.realms_made - realms_before == 1
        else:
            # B really ran in A's realm: this is the case the contract is about.
            assert engine.realms_made == realms_before


def _plain(mr, source: str):
    """Run ``source`` as an async function body in a bare, reused context."""
    mr.eval("globalThis.__out = undefined;"
            f"(async function () {{ {source}\n}})().then("
            "(v) => { globalThis.__out = JSON.stringify({v}); }, (e) => { globalThis.__out = JSON.stringify({e: String(e)}); });")
    out = mr.eval("globalThis.__out")
    return json.loads(out) if isinstance(out, str) else {"pending": True}


@pytest.mark.parametrize("case", [c for c in SCRIPT_CASES if c[4]], ids=[c[0] for c in SCRIPT_CASES if c[4]])
def test_cases_detect_a_plain_reused_context(case):
    from py_mini_racer import MiniRacer

    _, a, b, expected, _ = case
    mr = MiniRacer()
    try:
        if "}); " in a:  # the escape only means something as raw script text
            try:
                mr.eval(f"(async function () {{{a}\n}})")
            except Exception:
                pass
        else:
            _plain(mr, a)
        got = _plain(mr, b)
        assert got != {"v": expected}, f"{case[0]}: a plain reused context would not show the leak"
    finally:
        mr.close()


# --- module graphs ----------------------------------------------------------------------


def _tree(tmp_path, files: dict[str, str]):
    for rel, text in files.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return ModuleLoader(tmp_path)


def test_module_state_is_fresh_per_evaluation(engine, tmp_path):
    loader = _tree(tmp_path, {
        "lib/counter.ts": """
            let n = 0;
            export function next(): number { return ++n; }
            export const seen: string[] = [];
        """,
        "BUILD.ts": """
            import { target } from "zako:build";
            import { next, seen } from "./lib/counter.ts";
            seen.push("x");
            target({ name: "only", kind: "filegroup", srcs: [] });
            export const count = next();
            export const seenCount = seen.length;
        """,
    })
    results = [engine.execute_module("BUILD.ts", context_type=ContextType.BUILD, loader=loader) for _ in range(3)]
    for r in results:
        assert r.exception is None, r.exception
        assert r.value == {"count": 1, "seenCount": 1}
        assert [t["name"] for t in r.declarations["targets"]] == ["only"]  # a fresh target() registry


def test_builtin_module_state_is_fresh_per_evaluation(engine, tmp_path):
    loader = _tree(tmp_path, {
        "BUILD.ts": """
            import * as build from "zako:build";
            import * as core from "zako:core";
            let mutated = "no";
            try { (build as any).target = () => null; mutated = "build"; } catch (e) {}
            try { Object.defineProperty(core, "version", { value: "evil" }); mutated = "core"; } catch (e) {}
            build.target({ name: "t", kind: "filegroup", srcs: [] });
            export const result = mutated;
            export const version = core.version;
        """,
    })
    first = engine.execute_module("BUILD.ts", context_type=ContextType.BUILD, loader=loader)
    second = engine.execute_module("BUILD.ts", context_type=ContextType.BUILD, loader=loader)
    assert first.exception is None and second.exception is None
    assert first.value == second.value and first.value["result"] == "no"
    assert first.declarations == second.declarations


def test_an_error_does_not_poison_the_next_evaluation(engine, tmp_path):
    loader = _tree(tmp_path, {
        "bad.ts": "Object.prototype.x = 1;\nthrow new Error('bad');\n",
        "good.ts": "export const fine = ({} as any).x === undefined;\n",
    })
    bad = engine.execute_module("bad.ts", context_type=ContextType.LIBRARY, loader=loader)
    assert bad.exception is not None
    good = engine.execute_module("good.ts", context_type=ContextType.LIBRARY, loader=loader)
    assert good.exception is None and good.value == {"fine": True}


@pytest.mark.parametrize("bad, error", [
    ("return 1 +;", "SyntaxError"),          # V8 refuses the script: nothing started
    ("throw new RangeError('no');", "RangeError"),
    ("console.log('before'); return (async () => { throw new TypeError('late'); })();", "TypeError"),
])
def test_a_failed_script_leaves_its_realm_serving(bad, error, caplog):
    """The first host step travels with the script; when the script fails
    that step is waited out, not cancelled (which would terminate the
    realm's JS): the realm serves the next evaluation, which sees a clean
    state and only its own console output."""
    eng = Engine(isolation="realm")
    try:
        assert eng.evaluate("return 0").value == 0
        made = eng.realms_made
        failed = eng.evaluate(bad)
        assert failed.exception is not None and failed.exception.name == error, failed.exception
        caplog.set_level(logging.INFO, logger="zako.js")
        caplog.clear()
        ok = eng.evaluate("console.log('after'); return 2")
        assert ok.exception is None and ok.value == 2
        assert [r.getMessage() for r in caplog.records if r.name == "zako.js"] == ["zako-memory:main: after"]
        assert eng.realms_made == made
    finally:
        eng.close()
