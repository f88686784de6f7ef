"""Hostile scripts: each must end in the documented error, and the same
engine must serve a normal evaluation right after it."""

from __future__ import annotations

import time

import psutil
import pytest

from zako.v8 import (
    ConversionError,
    DeadlockError,
    Engine,
    HeapLimitError,
    ScriptTimeoutError,
)

MIB = 1 << 20
TIMEOUT_S = 1.0
HEAP = 32 * MIB


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(heap_limit_bytes=HEAP, timeout_s=TIMEOUT_S)


def assert_serves(engine: Engine) -> None:
    result = engine.evaluate("await null; return [40 + 2, typeof setTimeout]")
    assert result.value == [42, "function"]


def rss() -> int:
    return psutil.Process().memory_info().rss


@pytest.mark.parametrize(
    "script",
    [
        "for (;;) {}",
        "while (true) { Math.max(1, 2) }",
        "await null; for (;;) {}",
        "setTimeout(() => { for (;;) {} }, 0); await new Promise(() => {})",
        "let i = 0; setInterval(() => { i++ }, 0); await new Promise(() => {})",
    ],
    ids=["busy-loop", "busy-loop-calls", "after-await", "in-timer", "endless-interval"],
)
def test_infinite_loops_time_out_within_1_5x_the_limit(engine, script):
    started = time.monotonic()
    with pytest.raises(ScriptTimeoutError) as info:
        engine.evaluate(script, specifier="zako-memory:spin")
    assert time.monotonic() - started < 1.5 * TIMEOUT_S
    assert info.value.module_specifier == "zako-memory:spin"
    assert_serves(engine)


def test_runaway_microtask_loop_times_out_and_the_engine_recovers(engine):
    started = time.monotonic()
    with pytest.raises(ScriptTimeoutError):
        engine.evaluate("Promise.resolve().then(() => { for (;;) {} }); return 1")
    assert time.monotonic() - started < 1.5 * TIMEOUT_S
    assert_serves(engine)
    assert_serves(engine)


def test_microtask_flood_ends_in_timeout_or_heap_limit(engine):
    # each turn chains a new promise onto the last, so memory grows too
    with pytest.raises((ScriptTimeoutError, HeapLimitError)):
        engine.evaluate("const spin = () => Promise.resolve().then(spin); spin(); await new Promise(() => {})")
    assert_serves(engine)


@pytest.mark.parametrize(
    "script",
    [
        "const keep = []; for (;;) keep.push({a: new Array(64).fill(1)});",
        "let s = 'x'; const parts = []; for (;;) { parts.push(s + parts.length); s += s.length }",
        "const m = new Map(); for (let i = 0; ; i++) m.set(i, [i, i, i]);",
    ],
    ids=["objects", "strings", "map"],
)
def test_heap_bomb_raises_heap_limit_error(script):
    eng = Engine(heap_limit_bytes=HEAP, timeout_s=20.0)
    with pytest.raises(HeapLimitError) as info:
        eng.evaluate(script)
    assert "heap" in str(info.value).lower()
    assert_serves(eng)


@pytest.mark.parametrize(
    "script",
    [
        "const keep = []; for (;;) { const b = new Uint8Array(16 << 20); b.fill(7); keep.push(b); }",
        "const keep = []; for (;;) keep.push(new ArrayBuffer(16 << 20));",
        "new ArrayBuffer(2 ** 32)",
        "new Float64Array(2 ** 28).fill(1)",
        "const keep = []; for (;;) keep.push(new DataView(new ArrayBuffer(16 << 20)));",
        "const b = new ArrayBuffer(1, {maxByteLength: 2 ** 32}); b.resize(2 ** 32 - 1);",
        "const b = new Uint8Array(8 << 20); const keep = []; for (;;) keep.push(b.slice());",
        "const b = new Float64Array(1 << 20); const keep = []; for (;;) keep.push(b.map(x => x + 1));",
        "const src = new Float64Array(1 << 20); const keep = []; for (;;) keep.push(Float64Array.from(src));",
        "class Big extends Uint8Array {}; const keep = []; for (;;) keep.push(new Big(8 << 20));",
        "const keep = []; for (let i = 0; i < 20; i++) { try { keep.push(new Uint8Array(8 << 20)) } catch (e) {} }"
        " return keep.length",
        "const hex = 'ab'.repeat(4 << 20); const keep = []; for (;;) keep.push(Uint8Array.fromHex(hex));",
    ],
    ids=["typed-fill", "arraybuffer", "huge-buffer", "huge-typed", "dataview", "resize", "slice", "map", "from",
         "subclass", "caught", "from-hex"],
)
def test_array_buffer_bomb_is_stopped(engine, script):
    with pytest.raises(HeapLimitError) as info:
        engine.evaluate(script)
    assert "ArrayBuffer" in info.value.exception
    assert rss() < 1 << 30
    assert_serves(engine)


def test_array_buffers_under_the_cap_work_normally(engine):
    src = """
    const a = new Uint8Array([1, 2, 3]);
    const b = a.map(x => x * 2);
    const view = new DataView(a.buffer);
    const sub = a.subarray(1);
    class Bytes extends Uint8Array { sum() { return this.reduce((s, x) => s + x, 0) } }
    const c = Bytes.from([4, 5]);
    return [Array.from(b), view.getUint8(2), Array.from(sub), a instanceof Uint8Array,
            a.buffer instanceof ArrayBuffer, c.sum(), c instanceof Bytes, Uint8Array.name,
            Float16Array.BYTES_PER_ELEMENT, typeof WebAssembly];
    """
    assert engine.evaluate(src).value == [[2, 4, 6], 3, [2, 3], True, True, 9, True, "Uint8Array", 2, "undefined"]


def test_never_settling_promise_is_a_deadlock_well_before_the_timeout():
    eng = Engine(heap_limit_bytes=HEAP, timeout_s=10.0)
    for script in ["await new Promise(() => {})", "return new Promise(() => {})",
                   "const t = setTimeout(() => {}, 5000); clearTimeout(t); await new Promise(() => {})"]:
        started = time.monotonic()
        with pytest.raises(DeadlockError):
            eng.evaluate(script)
        assert time.monotonic() - started < 2.0
        assert_serves(eng)


@pytest.mark.parametrize(
    "script, fragment",
    [
        ("return 2n ** 64n", "BigInt"),
        ("return function named() {}", "function (named)"),
        ("return Symbol.iterator", "Symbol"),
        ("const o = {}; o.me = {up: o}; return o", "cyclic reference at result.me.up"),
        ("return {get bad() { return 1n }}", "BigInt (1n) at result.bad"),
        ("return new Proxy({}, {ownKeys() { return ['x'] }, getOwnPropertyDescriptor() {"
         " return {enumerable: true, configurable: true, value: 1n} }, get() { return 1n }})", "BigInt"),
    ],
)
def test_unconvertible_values_never_hang(engine, script, fragment):
    with pytest.raises(ConversionError) as info:
        engine.evaluate(script)
    assert fragment in str(info.value)
    assert_serves(engine)


def test_throws_of_any_value_keep_their_location(engine):
    cases = {
        "\nthrow 'a string';": ("a string", "zako-memory:main:2:7"),
        "\n\nthrow {reason: 'object'};": ("{reason: \"object\"}", "zako-memory:main:3:7"),
        "\n\n\nthrow new SyntaxError('an error');": ("SyntaxError: an error", "zako-memory:main:4:7"),
        "throw null": ("null", "zako-memory:main:1:7"),
    }
    for script, (text, where) in cases.items():
        exc = engine.evaluate(script).exception
        assert exc.exception == text, script
        assert where in exc.stack, (script, exc.stack)
        assert_serves(engine)


def test_throwing_error_subclass_with_hostile_getters(engine):
    src = "const e = new Error('x'); Object.defineProperty(e, 'message', {get() { throw 1 }}); throw e"
    exc = engine.evaluate(src).exception
    assert exc is not None and exc.name == "Error"
    assert_serves(engine)


def test_sabotaged_builtins_do_not_break_the_host(engine):
    src = """
    JSON.stringify = () => { throw new Error('sabotage') };
    Object.keys = () => [];
    Array.prototype.push = () => 0;
    Set.prototype.has = () => true;
    return {still: ['fine']};
    """
    assert engine.evaluate(src).value == {"still": ["fine"]}
    assert_serves(engine)


def test_syntax_error_has_line_and_column(engine):
    exc = engine.evaluate("let a = 1;\nlet b = 2;\nlet c = a +* b;").exception
    assert exc.name == "SyntaxError" and (exc.line, exc.column) == (3, 12)
    assert_serves(engine)


def test_deep_recursion_is_a_js_exception(engine):
    exc = engine.evaluate("const f = n => f(n + 1) + 1;\nreturn f(0);").exception
    assert exc.name == "RangeError"
    assert "zako-memory:main:1:" in exc.stack
    assert_serves(engine)


def test_escaping_the_wrapper_is_contained(engine):
    result = engine.evaluate("}); globalThis.evil = 1; (async function () {")
    assert result.exception is None or result.exception.name == "SyntaxError"
    assert engine.evaluate("return typeof evil").value == "undefined"


def test_thousand_sequential_evaluations_keep_rss_flat():
    eng = Engine(heap_limit_bytes=HEAP, timeout_s=5.0)
    src = "const a = []; for (let i = 0; i < 500; i++) a.push({i, s: 'x' + i}); await null; return a.length"
    for _ in range(100):  # warm up allocators and caches
        eng.evaluate(src)
    before = rss()
    for _ in range(1000):
        assert eng.evaluate(src).value == 500
    assert rss() - before < 20 * MIB
    assert eng.live_contexts == 0


_CRASH_PROBE = """
import sys
from zako.v8 import Engine, HeapLimitError
engine = Engine(heap_limit_bytes=32 << 20, timeout_s=20.0)
try:
    engine.evaluate(sys.argv[1])
except HeapLimitError as exc:
    print("HeapLimitError:", exc.exception)
print("served:", engine.evaluate("return 6 * 7").value)
"""


@pytest.mark.parametrize(
    "script",
    ["new Array(2 ** 27).fill(0.5)", "'x'.repeat(2 ** 28).split('')", "Array.from({length: 2 ** 28})",
     "new Array(2 ** 27).toSorted()", "new Array(2 ** 27).with(0, 1)"],
    ids=["array-fill", "string-split", "array-from", "to-sorted", "with"],
)
def test_single_huge_allocations_do_not_abort_the_process(script):
    # Unguarded, V8 aborts the whole process on these ("invalid size" /
    # "ineffective mark-compacts"), so they run in a child process.
    import os
    import subprocess
    import sys

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, "-c", _CRASH_PROBE, script], capture_output=True, text=True,
                          timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "HeapLimitError: " in proc.stdout and "over the heap limit" in proc.stdout
    assert "served: 42" in proc.stdout


def test_host_protocol_cannot_be_replaced(engine):
    src = "globalThis.__zako_step = () => '{\"s\":\"ok\",\"value\":1}'; return __zako_step === undefined"
    assert engine.evaluate(src).value is False  # sloppy mode: the assignment is ignored
    result = engine.evaluate("try { __zako_step = null } catch (e) {} return typeof __zako_step")
    assert result.value == "function"
    assert_serves(engine)
