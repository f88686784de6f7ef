"""A module graph's outcome must not depend on what ran before it in the
realm: results are cached by content, so an evaluation in a realm that
served others (and that keeps the compiled factories of the modules it saw,
``module_runner.build_script``) must give what a fresh realm gives.

Each graph here (top-level await, dynamic import, their settlement orders,
rejections) runs once alone in a fresh engine, then on one engine in realm
mode after all the others, in two orders, the second pass reusing the
factories the first compiled. The test262 tests with top-level await,
dynamic import or ``$DONE`` run the same way through the conformance
runner when the suite is present: ``rejection-order.js`` once passed only
after another async test had left its ``$DONE`` message in the realm.
"""

from __future__ import annotations

import os

import importlib
import sys
from pathlib import Path

import pytest

from zako.v8 import ContextType, Engine, ModuleLoader
from zako.v8 import module_runner

HERE = Path(__file__).resolve().parent

LOG = {"log.js": "export const log = [];\n"}


def _deferred(name: str) -> str:
    return (f"export const {name} = {{}};\n"
            f"{name}.promise = new Promise((res, rej) => {{ {name}.resolve = res; {name}.reject = rej; }});\n")


GRAPHS: dict[str, dict[str, str]] = {
    "siblings": {
        **LOG,
        "a.js": "import { log } from './log.js';\nlog.push('a1');\nawait 0;\nawait 0;\nlog.push('a2');\n",
        "b.js": "import { log } from './log.js';\nlog.push('b');\n",
        "main.js": "import './a.js';\nimport './b.js';\nimport { log } from './log.js';\nlog.push('main');\n"
                   "export const result = log.slice();\n",
    },
    "batch": {
        **LOG,
        "async.js": "import { log } from './log.js';\nawait 0;\nlog.push('async');\n",
        "d1.js": "import './async.js';\nimport { log } from './log.js';\nlog.push('d1');\n",
        "d2.js": "import './async.js';\nimport { log } from './log.js';\nlog.push('d2');\n",
        "ind.js": "import './d1.js';\nimport { log } from './log.js';\nlog.push('ind');\n",
        "main.js": "import './d1.js';\nimport './d2.js';\nimport './ind.js';\nimport { log } from './log.js';\n"
                   "export const result = log.slice();\n",
    },
    "rejection-order": {
        "setup.js": _deferred("p1") + _deferred("aStart") + _deferred("bStart"),
        "as.js": "import { aStart } from './setup.js';\naStart.resolve();\n",
        "bs.js": "import { bStart } from './setup.js';\nbStart.resolve();\n",
        "a.js": "import './as.js';\nimport './b.js';\n",
        "b.js": "import './bs.js';\nimport { p1 } from './setup.js';\nawait p1.promise;\n",
        "main.js": "import { p1, aStart, bStart } from './setup.js';\nconst logs = [];\n"
                   "const both = Promise.all([\n"
                   "  bStart.promise.then(() => import('./a.js').finally(() => logs.push('A'))).catch(() => {}),\n"
                   "  import('./b.js').finally(() => logs.push('B')).catch(() => {}),\n"
                   "]);\n"
                   "Promise.all([aStart.promise, bStart.promise]).then(() => p1.reject(new RangeError('p1')));\n"
                   "await both;\nexport const result = logs;\n",
    },
    "throw-in-batch": {
        **LOG,
        "async.js": "await 0;\n",
        "bad.js": "import './async.js';\nimport { log } from './log.js';\nlog.push('bad');\nthrow new RangeError('bad');\n",
        "over.js": "import './bad.js';\nimport { log } from './log.js';\nlog.push('over');\n",
        "sib.js": "import './async.js';\nimport { log } from './log.js';\nlog.push('sib');\n",
        "both.js": "import './over.js';\nimport './sib.js';\n",
        "main.js": "import { log } from './log.js';\n"
                   "const e = await import('./both.js').then(() => 'resolved', (e) => e.name);\n"
                   "export const result = [e, ...log];\n",
    },
    "concurrent-imports": {
        "slow.js": "await new Promise((r) => setTimeout(r, 2));\nexport const v = 1;\n",
        "main.js": "const [x, y] = await Promise.all([import('./slow.js'), import('./slow.js')]);\n"
                   "export const result = [x.v, y.v, x === y];\n",
    },
    "cycle-with-tla": {
        **LOG,
        "c1.js": "import './c2.js';\nimport { log } from './log.js';\nlog.push('c1');\nawait 0;\nlog.push('c1b');\n",
        "c2.js": "import './c1.js';\nimport { log } from './log.js';\nlog.push('c2');\n",
        "main.js": "import { log } from './log.js';\nconst order = [];\n"
                   "const p = import('./c2.js').then(() => order.push('c2'));\n"
                   "const q = import('./c1.js').then(() => order.push('c1'));\n"
                   "await Promise.all([p, q]);\nexport const result = [log.slice(), order];\n",
    },
    "tick-interleaving": {
        # microtask-exact: which of two awaiting modules resumes first, seen
        # from a promise chain of the entry
        "t1.js": "export const seen = [];\nawait null;\nseen.push('t1');\nawait null;\nseen.push('t1b');\n",
        "t2.js": "import { seen } from './t1.js';\nawait null;\nseen.push('t2');\n",
        "main.js": "const ticks = [];\nlet n = 0;\nconst spin = () => { ticks.push(n++); if (n < 12) Promise.resolve().then(spin); };\n"
                   "spin();\nconst m = await import('./t2.js');\nconst t1 = await import('./t1.js');\n"
                   "export const result = [t1.seen.slice(), ticks.length];\n",
    },
    "late-rejection": {
        "fail.js": "await 0;\nthrow new RangeError('late');\n",
        "mid.js": "import './fail.js';\nexport const v = 1;\n",
        "main.js": "const a = await import('./mid.js').then(() => 'ok', (e) => e.name);\n"
                   "const b = await import('./fail.js').then(() => 'ok', (e) => e.message);\n"
                   "export const result = [a, b];\n",
    },
    "sync-throw": {
        "bad.js": "throw new TypeError('sync');\n",
        "after.js": "export const ran = true;\n",
        "main.js": "const e = await import('./bad.js').then(() => 'ok', (e) => e.name);\n"
                   "const again = await import('./bad.js').then(() => 'ok', (e) => e.message);\n"
                   "export const result = [e, again];\n",
    },
}


def outcome(engine: Engine, root: Path) -> dict:
    result = engine.execute_module("main.js", context_type=ContextType.LIBRARY, loader=ModuleLoader(root))
    if result.exception is not None:
        return {"error": result.exception.name, "message": result.exception.exception}
    return {"ok": result.value.get("result")}


@pytest.fixture(scope="module")
def roots(tmp_path_factory) -> dict[str, Path]:
    out = {}
    for name, files in GRAPHS.items():
        root = tmp_path_factory.mktemp(name)
        for fname, text in files.items():
            (root / fname).write_text(text)
        out[name] = root
    return out


def test_graph_outcomes_do_not_depend_on_realm_history(roots, monkeypatch):
    fresh = {}
    for name, root in roots.items():
        engine = Engine(timeout_s=10.0)
        try:
            fresh[name] = outcome(engine, root)
        finally:
            engine.close()
    assert fresh["rejection-order"] == {"ok": ["B", "A"]}  # the spec's order, a real outcome

    # Count evaluations that reused compiled factories, to know the reused
    # path was taken (the first evaluation of a graph in a realm ships code).
    reused = []
    build = module_runner.build_script

    def counting(graph, known=frozenset(), **kw):
        text, heads, new_keys = build(graph, known, **kw)
        # one JSON record a line; a module the realm holds comes without code
        reused.append(sum(1 for line in text.splitlines() if '"key":' in line and '"code":' not in line))
        return text, heads, new_keys

    monkeypatch.setattr(module_runner, "build_script", counting)
    names = list(roots)
    engine = Engine(timeout_s=10.0)
    try:
        for order in (names, names[::-1]):
            for name in order:
                assert outcome(engine, roots[name]) == fresh[name], f"{name} after {order[:order.index(name)]}"
        assert engine.realms_made == 1
    finally:
        engine.close()
    assert sum(1 for n in reused if n) >= len(names), "the second pass should reuse compiled factories"


def _t262():
    path = str(HERE / "conformance")
    if path not in sys.path:
        sys.path.insert(0, path)
    return importlib.import_module("t262")


def test262_outcomes_do_not_depend_on_realm_history():
    t262 = _t262()
    suite = t262.suite_path()
    if not (suite / "test").is_dir():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true and test262 is not found at {suite} (set ZAKO_TEST262)")
        pytest.skip(f"test262 not found at {suite}")
    tests = [
        t for t in t262.discover(suite)
        if not set(t.features) & t262.SKIP_FEATURES
        and ({"top-level-await", "dynamic-import"} & set(t.features) or "async" in t.flags)
    ]
    assert len(tests) > 100

    # Fresh: a new realm for every evaluation.
    fresh = t262.Runner(suite)
    fresh.engine.close()
    fresh.engine = Engine(timeout_s=10.0, isolation="isolate")
    try:
        alone = {t.path: fresh.run(t) for t in tests}
    finally:
        fresh.close()

    shared = t262.Runner(suite)
    try:
        for order in (tests, tests[::-1]):
            differ = {}
            for t in order:
                why = shared.run(t)
                if why != alone[t.path]:
                    differ[t.path] = (alone[t.path], why)
            assert not differ, f"fresh realm vs reused realm: {differ}"
    finally:
        shared.close()
    assert alone["language/module-code/top-level-await/rejection-order.js"] is None


def test262_runner_forgets_the_previous_tests_done(tmp_path):
    # A minimal suite: an async test that calls $DONE, then one that never
    # does. Alone the second never finishes; after the first, in the same
    # realm (same harness files), it must not pass on the first's message.
    t262 = _t262()
    (tmp_path / "harness").mkdir()
    (tmp_path / "test").mkdir()
    for name in ("assert.js", "sta.js"):
        (tmp_path / "harness" / name).write_text("")
    (tmp_path / "harness" / "doneprintHandle.js").write_text(
        "function $DONE(e) { print(e ? 'Test262:AsyncTestFailure:' + e : 'Test262:AsyncTestComplete'); }\n")
    meta = "/*---\nflags: [module, async]\n---*/\n"
    (tmp_path / "test" / "done.js").write_text(meta + "$DONE();\n")
    (tmp_path / "test" / "never.js").write_text(meta + "await 0;\n")
    tests = {
        p: t262.Test(path=p, flags=("module", "async"), includes=(), features=(), negative=None)
        for p in ("done.js", "never.js")
    }
    runner = t262.Runner(tmp_path)
    try:
        alone = runner.run(tests["never.js"])
        assert runner.run(tests["done.js"]) is None
        after = runner.run(tests["never.js"])
    finally:
        runner.close()
    assert alone is not None
    assert after == alone
