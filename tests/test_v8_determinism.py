"""Build files are deterministic: their results are cached by content, so
every API whose answer depends on the clock, chance, the garbage collector,
other threads or the host's locale is absent or throws a TypeError that
names it and says why. Both isolation modes, every context type."""

from __future__ import annotations

import pytest

from zako.v8 import ContextType, Engine, ModuleLoader

ABSENT = ["Intl", "Temporal", "Atomics", "SharedArrayBuffer", "WeakRef", "FinalizationRegistry",
          "performance", "WebAssembly"]

THROWING = {
    "Date": "Date()",
    "new Date": "new Date()",
    "new Date(0)": "new Date(0)",
    "Date.now": "Date.now()",
    "Date.parse": "Date.parse('2020-01-01')",
    "Date.UTC": "Date.UTC(2020, 0)",
    "Math.random": "Math.random()",
    "String.prototype.localeCompare": "'a'.localeCompare('b')",
    "String.prototype.toLocaleUpperCase": "'a'.toLocaleUpperCase()",
    "String.prototype.toLocaleLowerCase": "'A'.toLocaleLowerCase()",
    "Number.prototype.toLocaleString": "(1234.5).toLocaleString()",
    "BigInt.prototype.toLocaleString": "(12n).toLocaleString()",
    "Array.prototype.toLocaleString": "[1, 2].toLocaleString()",
    "TypedArray.prototype.toLocaleString": "new Uint8Array(2).toLocaleString()",
}


@pytest.fixture(scope="module", params=["realm", "isolate"])
def engine(request):
    eng = Engine(heap_limit_bytes=64 << 20, timeout_s=10.0, isolation=request.param)
    yield eng
    eng.close()


@pytest.mark.parametrize("name", ABSENT)
def test_absent(engine, name):
    assert engine.evaluate(f"return [typeof {name}, '{name}' in globalThis]").value == ["undefined", False]


@pytest.mark.parametrize("api", list(THROWING), ids=list(THROWING))
def test_throws_naming_the_api(engine, api):
    exc = engine.evaluate(f"return {THROWING[api]}").exception
    assert exc is not None and exc.name == "TypeError"
    named = api.removeprefix("new ").split("(")[0]
    assert named in exc.message
    assert "build files must be deterministic: their results are cached" in exc.message


def test_deterministic_code_still_works(engine):
    src = """
    const xs = [3, 1, 2].sort((a, b) => a - b);
    const s = 'Straße'.toUpperCase() + 'ÅB'.toLowerCase() + 'e\\u0301'.normalize('NFC');
    const m = new Map([[1, 'a']]); const set = new Set([1, 1, 2]);
    const re = /(\\d+)-(\\d+)/.exec('10-20');
    return [xs, s, m.get(1), set.size, re[2], JSON.stringify({b: 1, a: [1.5]}), (1234.5).toFixed(1), typeof Symbol()];
    """
    assert engine.evaluate(src).value == [[1, 2, 3], "STRASSEåbé", "a", 2, "20", '{"b":1,"a":[1.5]}', "1234.5",
                                          "symbol"]


@pytest.mark.parametrize("context_type", [ContextType.LIBRARY, ContextType.BUILD, ContextType.PACKAGE])
def test_every_context_type_is_deterministic(engine, tmp_path, context_type):
    (tmp_path / "m.ts").write_text(
        "let r: string;\ntry { Math.random(); r = 'ran'; } catch (e) { r = (e as Error).name; }\n"
        "export const random = r;\nexport const date = typeof Date.now;\nexport const weak = typeof WeakRef;\n"
    )
    result = engine.execute_module("m.ts", context_type=context_type, loader=ModuleLoader(tmp_path))
    assert result.exception is None, result.exception
    assert result.value == {"random": "TypeError", "date": "function", "weak": "undefined"}
