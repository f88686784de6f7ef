"""ES module semantics as ECMA-262 defines them, one test per class of
failure issue 14 found, run through ``Engine.execute_module`` as build files
are. Where Node 20 implements the rule, the same files run under node too
and both outcomes must agree (node is the oracle); what node 20 lacks
(``using``) is checked against the spec's expected value alone.

Outcome of a run: ``{"ok": <the entry's export `result`>}`` or
``{"error": <error name>}``; a refusal before any code runs (zako's
``TranspileError``/``ModuleLoadError``) is ESM's ``SyntaxError``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from zako.v8 import Engine
from zako.v8.context_type import ContextType
from zako.v8.errors import ModuleLoadError, TranspileError
from zako.v8.loader import ModuleLoader

NODE = shutil.which("node")
_CI = os.environ.get("CI", "").lower() == "true"

_NODE_RUNNER = """
import(process.argv[2]).then(
  (ns) => console.log(JSON.stringify({ ok: ns.result === undefined ? null : ns.result })),
  (e) => console.log(JSON.stringify({ error: (e && e.name) || String(e) })),
);
"""


@pytest.fixture(scope="module")
def engine():
    e = Engine(timeout_s=10.0)
    yield e
    e.close()


def write(root, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).write_text(text)


def zako_outcome(engine, root, entry: str = "main.js") -> dict:
    try:
        result = engine.execute_module(entry, context_type=ContextType.LIBRARY, loader=ModuleLoader(root))
    except (TranspileError, ModuleLoadError):
        return {"error": "SyntaxError"}
    if result.exception is not None:
        return {"error": result.exception.name}
    return {"ok": result.value.get("result")}


def node_outcome(root, entry: str = "main.js") -> dict:
    if NODE is None:
        if _CI:
            pytest.fail("node is required under CI=true")
        pytest.skip("node not installed")
    (root / "__run.mjs").write_text(_NODE_RUNNER)
    out = subprocess.run(
        # .js files without a package.json are CommonJS to node unless told
        [NODE, "--experimental-default-type=module", str(root / "__run.mjs"), (root / entry).as_uri()],
        capture_output=True, text=True, timeout=60,
    )
    lines = out.stdout.strip().splitlines()
    assert lines, out.stderr
    return json.loads(lines[-1])


def agree(engine, tmp_path, files: dict[str, str], expected: dict) -> None:
    """zako gives ``expected`` and node gives the same."""
    write(tmp_path, files)
    assert zako_outcome(engine, tmp_path) == expected
    assert node_outcome(tmp_path) == expected


LOG = {"log.js": "export const log = [];\n"}


# --- new.target keeps its meaning ---------------------------------------------


def test_new_target_is_not_import_meta(engine, tmp_path):
    agree(engine, tmp_path, {"main.js": """
function F() { this.nt = new.target === F; }
class Base { constructor() { this.abstract = new.target === Base; } }
class Derived extends Base {}
const plain = (function () { return new.target; })();
export const result = [new F().nt, new Base().abstract, new Derived().abstract, plain === undefined];
"""}, {"ok": [True, True, False, True]})


# --- module early errors ----------------------------------------------------------

EARLY_ERRORS = {
    "duplicate function": "function f() {}\nfunction f() {}\n",
    "duplicate async function": "async function f() {}\nfunction f() {}\n",
    "var and function": "var f;\nfunction f() {}\n",
    "let and var in a block": "let x;\n{ var x; }\n",
    "html open comment": "<!-- not a comment in a module\n",
    "html close comment": "\n--> not a comment in a module\n",
    "import as eval": "import { x as eval } from './lib.js';\n",
    "import arguments": "import { arguments } from './lib.js';\n",
    "import.meta++": "import.meta++;\n",
    "import.meta =": "import.meta = 1;\n",
    "top-level new.target": "new.target;\n",
    "new.target in a top-level arrow": "const f = () => new.target;\n",
    "export default const": "export default const x = 1;\n",
    "export default let": "export default let x = 1;\n",
    "calling export default function": "export default function () {}();\n",
    "unpaired surrogate export name": "var x;\nexport { x as '\\uD800' };\n",
    "unpaired surrogate import name": "import { '\\uDC00' as y } from './lib.js';\n",
}


@pytest.mark.parametrize("source", EARLY_ERRORS.values(), ids=list(EARLY_ERRORS))
def test_module_early_errors(engine, tmp_path, source):
    agree(engine, tmp_path, {"lib.js": "export const x = 1;\n", "main.js": source}, {"error": "SyntaxError"})


def test_early_error_names_the_line(engine, tmp_path):
    write(tmp_path, {"main.js": "const a = 1;\nfunction f() {}\nfunction f() {}\n"})
    with pytest.raises(TranspileError) as info:
        engine.execute_module("main.js", context_type=ContextType.LIBRARY, loader=ModuleLoader(tmp_path))
    assert (info.value.file, info.value.line) == ("main.js", 3)


def test_same_names_in_functions_are_fine(engine, tmp_path):
    agree(engine, tmp_path, {"main.js": """
function outer() { var f; function f() {} return typeof f; }
const g = () => { var y = 1; return y; };
export const result = [outer(), g()];
"""}, {"ok": ["function", 1]})


def test_import_of_a_module_with_an_early_error_rejects(engine, tmp_path):
    agree(engine, tmp_path, {
        "bad.js": "function f() {}\nfunction f() {}\n",
        "main.js": "export const result = await import('./bad.js').then(() => 'resolved', (e) => e.name);\n",
    }, {"ok": "SyntaxError"})


def test_missing_import_target_rejects_only_that_promise(engine, tmp_path):
    agree(engine, tmp_path, {
        "main.js": """
const missing = await import('./missing.js').then(() => 'resolved', () => 'rejected');
export const result = [missing, (await import('./there.js')).v];
""",
        "there.js": "export const v = 2;\n",
    }, {"ok": ["rejected", 2]})


# --- re-exports linked before anything runs --------------------------------------------


def test_reexport_of_a_missing_name_fails_before_running(engine, tmp_path):
    agree(engine, tmp_path, {
        **LOG,
        "lib.js": "import { log } from './log.js';\nlog.push('lib ran');\nexport const name = 1;\n",
        "main.js": "export { nmae } from './lib.js';\nexport const result = 1;\n",
    }, {"error": "SyntaxError"})


def test_empty_reexport_runs_the_module(engine, tmp_path):
    agree(engine, tmp_path, {
        **LOG,
        "side.js": "import { log } from './log.js';\nlog.push('side');\n",
        "main.js": "import { log } from './log.js';\nexport {} from './side.js';\nexport const result = log.slice();\n",
    }, {"ok": ["side"]})


def test_ambiguous_star_reexport(engine, tmp_path):
    files = {
        "a.js": "export const x = 'a';\n",
        "b.js": "export const x = 'b';\n",
        "star.js": "export * from './a.js';\nexport * from './b.js';\n",
    }
    # ambiguous names are left out of the namespace...
    agree(engine, tmp_path, {**files, "main.js": "import * as ns from './star.js';\nexport const result = 'x' in ns;\n"},
          {"ok": False})
    # ...and naming one is a SyntaxError, used or not
    (tmp_path / "main.js").write_text("export { x } from './star.js';\nexport const result = 1;\n")
    assert zako_outcome(engine, tmp_path) == {"error": "SyntaxError"}
    assert node_outcome(tmp_path) == {"error": "SyntaxError"}


# --- anonymous default exports are named "default" -------------------------------------

DEFAULTS = {
    "function declaration": "export default function () {}\n",
    "generator declaration": "export default function* () {}\n",
    "class declaration": "export default class {}\n",
    "parenthesized function": "export default (function () {});\n",
    "arrow": "export default () => 1;\n",
    "class with static name read": "export default class { static seen = this.name; }\n",
}


@pytest.mark.parametrize("source", DEFAULTS.values(), ids=list(DEFAULTS))
def test_anonymous_default_is_named_default(engine, tmp_path, source):
    agree(engine, tmp_path, {
        "dflt.js": source,
        "main.js": "import d from './dflt.js';\nexport const result = [d.name, d.seen ?? null];\n",
    }, {"ok": ["default", "default" if "seen" in source else None]})


def test_default_function_then_parenthesized_line_is_not_a_call(engine, tmp_path):
    agree(engine, tmp_path, {
        **LOG,
        "dflt.js": "import { log } from './log.js';\nexport default function () { log.push('called'); }\n(1);\n",
        "main.js": "import d from './dflt.js';\nimport { log } from './log.js';\nexport const result = [typeof d, log.slice()];\n",
    }, {"ok": ["function", []]})


# --- namespace objects are exotic objects --------------------------------------------------


def test_namespace_property_descriptors(engine, tmp_path):
    agree(engine, tmp_path, {
        "lib.js": "export const a = 1;\nexport let b = 2;\nexport function setB(v) { b = v; }\n",
        "main.js": """
import * as ns from './lib.js';
const d = Object.getOwnPropertyDescriptor(ns, 'a');
ns.setB(3);
let assigned;
try { ns.a = 5; assigned = 'no throw'; } catch (e) { assigned = e.name; }
export const result = [
  d, Object.getOwnPropertyDescriptor(ns, 'b').value, Object.keys(ns), Object.prototype.toString.call(ns),
  Object.isExtensible(ns), Object.getPrototypeOf(ns), Reflect.deleteProperty(ns, 'a'), Reflect.deleteProperty(ns, 'zz'),
  Reflect.defineProperty(ns, 'a', { value: 1 }), Reflect.defineProperty(ns, 'a', { value: 2 }), assigned,
  Reflect.ownKeys(ns).map(String),
];
""",
    }, {"ok": [
        {"value": 1, "writable": True, "enumerable": True, "configurable": False}, 3, ["a", "b", "setB"],
        "[object Module]", False, None, False, True, True, False, "TypeError",
        ["a", "b", "setB", "Symbol(Symbol.toStringTag)"],
    ]})


@pytest.mark.parametrize("probe", [
    "Object.prototype.hasOwnProperty.call(ns, 'later')",
    "Object.keys(ns)",
    "(() => { for (const k in ns) {} })()",
    "Object.getOwnPropertyDescriptor(ns, 'later')",
])
def test_namespace_tdz_binding_throws(engine, tmp_path, probe):
    agree(engine, tmp_path, {"main.js": f"""
import * as ns from './main.js';
let seen;
try {{ {probe}; seen = 'no throw'; }} catch (e) {{ seen = e.name; }}
export let later = 1;
export const result = seen;
"""}, {"ok": "ReferenceError"})


def test_namespace_keys_sort_by_code_unit(engine, tmp_path):
    agree(engine, tmp_path, {"main.js": """
import * as ns from './main.js';
var x;
export { x as '1', x as 'b', x as 'A', x as '\\u03bc', x as '_', x as '10' };
export const result = Reflect.ownKeys(ns).filter((k) => typeof k === 'string' && k !== 'result');
"""}, {"ok": ["1", "10", "A", "_", "b", "\u03bc"]})


# --- export names -------------------------------------------------------------------------


def test_string_export_names_decode_escapes(engine, tmp_path):
    agree(engine, tmp_path, {
        "lib.js": "const v = 1;\nexport { v as '\\u0041b', v as \\u0063d, v as '\\uD83D\\uDE00' };\n",
        "main.js": "import { Ab, cd, '\\u{1F600}' as smile } from './lib.js';\nexport const result = [Ab, cd, smile];\n",
    }, {"ok": [1, 1, 1]})


def test_using_declaration_can_be_exported(engine, tmp_path):
    # node 20 has no `using`; V8 in mini-racer has: the spec's value only
    write(tmp_path, {
        "res.js": "using r = { [Symbol.dispose]() {} };\nexport { r };\n",
        "main.js": "import { r } from './res.js';\nexport const result = typeof r;\n",
    })
    assert zako_outcome(engine, tmp_path) == {"ok": "object"}


# --- top-level await ------------------------------------------------------------------------


def test_sibling_of_an_awaiting_module_runs_while_it_waits(engine, tmp_path):
    agree(engine, tmp_path, {
        **LOG,
        "a.js": "import { log } from './log.js';\nlog.push('a1');\nawait 0;\nawait 0;\nlog.push('a2');\n",
        "b.js": "import { log } from './log.js';\nlog.push('b');\n",
        "main.js": "import './a.js';\nimport './b.js';\nimport { log } from './log.js';\nlog.push('main');\n"
                   "export const result = log.slice();\n",
    }, {"ok": ["a1", "b", "a2", "main"]})


def test_concurrent_imports_of_an_awaiting_module_both_wait(engine, tmp_path):
    agree(engine, tmp_path, {
        "slow.js": "await new Promise((r) => setTimeout(r, 5));\nexport const v = 1;\n",
        "main.js": "const [x, y] = await Promise.all([import('./slow.js'), import('./slow.js')]);\n"
                   "export const result = [x.v, y.v, x === y];\n",
    }, {"ok": [1, 1, True]})


def test_rejected_async_dependency_rejects_the_importer(engine, tmp_path):
    agree(engine, tmp_path, {
        "fail.js": "await 0;\nthrow new RangeError('late');\n",
        "mid.js": "import './fail.js';\n",
        "main.js": "export const result = await import('./mid.js').then(() => 'ok', (e) => e.name);\n",
    }, {"ok": "RangeError"})


# --- valid syntax tree-sitter's grammar lacks ------------------------------------------------


def test_reexport_with_attributes(engine, tmp_path):
    agree(engine, tmp_path, {
        "data.json": '{"a": 1}',
        "lib.js": "export const v = 2;\n",
        "re.js": "export { default as data } from './data.json' with { type: 'json' };\n"
                 "export * from './lib.js' with {};\n",
        "main.js": "import { data, v } from './re.js';\nexport const result = [data.a, v];\n",
    }, {"ok": [1, 2]})


def test_export_clause_on_the_next_line(engine, tmp_path):
    agree(engine, tmp_path, {"main.js": "const result = 'r';\nexport\n{ result };\nexport//-\n{//-\n};\n"},
          {"ok": "r"})


@pytest.mark.parametrize("decl", ["function () { return 1; }", "class { static v = 1; }"], ids=["function", "class"])
def test_default_declaration_then_a_statement_on_its_line(engine, tmp_path, decl):
    agree(engine, tmp_path, {
        "dflt.js": f"export let seen = 0;\nexport default {decl} if (true) {{ seen += 1; }}\n",
        "main.js": "import d, { seen } from './dflt.js';\nexport const result = [typeof d, seen];\n",
    }, {"ok": ["function", 1]})


def test_for_await_using_head(engine, tmp_path):
    # node 20 has no `using`: the spec's value only
    write(tmp_path, {"main.js": """
const log = [];
const res = (n) => ({ async [Symbol.asyncDispose]() { log.push(n); } });
for (await using x of [res(1), res(2)]) { log.push('body'); }
export const result = log;
"""})
    assert zako_outcome(engine, tmp_path) == {"ok": ["body", 1, "body", 2]}


def test_import_of_a_module_whose_import_is_missing_rejects(engine, tmp_path):
    agree(engine, tmp_path, {
        "dyn.js": "import './gone.js';\nexport const v = 1;\n",
        "main.js": "export const result = await import('./dyn.js').then(() => 'resolved', () => 'rejected');\n",
    }, {"ok": "rejected"})


def test_import_of_a_module_that_fails_to_link_rejects(engine, tmp_path):
    agree(engine, tmp_path, {
        "lib.js": "export const a = 1;\n",
        "dyn.js": "import { nope } from './lib.js';\nexport const v = nope;\n",
        "main.js": "export const result = await import('./dyn.js').then(() => 'resolved', (e) => e.name);\n",
    }, {"ok": "SyntaxError"})


# --- top-level await: the order of settlements ---------------------------------------------


def _deferred(name: str) -> str:
    # node 20 has no Promise.withResolvers
    return (f"export const {name} = {{}};\n"
            f"{name}.promise = new Promise((res, rej) => {{ {name}.resolve = res; {name}.reject = rej; }});\n")


def test_rejection_reaches_the_dependency_before_its_importer(engine, tmp_path):
    # test262 rejection-order.js: b awaits p1; a (imported while b waits)
    # imports b. p1's rejection settles import(b) first, then import(a).
    # Node 20 implements the spec before 2025 (root to leaf: ["A", "B"]):
    # the spec's value only.
    write(tmp_path, {
        "setup.js": _deferred("p1") + _deferred("aStart") + _deferred("bStart"),
        "a-sentinel.js": "import { aStart } from './setup.js';\naStart.resolve();\n",
        "b-sentinel.js": "import { bStart } from './setup.js';\nbStart.resolve();\n",
        "a.js": "import './a-sentinel.js';\nimport './b.js';\n",
        "b.js": "import './b-sentinel.js';\nimport { p1 } from './setup.js';\nawait p1.promise;\n",
        "main.js": "import { p1, aStart, bStart } from './setup.js';\nconst logs = [];\n"
                   "const both = Promise.all([\n"
                   "  bStart.promise.then(() => import('./a.js').finally(() => logs.push('A'))).catch(() => {}),\n"
                   "  import('./b.js').finally(() => logs.push('B')).catch(() => {}),\n"
                   "]);\n"
                   "Promise.all([aStart.promise, bStart.promise]).then(() => p1.reject(new RangeError('p1')));\n"
                   "await both;\nexport const result = logs;\n",
    })
    assert zako_outcome(engine, tmp_path) == {"ok": ["B", "A"]}


def test_importers_made_ready_together_run_in_one_sorted_batch(engine, tmp_path):
    # test262 dfs-invariant.js: async's completion makes direct-1 and
    # direct-2 ready, and indirect through direct-1; they run in the order
    # they became async (direct-1, direct-2, indirect), not depth first.
    agree(engine, tmp_path, {
        **LOG,
        "async.js": "import { log } from './log.js';\nawait 0;\nlog.push('async');\n",
        "direct-1.js": "import './async.js';\nimport { log } from './log.js';\nlog.push('direct-1');\n",
        "direct-2.js": "import './async.js';\nimport { log } from './log.js';\nlog.push('direct-2');\n",
        "indirect.js": "import './direct-1.js';\nimport { log } from './log.js';\nlog.push('indirect');\n",
        "main.js": "import './direct-1.js';\nimport './direct-2.js';\nimport './indirect.js';\n"
                   "import { log } from './log.js';\nexport const result = log.slice();\n",
    }, {"ok": ["async", "direct-1", "direct-2", "indirect"]})


def test_a_module_of_the_batch_that_throws_stops_its_importers_only(engine, tmp_path):
    # bad.js has no top-level await and throws once async.js is done: its
    # importer gathered in the same batch must not run; the sibling does.
    agree(engine, tmp_path, {
        **LOG,
        "async.js": "await 0;\n",
        "bad.js": "import './async.js';\nimport { log } from './log.js';\nlog.push('bad');\n"
                  "throw new RangeError('bad');\n",
        "over-bad.js": "import './bad.js';\nimport { log } from './log.js';\nlog.push('over-bad');\n",
        "sib.js": "import './async.js';\nimport { log } from './log.js';\nlog.push('sib');\n",
        "both.js": "import './over-bad.js';\nimport './sib.js';\n",
        "main.js": "import { log } from './log.js';\n"
                   "const e = await import('./both.js').then(() => 'resolved', (e) => e.name);\n"
                   "export const result = [e, ...log];\n",
    }, {"ok": ["RangeError", "bad", "sib"]})


def test_a_tla_module_in_the_batch_starts_in_order(engine, tmp_path):
    # The batch holds an awaiting module (x) before a synchronous one (y):
    # x starts, y runs while x waits, then x's importer after x.
    agree(engine, tmp_path, {
        **LOG,
        "async.js": "await 0;\n",
        "x.js": "import './async.js';\nimport { log } from './log.js';\nlog.push('x1');\nawait 0;\nlog.push('x2');\n",
        "y.js": "import './async.js';\nimport { log } from './log.js';\nlog.push('y');\n",
        "main.js": "import './x.js';\nimport './y.js';\nimport { log } from './log.js';\n"
                   "export const result = log.slice();\n",
    }, {"ok": ["x1", "y", "x2"]})



def test_a_module_that_failed_mid_walk_rejects_every_later_import(engine, tmp_path):
    # m.js fails while the walk is inside it (its dependency already
    # failed): a second import() of it must reject the same way.
    agree(engine, tmp_path, {
        "fail.js": "await 0;\nthrow new RangeError('late');\n",
        "m.js": "import './fail.js';\nexport const v = 1;\n",
        "main.js": "const a = await import('./fail.js').then(() => 'ok', (e) => e.message);\n"
                   "const b = await import('./m.js').then(() => 'ok', (e) => e.message);\n"
                   "const c = await import('./m.js').then(() => 'ok', (e) => e.message);\n"
                   "export const result = [a, b, c];\n",
    }, {"ok": ["late", "late", "late"]})


def test_an_await_the_transform_does_not_mark_still_evaluates_as_async(engine, tmp_path):
    # node 20 has no `using`: the spec's value only. lib.js awaits only in
    # `for (await using`, after async.js made it ready in a batch: its
    # importer waits for it, its sibling does not.
    write(tmp_path, {
        **LOG,
        "async.js": "await 0;\n",
        "lib.js": "import './async.js';\nimport { log } from './log.js';\n"
                  "const res = { async [Symbol.asyncDispose]() { log.push('disposed'); } };\n"
                  "for (await using x of [res]) { log.push('lib'); }\nlog.push('lib-end');\n",
        "over.js": "import './lib.js';\nimport { log } from './log.js';\nlog.push('over');\n",
        "sib.js": "import './async.js';\nimport { log } from './log.js';\nlog.push('sib');\n",
        "main.js": "import './over.js';\nimport './sib.js';\nimport { log } from './log.js';\n"
                   "export const result = log.slice();\n",
    })
    assert zako_outcome(engine, tmp_path) == {"ok": ["lib", "disposed", "sib", "lib-end", "over"]}
