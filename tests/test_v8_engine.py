"""Engine behaviour on well-behaved scripts: values, throws, timers, console,
inputs, top-level await, cancellation, heap figures and the module hook."""

from __future__ import annotations

import logging
import math
import threading
import time

import pytest

from zako.v8 import (
    ConversionError,
    DeadlockError,
    Engine,
    ExecutionResult,
    JSException,
    ScriptCancelledError,
    ScriptTimeoutError,
    V8Error,
)

MIB = 1 << 20


@pytest.fixture(scope="module", params=["realm", "isolate"])
def engine(request) -> Engine:
    # Every engine test runs in both isolation modes: they promise the same results.
    return Engine(heap_limit_bytes=64 * MIB, timeout_s=5.0, isolation=request.param)


def value(engine: Engine, source: str, **kw):
    result = engine.evaluate(source, **kw)
    assert result.exception is None, result.exception
    return result.value


# --- values ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "source, expected",
    [
        ("return 1 + 1", 2),
        ("return 2.5", 2.5),
        ("return 'héllo ☃ 𝄞'", "héllo ☃ 𝄞"),
        ("return true", True),
        ("return null", None),
        ("return undefined", None),
        ("", None),
        ("return [1, [2, [3]], {}]", [1, [2, [3]], {}]),
        ("return {a: 1, b: {c: [null, undefined]}}", {"a": 1, "b": {"c": [None, None]}}),
        ("return [,1]", [None, 1]),
        ("return 2 ** 53", 2**53),
        ("return -0", 0),
        ("return {'key with space': 1, 2: 'two'}", {"2": "two", "key with space": 1}),
        ("return {toJSON() { return 'custom' }}", "custom"),
        ("return {toJSON() { return 'custom' }}", "custom"),
        ("class P { constructor() { this.x = 1 } }; return new P()", {"x": 1}),
        ("const shared = {v: 1}; return [shared, shared]", [{"v": 1}, {"v": 1}]),
    ],
)
def test_plain_values_round_trip(engine, source, expected):
    assert value(engine, source) == expected


def test_non_finite_numbers(engine):
    got = value(engine, "return [NaN, Infinity, -Infinity]")
    assert math.isnan(got[0]) and got[1] == math.inf and got[2] == -math.inf


def test_result_type_and_fields(engine):
    result = engine.evaluate("return 7", specifier="zako-memory:answer")
    assert isinstance(result, ExecutionResult)
    assert result.ok and result.value == 7 and result.exception is None
    assert result.specifier == "zako-memory:answer"
    assert result.declarations == {}
    assert result.unwrap() == 7


@pytest.mark.parametrize(
    "source, fragment",
    [
        ("return 10n", "BigInt (10n) at the result"),
        ("return {a: [1, () => 1]}", "function (anonymous) at result.a[1]"),
        ("return {s: Symbol('tag')}", "Symbol (Symbol(tag)) at result.s"),
        ("const a = {}; a.self = a; return a", "cyclic reference at result.self"),
        ("const a = [1]; a.push({back: a}); return a", "cyclic reference at result[1].back"),
        ("return {m: new Map([[1, 2]])}", "a Map at result.m"),
        ("return new Set([1])", "a Set at the result"),
        ("return {p: Promise.resolve(1)}", "a Promise at result.p"),
        ("return {'odd key': new Uint8Array(2)}", 'Uint8Array at result["odd key"]'),
    ],
)
def test_unconvertible_results_raise_conversion_error(engine, source, fragment):
    with pytest.raises(ConversionError) as info:
        engine.evaluate(source)
    assert fragment in str(info.value)
    assert info.value.module_specifier == "zako-memory:main"
    assert value(engine, "return 'still serving'") == "still serving"


# --- exceptions ----------------------------------------------------------------------------


def test_thrown_error_has_message_stack_and_location(engine):
    src = "const x = 1;\nfunction boom() {\n  throw new TypeError('bad ' + x);\n}\nboom();"
    exc = engine.evaluate(src, specifier="zako-memory:thrower").exception
    assert isinstance(exc, JSException)
    assert exc.message == "bad 1"
    assert exc.exception == "TypeError: bad 1"
    assert exc.name == "TypeError"
    assert exc.specifier == "zako-memory:thrower"
    assert "at boom (zako-memory:thrower:3:9)" in exc.stack
    assert "zako-memory:thrower:5:1" in exc.stack
    assert "zako:prelude" not in exc.stack


def test_columns_on_the_first_line_are_the_users(engine):
    exc = engine.evaluate("let a = 1; throw new Error('first line')").exception
    assert exc.stack.splitlines()[1].strip() == "at zako-memory:main:1:18"


@pytest.mark.parametrize(
    "source, text, where",
    [
        ("\n\nthrow 'plain string'", "plain string", "zako-memory:main:3:7"),
        ("const v = {code: 7};\nif (v) {\n    throw v;\n}", "{code: 7}", "zako-memory:main:3:11"),
        ("function f() { throw 42 }\nawait null;\nf();", "42", "zako-memory:main:1:22"),
        ("try { throw 'inner' } catch (e) {}\nthrow 'outer'", "outer", "zako-memory:main:2:7"),
    ],
)
def test_thrown_non_error_values_report_the_throw_site(engine, source, text, where):
    exc = engine.evaluate(source).exception
    assert exc.message == text and exc.exception == text
    assert exc.name is None
    assert where in exc.stack


def test_rejection_after_await_is_an_exception(engine):
    exc = engine.evaluate("await null;\nawait Promise.reject(new RangeError('late'))").exception
    assert exc.exception == "RangeError: late"


def test_syntax_error_reports_line_and_column(engine):
    exc = engine.evaluate("const ok = 1;\nconst broken = ;\n", specifier="zako-memory:syntax").exception
    assert exc.name == "SyntaxError"
    assert (exc.line, exc.column) == (2, 16)
    assert "Unexpected token" in exc.message
    assert "zako-memory:syntax:2:16" in exc.stack


def test_syntax_error_on_first_line_counts_the_users_columns(engine):
    exc = engine.evaluate("var a = ;").exception
    assert (exc.line, exc.column) == (1, 9)


def test_deep_recursion_is_a_js_exception(engine):
    exc = engine.evaluate("function f(n) { return f(n + 1) + 1 }\nreturn f(0)").exception
    assert exc.name == "RangeError" and "call stack" in exc.message
    assert "zako-memory:main:1:" in exc.stack


def test_unwrap_raises_the_js_exception(engine):
    with pytest.raises(JSException, match="nope"):
        engine.evaluate("throw new Error('nope')").unwrap()


# --- async, timers -----------------------------------------------------------------------------


def test_top_level_await(engine):
    assert value(engine, "const v = await Promise.resolve(20);\nreturn v + await 22") == 42


def test_set_timeout_fires_in_delay_order_after_microtasks(engine):
    src = """
    const log = [];
    setTimeout(() => log.push('t20'), 20);
    setTimeout(() => log.push('t0'), 0);
    setTimeout(() => log.push('t0b'));
    Promise.resolve().then(() => log.push('micro'));
    const cancelled = setTimeout(() => log.push('never'), 5);
    clearTimeout(cancelled);
    await new Promise(r => setTimeout(r, 40));
    return log;
    """
    assert value(engine, src) == ["micro", "t0", "t0b", "t20"]


def test_set_timeout_passes_arguments_and_interval_repeats(engine):
    src = """
    let n = 0;
    const got = await new Promise(r => setTimeout((a, b) => r(a + b), 1, 'x', 'y'));
    await new Promise(r => { const id = setInterval(() => { if (++n === 3) { clearInterval(id); r(); } }, 1); });
    return [got, n];
    """
    assert value(engine, src) == ["xy", 3]


def test_timers_actually_wait(engine):
    started = time.monotonic()
    assert value(engine, "await new Promise(r => setTimeout(r, 50)); return true")
    assert time.monotonic() - started >= 0.05


def test_exception_in_timer_callback_ends_the_evaluation(engine):
    src = "setTimeout(() => { throw new Error('in timer') }, 0);\nawait new Promise(r => setTimeout(r, 1000));"
    exc = engine.evaluate(src).exception
    assert exc.exception == "Error: in timer"
    assert "zako-memory:main:1:26" in exc.stack


def test_set_timeout_refuses_strings(engine):
    exc = engine.evaluate("setTimeout('1 + 1', 0)").exception
    assert exc.name == "TypeError"


def test_timer_beyond_the_deadline_times_out_at_once():
    eng = Engine(heap_limit_bytes=32 * MIB, timeout_s=2.0)
    started = time.monotonic()
    with pytest.raises(ScriptTimeoutError):
        eng.evaluate("await new Promise(r => setTimeout(r, 60000))")
    assert time.monotonic() - started < 1.0  # known unreachable: no need to sleep it out


def test_pending_promise_without_timers_is_a_deadlock(engine):
    with pytest.raises(DeadlockError) as info:
        engine.evaluate("await new Promise(() => {})", specifier="zako-memory:stuck")
    assert info.value.module_specifier == "zako-memory:stuck"
    assert "still pending" in info.value.message


# --- console and inputs --------------------------------------------------------------------------


def test_console_goes_to_the_zako_js_logger(engine, caplog):
    caplog.set_level(logging.DEBUG, logger="zako.js")
    engine.evaluate(
        "console.log('hello', 1, {a: [1]}); console.warn('careful'); console.error(new Error('e'));"
        "console.debug('dbg'); await null; console.info('after await')",
        specifier="zako-memory:chatty",
    )
    records = [r for r in caplog.records if r.name == "zako.js"]
    assert [(r.levelno, r.getMessage()) for r in records][:2] == [
        (logging.INFO, "zako-memory:chatty: hello 1 {a: [1]}"),
        (logging.WARNING, "zako-memory:chatty: careful"),
    ]
    assert records[2].levelno == logging.ERROR and "Error: e" in records[2].getMessage()
    assert records[3].levelno == logging.DEBUG
    assert records[4].getMessage() == "zako-memory:chatty: after await"
    assert all(r.specifier == "zako-memory:chatty" for r in records)


def test_console_output_before_a_throw_is_kept(engine, caplog):
    caplog.set_level(logging.INFO, logger="zako.js")
    engine.evaluate("console.log('about to fail'); throw new Error('x')")
    assert any("about to fail" in r.getMessage() for r in caplog.records)


def test_inputs_are_execution_context(engine):
    inputs = {"name": "lib", "deps": ["a", "b"], "n": 3, "nested": {"ok": True, "none": None}}
    assert value(engine, "return globalThis.executionContext", inputs=inputs) == inputs
    assert value(engine, "return executionContext") == {}


def test_non_json_inputs_are_refused_before_running(engine):
    with pytest.raises(TypeError, match="not JSON-able"):
        engine.evaluate("return 1", inputs={"x": object()})
    with pytest.raises(TypeError, match="mapping"):
        engine.evaluate("return 1", inputs=[1, 2])


def test_scripts_do_not_leak_into_each_other(engine):
    engine.evaluate("globalThis.leaked = 1; var local = 2")
    assert value(engine, "return [typeof leaked, typeof local]") == ["undefined", "undefined"]


def test_bad_arguments(engine):
    with pytest.raises(TypeError):
        engine.evaluate(b"return 1")
    with pytest.raises(ValueError):
        Engine(heap_limit_bytes=0)
    with pytest.raises(ValueError):
        Engine(timeout_s=-1)


# --- cancellation ------------------------------------------------------------------------------


class SimpleToken:
    """The minimal cancel-token protocol: ``cancelled`` and add/remove_callback."""

    def __init__(self) -> None:
        self.cancelled = False
        self.callbacks = []

    def add_callback(self, fn):
        self.callbacks.append(fn)

    def remove_callback(self, fn):
        self.callbacks.remove(fn)

    def cancel(self):
        self.cancelled = True
        for fn in list(self.callbacks):
            fn()


def _cancel_later(token, delay):
    timer = threading.Timer(delay, token.cancel)
    timer.start()
    return timer


@pytest.mark.parametrize("script", ["for (;;) {}", "await new Promise(r => setTimeout(r, 20000))"])
def test_cancel_token_terminates_a_running_script(script):
    eng = Engine(heap_limit_bytes=32 * MIB, timeout_s=30.0)
    token = SimpleToken()
    timer = _cancel_later(token, 0.2)
    started = time.monotonic()
    with pytest.raises(ScriptCancelledError):
        eng.evaluate(script, cancel_token=token)
    timer.join()
    assert time.monotonic() - started < 10  # far below the 30 s timeout
    assert token.callbacks == []  # unregistered afterwards
    assert value(eng, "return 'next'") == "next"


def test_worker_cancel_token_is_accepted(engine):
    cancel = pytest.importorskip("zako.worker.cancel")
    token = cancel.CancelToken()
    timer = _cancel_later(token, 0.1)
    with pytest.raises(ScriptCancelledError):
        engine.evaluate("for (;;) {}", cancel_token=token)
    timer.join()
    done = cancel.CancelToken()
    assert value(engine, "return 1", cancel_token=done) == 1
    done.cancel()
    with pytest.raises(ScriptCancelledError):
        engine.evaluate("return 1", cancel_token=done)


# --- heap figures, gc, threads ------------------------------------------------------------------------


def test_heap_stats_are_reported(engine):
    # A realm's statistics are read on its first evaluation, every 16th and
    # after slow ones; a new engine makes this evaluation a first one.
    engine = Engine(heap_limit_bytes=64 * MIB, timeout_s=5.0, isolation=engine.isolation)
    result = engine.evaluate("const big = new Array(200000).fill(1).map((x, i) => ({i})); return big.length")
    assert result.value == 200000
    stats = engine.heap_stats()
    assert stats["used_heap_size"] > 0 and stats == result.heap_stats
    assert result.peak_heap_bytes >= 200000 * 8
    assert result.peak_heap_bytes <= 64 * MIB * 2
    engine.close()


def test_array_buffer_peak_is_reported(engine):
    result = engine.evaluate("const b = new Uint8Array(3 << 20); b[0] = 1; return b.length")
    assert result.value == 3 << 20
    assert result.array_buffer_peak_bytes == 3 << 20


def test_gc_reaches_a_live_context():
    engine = Engine(heap_limit_bytes=64 * MIB, timeout_s=5.0)
    assert engine.gc() == 0  # nothing running, no realm yet
    asked = []
    timer = threading.Timer(0.1, lambda: asked.append(engine.gc()))
    timer.start()
    assert value(engine, "await new Promise(r => setTimeout(r, 400)); return 'done'") == "done"
    timer.join()
    assert asked == [1]


def test_parallel_evaluations_on_one_engine(engine):
    results = {}

    def work(i):
        results[i] = engine.evaluate(f"await new Promise(r => setTimeout(r, 20)); return {i} * 2").value

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == {i: i * 2 for i in range(4)}
    assert engine.live_contexts == 0


def test_closed_engine_refuses():
    eng = Engine()
    eng.close()
    with pytest.raises(V8Error, match="closed"):
        eng.evaluate("return 1")


# --- the module runner's hook ----------------------------------------------------------------------


def test_run_hook_with_extra_prelude_transform_and_split(engine):
    extra = "globalThis.registry = {answer: 41};\n//# sourceURL=zako:test-extra"
    script = "__zako_start(async () => ({ns: {value: registry.answer + 1, fn() {}}, decl: ['t']}));"
    result = engine._run(
        script,
        specifier="zako-memory:hooked",
        extra_prelude=[extra],
        result_transform="(v) => ({value: {value: v.ns.value}, declarations: {targets: v.decl}})",
        split_result=lambda p: (p["value"], p["declarations"]),
    )
    assert result.value == {"value": 42}
    assert result.declarations == {"targets": ["t"]}


def test_run_hook_failures(engine):
    with pytest.raises(V8Error, match="never called __zako_start"):
        engine._run("1 + 1", specifier="zako-memory:nostart")
    with pytest.raises(V8Error, match="extra prelude #0 failed"):
        engine._run("__zako_start(() => 1)", specifier="zako-memory:x", extra_prelude="throw new Error('p')")
    exc = engine._run("__zako_start(() => { throw new Error('sync') })", specifier="zako-memory:s").exception
    assert exc.exception == "Error: sync"


def test_specifier_with_spaces_names_frames_and_logs(engine, caplog):
    caplog.set_level(logging.INFO, logger="zako.js")
    spec = "zako-memory:my build file"
    exc = engine.evaluate("console.log('x');\nthrow new Error('spaced')", specifier=spec).exception
    assert exc.specifier == spec
    assert f"at {spec}:2:7" in exc.stack
    assert [r.specifier for r in caplog.records if r.name == "zako.js"] == [spec]


# --- throw-site instrumentation ---------------------------------------------------------------------


def test_instrument_throws_leaves_other_text_alone():
    from zako.v8.throw_sites import THROW_SITE_FUNCTION, instrument_throws

    src = 'const s = "do not throw me"; // throw in a comment\nthrow new Error(s)'
    out, cmap = instrument_throws(src)
    assert out == src and not cmap
    out, cmap = instrument_throws("if (x) throw 'a'\nthrow b, c;")
    assert out == f"if (x) throw {THROW_SITE_FUNCTION}(('a'))\nthrow {THROW_SITE_FUNCTION}((b, c));"
    assert out.count("\n") == 1
    broken = "throw 'x' +"
    out, cmap = instrument_throws(broken)
    assert out == broken and not cmap  # V8 reports the syntax error on the user's text


def test_column_map_restores_original_columns():
    from zako.v8.throw_sites import instrument_throws

    src = "let é = 1; throw 'x' + é; f()"
    out, cmap = instrument_throws(src)
    # a column after both insertions on line 1 maps back to the same text
    call = out.index("f()") + 1
    assert cmap.original_column(1, call) == src.index("f()") + 1
    # inside the inserted head: the insertion point (the thrown expression)
    head = out.index("__zako_throw_site") + 1
    assert cmap.original_column(1, head) == src.index("'x'") + 1
    assert cmap.fix_stack(f"at s:1:{call}", "s") == f"at s:1:{src.index('f()') + 1}"
    assert cmap.original_column(2, 5) == 5


def test_cancel_racing_the_start_neither_hangs_nor_leaks(engine):
    class FiresOnRegistration(SimpleToken):
        def add_callback(self, fn):
            super().add_callback(fn)
            self.cancel()

    started = time.monotonic()
    for _ in range(20):
        with pytest.raises(ScriptCancelledError):
            engine.evaluate("for (;;) {}", cancel_token=FiresOnRegistration())
    assert time.monotonic() - started < 5.0  # no evaluation waited out a grace period
    assert engine.live_contexts == 0
    assert value(engine, "return 3") == 3


# --- host functions ----------------------------------------------------------------------------------


def test_host_functions_are_async_globals(engine):
    calls = []

    def add(a, b):
        calls.append((a, b))
        time.sleep(0.02)
        return a + b

    src = "const x = await add(1, 2);\nconst [y, z] = await Promise.all([add(x, 1), add(x, 2)]);\nreturn [x, y, z]"
    assert value(engine, src, host_functions={"add": add}) == [3, 4, 5]
    assert sorted(calls) == [(1, 2), (3, 1), (3, 2)]


def test_host_function_errors_reject_the_promise(engine):
    def lookup(key):
        raise KeyError(key)

    src = "try { await lookup('k') } catch (e) { return [e instanceof Error, e.name, e.message] }"
    assert value(engine, src, host_functions={"lookup": lookup}) == [True, "KeyError", "'k'"]
    exc = engine.evaluate("await __zako_host('nothing')").exception
    assert "no host function 'nothing'" in exc.message


def test_outstanding_host_call_is_not_a_deadlock_but_a_lost_promise_is(engine):
    assert value(engine, "return await later()", host_functions={"later": lambda: time.sleep(0.1) or "done"}) == "done"
    with pytest.raises(DeadlockError):
        engine.evaluate("await later(); await new Promise(() => {})", host_functions={"later": lambda: 1})


def test_bad_host_functions_are_refused(engine):
    with pytest.raises(ValueError):
        engine.evaluate("return 1", host_functions={"not an identifier": len})
    with pytest.raises(TypeError):
        engine.evaluate("return 1", host_functions={"f": 42})


def test_evaluate_from_inside_a_running_asyncio_loop():
    # A caller already inside asyncio cannot have its loop driven for it: the
    # engine then drives on its shared loop, with the same limits.
    import asyncio

    eng = Engine(heap_limit_bytes=64 * MIB, timeout_s=1.0)

    async def main():
        assert eng.evaluate("await new Promise(r => setTimeout(r, 10)); return 5").value == 5
        with pytest.raises(ScriptTimeoutError):
            eng.evaluate("for (;;) {}")
        return eng.evaluate("return 6").value

    try:
        assert asyncio.run(main()) == 6
        assert eng.evaluate("return 7").value == 7  # and on this thread's own loop after
    finally:
        eng.close()
