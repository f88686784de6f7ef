"""V8 engine benchmarks.

- ``FreshEvaluation``: a 50-line script. ``engine-realm`` is
  ``Engine.evaluate`` in a live locked-down realm (begin, script, host loop,
  result conversion), against ``baseline-live``: a bare ``MiniRacer.eval``
  of the same code in a live context (wrapped in a function so its
  ``return`` is legal). ``engine-isolate`` (a new locked-down isolate per
  evaluation) is against ``baseline-fresh``: ``MiniRacer()`` + eval +
  ``close()``. Goal (issue 12): realm overhead over the live baseline
  ≤ 0.5 ms.
- ``PromiseEvaluation``: a script that awaits two zero-delay timers and a promise
  chain; baseline: bare mini-racer evaluating the same async function and
  waiting on the returned promise with ``JSPromise.get``.
- ``SequentialMemory``: peak RSS of 100 sequential evaluations of the
  50-line script, engine vs bare mini-racer.
"""

from __future__ import annotations

from py_mini_racer import MiniRacer

from zako.v8 import Engine

_LINES = [f"const v{i} = {{ id: {i}, name: 'target_{i}', deps: [{i} - 1, {i} - 2].filter(x => x >= 0) }};" for i in range(46)]
SCRIPT_50 = "\n".join(
    [
        "const targets = [];",
        *_LINES,
        "for (let i = 0; i < 45; i++) targets.push({ name: 'target_' + i, deps: i ? ['target_' + (i - 1)] : [] });",
        "const total = targets.reduce((n, t) => n + t.deps.length, 0);",
        "return { count: targets.length, total, first: targets[0] };",
    ]
)
assert SCRIPT_50.count("\n") == 49

PROMISE_SCRIPT = """
const sleep = (ms, v) => new Promise(r => setTimeout(() => r(v), ms));
const a = await sleep(0, 1);
const b = await sleep(0, 2);
let c = 0;
for (let i = 0; i < 20; i++) c = await Promise.resolve(c + i);
return { a, b, c };
"""

# The built-in mini-racer setTimeout never fires, so the bare version of the
# promise script gets a minimal timer that resolves on the microtask queue.
_BARE_SLEEP = "const setTimeout = (fn) => Promise.resolve().then(fn);\n"


def _bare(source: str) -> str:
    return f"(function () {{\n{source}\n}})()"


def _bare_async(source: str) -> str:
    return f"(async function () {{\n{_BARE_SLEEP}{source}\n}})()"


class FreshEvaluation:
    params = ["engine-realm", "baseline-live", "engine-isolate", "baseline-fresh"]
    param_names = ["impl"]

    def setup(self, impl):
        self.engine = Engine(isolation="isolate" if impl == "engine-isolate" else "realm")
        self.bare_source = _bare(SCRIPT_50)
        self.live = MiniRacer() if impl == "baseline-live" else None
        # warm both paths (first context pays for V8 and thread start-up)
        self.time_evaluate_50_lines(impl)

    def teardown(self, impl):
        self.engine.close()
        if self.live is not None:
            self.live.close()

    def time_evaluate_50_lines(self, impl):
        if impl.startswith("engine"):
            self.engine.evaluate(SCRIPT_50)
        elif self.live is not None:
            self.live.eval(self.bare_source)
        else:
            mr = MiniRacer()
            mr.eval(self.bare_source)
            mr.close()


class PromiseEvaluation:
    params = ["engine", "baseline"]
    param_names = ["impl"]

    def setup(self, impl):
        self.engine = Engine()
        self.bare_source = _bare_async(PROMISE_SCRIPT)
        self.time_promise_script(impl)

    def time_promise_script(self, impl):
        if impl == "engine":
            self.engine.evaluate(PROMISE_SCRIPT)
        else:
            mr = MiniRacer()
            mr.eval(self.bare_source).get(timeout=10)
            mr.close()


class SequentialMemory:
    params = ["engine", "baseline"]
    param_names = ["impl"]
    number = 1
    repeat = 1

    def setup(self, impl):
        self.engine = Engine()
        self.bare_source = _bare(SCRIPT_50)

    def peakmem_100_evaluations(self, impl):
        for _ in range(100):
            if impl == "engine":
                self.engine.evaluate(SCRIPT_50)
            else:
                mr = MiniRacer()
                mr.eval(self.bare_source)
                mr.close()
