"""Hostile build files in a ``zako load --keep-going`` (issue 12, "Bad input").

One project tree mixes hostile BUILD.ts files — an infinite loop, a heap
bomb, ArrayBuffer bombs, a promise that never settles, runaway recursion,
and a script that tries to leave state behind for whatever the same worker
evaluates next — with normal packages. The normal packages *probe* the
realm they run in (globals, intrinsics, a shared library module's state)
and put what they see in their targets' attrs, so any leak changes the
graph.

``zako load --keep-going --json --timeout 2`` runs in-process with
``--jobs 1`` (one worker, so the realm that served a hostile script serves
the scripts after it) and ``--jobs 2``, in both isolation modes. Each
hostile script must be exactly one problem of the expected kind naming its
file, and the normal packages' graph must be identical to a load of the
same tree without the hostile packages.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

import zako.global_state
from zako.cli import main

MIB = 1 << 20
#: Small enough that the heap bomb hits the limit in a fraction of a second.
HEAP_LIMIT = 32 * MIB
TIMEOUT_S = "2"

from project_tree import MANIFEST, write_files

# A library with module-level state: every evaluation must get a fresh instance.
COUNTER = """
let n = 0;
export function next(): number { return ++n; }
export const seen: string[] = [];
"""

# What a normal package reports about the realm it runs in; any leak from an
# earlier evaluation on the same worker shows up in its attrs.
PROBE = """
import { target, glob } from "zako:build";
import { next, seen } from "../lib/counter.ts";

seen.push("{name}");
const probe = {
  globals: ["leak", "leakDefined", "leakFromTimer", "leakFromInterval", "leakFromPromise", "leakFromMicrotask"]
    .map((k) => typeof (globalThis as any)[k]),
  objectToString: String({}),
  polluted: typeof ({} as any).polluted,
  push: (() => { const a: number[] = []; a.push(1, 2); return a.length; })(),
  iterate: [...[1, 2]],
  json: JSON.stringify({ a: [1] }),
  max: Math.max(1, 2),
  then: typeof Promise.prototype.then,
  stack: new Error("x").stack!.split("\\n")[0],
  stackLimit: (Error as any).stackTraceLimit,
  errorName: String(new TypeError("t")),
  trim: " a ".trim(),
  symbol: typeof (Symbol as any).leaked,
  symbolFor: Symbol.for("zako.leak") in {},
  regexp: typeof (RegExp as any).$1,
  counter: next(),
  seen: seen.length,
  awaited: await new Promise((r) => setTimeout(() => r("late"), 1)),
};
target({ name: "{name}", kind: "filegroup", srcs: glob(["src/*.txt"]), deps: {deps}, attrs: { probe } });
"""

NORMAL = {
    # name -> deps; names spread around the hostile ones so that, with one
    # worker, normal scripts run after hostile ones whatever the order.
    "b_app": ["//m_core:m_core", "//z_util:z_util"],
    "m_core": ["//z_util:z_util"],
    "s_lib": [],  # after "never" and "recursion", which leave their realm in service
    "z_util": [],
}

# Tries to leave something behind for the next evaluation on its worker;
# modules are strict, so a refused write throws and is counted.
POLLUTER = """
import { target } from "zako:build";
import { next, seen } from "../lib/counter.ts";

for (let i = 0; i < 5; i++) next();
seen.push("polluter");
const tries: Array<() => void> = [
  () => { Object.prototype.toString = () => "pwned"; },
  () => { (Object.prototype as any).polluted = 1; },
  () => { Object.setPrototypeOf(Object.prototype, { polluted: 1 }); },
  () => { Array.prototype.push = function () { return 0; }; },
  () => { (Array.prototype as any)[Symbol.iterator] = function* () { yield "evil"; }; },
  () => { (Function.prototype as any).evil = 1; },
  () => { JSON.stringify = () => "pwned"; },
  () => { Math.max = () => 0; },
  () => { (Promise.prototype as any).then = null; },
  () => { (Error as any).prepareStackTrace = () => "pwned"; },
  () => { (Error as any).stackTraceLimit = 0; },
  () => { (TypeError.prototype as any).name = "Pwned"; },
  () => { String.prototype.trim = () => "pwned"; },
  () => { (Symbol as any).leaked = Symbol.for("zako.leak"); },
  () => { (Object.prototype as any)[Symbol.for("zako.leak")] = 1; },
];
let refused = 0;
for (const t of tries) { try { t(); } catch (e) { refused++; } }
/(s3cret)/.exec("the s3cret");
// Work left pending when the module finishes: it must be dropped, not run
// in the next evaluation.
setTimeout(() => { (globalThis as any).leakFromTimer = 1; throw new Error("timer left behind"); }, 1);
setInterval(() => { (globalThis as any).leakFromInterval = 1; }, 1);
new Promise((r) => setTimeout(r, 1)).then(() => { (globalThis as any).leakFromPromise = 1; });
// A microtask still runs within this evaluation: it tries a frozen object
// (a global write would be allowed and retire the realm, see GLOBALS).
queueMicrotask(() => { try { (Object.prototype as any).leakFromMicrotask = 1; } catch (e) {} });
target({ name: "polluter", kind: "filegroup", srcs: [], attrs: { refused, tried: tries.length } });
"""

# Defines globals, which the language allows and the realm permits (the
# global object is watched, not frozen): it loads, and its realm is retired
# after it, so no later evaluation sees `leak`.
GLOBALS = """
import { target } from "zako:build";
(globalThis as any).leak = 1;
Object.defineProperty(globalThis, "leakDefined", { value: 1 });
target({ name: "globals", kind: "filegroup", srcs: [], attrs: { leak: (globalThis as any).leak } });
// after target(): the builtins' own checks in this evaluation use RegExp too
RegExp.prototype.exec = () => null;
"""

# name -> (source, problem kind, words the message must contain)
HOSTILE = {
    "a_polluter": (POLLUTER, None, ()),
    "a_globals": (GLOBALS, None, ()),
    "spin": ("import { target } from \"zako:build\";\nfor (;;) {}\n", "timeout", ("did not finish",)),
    # big objects, so the limit is reached in well under the timeout even on a busy machine
    "heap": ("const keep: any[] = [];\nfor (;;) keep.push({ a: new Array(1024).fill(keep.length), b: \"x\" + keep.length });\n",
             "engine", ("limit",)),
    "buffers": ("const keep: ArrayBuffer[] = [];\nfor (;;) keep.push(new ArrayBuffer(16 << 20));\n",
                "engine", ("memory limit",)),
    "huge_buffer": ("export const b = new ArrayBuffer(2 ** 33);\n", "engine", ("memory limit",)),
    "never": ("await new Promise(() => {});\n", "engine", ("promise is still pending",)),
    "recursion": ("function down(n: number): number { return down(n + 1) + 1; }\ndown(0);\n",
                  "script-error", ("Maximum call stack size exceeded",)),
}


def write_tree(root, *, hostile: bool) -> str:
    files = {"zako.toml": MANIFEST, "lib/counter.ts": COUNTER}
    for name, deps in NORMAL.items():
        files[f"{name}/BUILD.ts"] = PROBE.replace("{name}", name).replace("{deps}", json.dumps(deps))
        files[f"{name}/src/{name}.txt"] = name
    if hostile:
        for name, (source, _, _) in HOSTILE.items():
            files[f"{name}/BUILD.ts"] = source
    return write_files(root, files)


class SmallHeapState(zako.global_state.GlobalState):
    """The CLI has no heap flag: its GlobalState gets a small heap limit."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("heap_limit_bytes", HEAP_LIMIT)
        super().__init__(*args, **kwargs)


@pytest.fixture
def small_heap(monkeypatch):
    monkeypatch.setattr(zako.global_state, "GlobalState", SmallHeapState)


@pytest.fixture
def served(monkeypatch):
    """(specifier, realm id) of every evaluation, in order: shows which
    scripts shared a realm (observation only; nothing is changed)."""
    from zako.v8.engine import Engine

    log = []
    # Retired realms are kept referenced, so that no later realm can reuse
    # a retired one's id() and pass for it.
    seen = []
    give_back = Engine._give_back

    def spy(self, realm, run):
        log.append((run.specifier, id(realm)))
        seen.append(realm)
        return give_back(self, realm, run)

    monkeypatch.setattr(Engine, "_give_back", spy)
    return log


@pytest.fixture(scope="module")
def trees(tmp_path_factory):
    base = tmp_path_factory.mktemp("hostile")
    return {
        "hostile": write_tree(base / "hostile", hostile=True),
        "clean": write_tree(base / "clean", hostile=False),
    }


def load(capsys, tmp_path, root, isolation, jobs):
    code = main(["load", root, "--keep-going", "--json", "--timeout", TIMEOUT_S, "--no-cache",
                 "--cache-dir", str(tmp_path / "cache"), "--isolation", isolation, "--jobs", str(jobs)])
    out, err = capsys.readouterr()
    return code, json.loads(out), err


def normal_packages(doc):
    return [p for p in doc["packages"] if p["path"] in NORMAL]


@pytest.mark.parametrize("jobs", [1, 2])
@pytest.mark.parametrize("isolation", ["realm", "isolate"])
def test_hostile_scripts_are_one_problem_each_and_leave_the_rest_intact(
        capsys, tmp_path, small_heap, served, trees, isolation, jobs):
    code, clean, err = load(capsys, tmp_path, trees["clean"], isolation, jobs)
    assert code == 0, err
    assert [p["path"] for p in normal_packages(clean)] == sorted(NORMAL)
    probe = clean["packages"][0]["targets"][0]["attrs"]["probe"]
    # The clean tree's answers are the untouched realm's answers.
    assert probe["globals"] == ["undefined"] * 6 and probe["counter"] == 1 and probe["seen"] == 1
    assert probe["objectToString"] == "[object Object]" and probe["push"] == 2 and probe["stackLimit"] > 0

    served.clear()
    code, doc, err = load(capsys, tmp_path, trees["hostile"], isolation, jobs)
    assert code == 1, err
    problems = doc["errors"]
    failing = {name: spec for name, spec in HOSTILE.items() if spec[1] is not None}
    by_file = {}
    for p in problems:
        by_file.setdefault(p["file"], []).append(p)
    assert sorted(by_file) == sorted(f"{name}/BUILD.ts" for name in failing), problems
    for name, (_, kind, words) in failing.items():
        [problem] = by_file[f"{name}/BUILD.ts"]  # one problem per hostile script, no follow-on errors
        assert problem["kind"] == kind, problem
        assert problem["package"] == name
        assert f"{name}/BUILD.ts" in problem["message"] or problem["kind"] == "script-error", problem
        for word in words:
            assert word in problem["message"], problem
        # and the same problem on stderr, as file[:line]: error[kind]
        assert re.search(rf"^{name}/BUILD\.ts(:\d+)?: error\[{kind}\]", err, re.M), err

    # The polluter loads: every attempt was refused, and its targets are there.
    [polluter] = [p for p in doc["packages"] if p["path"] == "a_polluter"]
    attrs = polluter["targets"][0]["attrs"]
    assert attrs["refused"] == attrs["tried"], attrs
    # The globals script's writes worked for itself (and only for itself: the probes).
    [definer] = [p for p in doc["packages"] if p["path"] == "a_globals"]
    assert definer["targets"][0]["attrs"] == {"leak": 1}

    # The normal packages are exactly what a load without the hostile ones gives.
    assert normal_packages(doc) == normal_packages(clean)
    assert {p["path"] for p in doc["packages"]} == set(NORMAL) | {"a_polluter", "a_globals"}

    if isolation == "realm" and jobs == 1:
        # The case this is about: normal scripts ran in a realm after a
        # hostile script (the polluter at least) had run in it.
        realm_of_hostile = {}
        followers = set()
        for spec, realm in served:
            package = spec.split("/")[0]
            if package in HOSTILE:
                realm_of_hostile.setdefault(realm, package)
            elif realm in realm_of_hostile:
                followers.add((realm_of_hostile[realm], package))
        assert any(h == "a_polluter" for h, _ in followers), served
        # ...but none ran in the realm the globals script changed: it was retired.
        assert not any(h == "a_globals" for h, _ in followers), served


def test_huge_array_from_is_one_problem_not_a_dead_process(tmp_path):
    # In a child process: unguarded, V8 aborts whatever process runs this script.
    root = tmp_path / "p"
    files = {
        "zako.toml": MANIFEST,
        "bomb/BUILD.ts": "export const a = Array.from({ length: 2 ** 28 });\n",
        "ok/BUILD.ts": 'import { target } from "zako:build";\ntarget({ name: "ok", kind: "filegroup", srcs: [] });\n',
    }
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    proc = subprocess.run(
        [sys.executable, "-m", "zako", "load", str(root), "--keep-going", "--json", "--no-cache", "--timeout", TIMEOUT_S,
         "--jobs", "1", "--cache-dir", str(tmp_path / "cache")],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 1, (proc.returncode, proc.stderr[-400:])
    doc = json.loads(proc.stdout)
    assert [(p["file"], p["kind"]) for p in doc["errors"]] == [("bomb/BUILD.ts", "engine")]
    assert [p["path"] for p in doc["packages"]] == ["ok"]
