"""test262's module tests run through zako: suite discovery, metadata,
one verdict per test.

Follows the suite's INTERPRETING.md: ``assert.js`` and ``sta.js`` (plus
``doneprintHandle.js`` for ``async`` tests, plus ``includes:``) run as
global scripts in the realm before the module; ``_FIXTURE`` files are not
tests; a negative test passes only with the named error type, and one of
phase ``parse`` or ``resolution`` only when that error comes before any
module code runs (the loader's and linker's refusals, or V8 rejecting a
module's code while the graph is instantiated).
"""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path

from zako.v8 import Engine
from zako.v8.context_type import ContextType
from zako.v8.errors import ModuleLoadError, TranspileError
from zako.v8.loader import ModuleLoader
from zako.v8 import module_runner

HERE = Path(__file__).resolve().parent
DIRS = ("language", "staging")
#: Proposals zako does not claim; their tests are skipped by this tag only.
SKIP_FEATURES = frozenset({"import-defer", "source-phase-imports", "import-text", "import-bytes"})
EXPECTED_FAILURES = HERE / "expected_failures.txt"
NODE_PASSES = HERE / "node20_passes.txt"

_META = re.compile(r"/\*---(.*?)---\*/", re.S)

# Kept between evaluations in a realm, so not frozen by lockdown: what the
# test printed, and a promise an async test's $DONE settles. Cleared before
# each test: a $DONE message left by the previous test in the realm would
# otherwise pass an async test that never calls $DONE.
_PRINT = r"""
(function () {
  let msgs = [], wake = null;
  const print = function print(m) {
    m = String(m);
    msgs.push(m);
    if (wake !== null && m.startsWith("Test262:AsyncTest")) { const w = wake; wake = null; w(m); }
  };
  const reset = function () { msgs = []; wake = null; };
  const wait = function (isAsync) {
    const done = msgs.find((m) => m.startsWith("Test262:AsyncTest"));
    if (!isAsync || done !== undefined) return Promise.resolve(done === undefined ? "sync" : done);
    return new Promise((resolve) => { wake = resolve; });
  };
  Object.defineProperty(globalThis, "print", { value: print, writable: true, configurable: true });
  Object.defineProperty(globalThis, "__t262", { value: { reset, wait } });
})();
//# sourceURL=test262:print
"""


def suite_path() -> Path:
    env = os.environ.get("ZAKO_TEST262")
    if env:
        return Path(env)
    return HERE.parents[2] / "shared" / "test262"


@dataclasses.dataclass(frozen=True)
class Test:
    path: str  # relative to <suite>/test
    flags: tuple[str, ...]
    includes: tuple[str, ...]
    features: tuple[str, ...]
    negative: dict | None

    @property
    def group(self) -> str:
        # one pytest item per directory, two or three levels down (~20 items)
        parts = self.path.split("/")[:-1]
        return "/".join(parts[:3]) if parts[1:2] and parts[1] in ("module-code", "import", "expressions") else "/".join(parts[:2])


def parse_meta(source: str) -> dict:
    """The frontmatter keys the runner reads: ``flags``, ``includes``,
    ``features`` (inline ``[a, b]`` or ``- a`` lists) and ``negative``
    (``phase``, ``type``). A YAML subset, so no YAML dependency."""
    m = _META.search(source)
    if not m:
        return {}
    out: dict = {}
    key = None
    for line in m.group(1).splitlines():
        top = re.match(r"^([A-Za-z]+):\s*(.*)$", line)
        if top:
            key, rest = top.group(1), top.group(2).strip()
            if rest.startswith("["):
                out[key] = [x.strip() for x in rest.strip("[]").split(",") if x.strip()]
            elif key in ("flags", "includes", "features"):
                out[key] = []
            elif key == "negative":
                out[key] = {}
            continue
        item = re.match(r"^\s+-\s*(\S+)\s*$", line)
        if item and isinstance(out.get(key), list):
            out[key].append(item.group(1))
            continue
        field = re.match(r"^\s+(phase|type):\s*(\S+)\s*$", line)
        if field and key == "negative":
            out["negative"][field.group(1)] = field.group(2)
    return out


def discover(suite: Path) -> list[Test]:
    tests = []
    base = suite / "test"
    for d in DIRS:
        for p in sorted((base / d).rglob("*.js")):
            if "_FIXTURE" in p.name:
                continue
            text = p.read_text("utf-8")
            if "module" not in text[: text.find("---*/") + 1]:
                continue
            meta = parse_meta(text)
            flags = tuple(meta.get("flags") or ())
            if "module" not in flags:
                continue
            tests.append(
                Test(
                    path=p.relative_to(base).as_posix(),
                    flags=flags,
                    includes=tuple(meta.get("includes") or ()),
                    features=tuple(meta.get("features") or ()),
                    negative=meta.get("negative"),
                )
            )
    return tests


def read_list(path: Path) -> dict[str, str]:
    """``path reason`` per line; ``#`` comments and blank lines ignored."""
    out = {}
    if not path.exists():
        return out
    for line in path.read_text("utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, _, reason = line.partition(" ")
        out[name] = reason.strip()
    return out


class Runner:
    """One Engine and one loader for the whole suite; a realm per harness set."""

    def __init__(self, suite: Path) -> None:
        self.suite = suite
        self.engine = Engine(timeout_s=10.0)
        self.loader = ModuleLoader(suite / "test")
        self._harness: dict[str, str] = {}

    def close(self) -> None:
        self.engine.close()

    def _script(self, name: str) -> str:
        text = self._harness.get(name)
        if text is None:
            text = (self.suite / "harness" / name).read_text("utf-8") + f"\n//# sourceURL=harness/{name}"
            self._harness[name] = text
        return text

    def run(self, test: Test) -> str | None:
        """None when the test passes, else why it failed."""
        is_async = "async" in test.flags
        scripts: list[str] = [_PRINT]
        if "raw" not in test.flags:
            names = ["assert.js", "sta.js"] + (["doneprintHandle.js"] if is_async else []) + list(test.includes)
            scripts += [self._script(n) for n in names]
        expected = test.negative or {}
        try:
            result = module_runner.execute_module(
                self.engine,
                test.path,
                context_type=ContextType.LIBRARY,
                loader=self.loader,
                global_scripts=tuple(scripts),
                before="__t262.reset",
                after=f"()=>__t262.wait({'true' if is_async else 'false'})",
            )
        except (TranspileError, ModuleLoadError) as e:
            # Refused before any code ran: the loader's and linker's
            # refusals are ESM's parse and resolution SyntaxErrors.
            if expected.get("phase") in ("parse", "resolution") and expected.get("type") == "SyntaxError":
                return None
            return f"refused before running: {type(e).__name__}: {e}"
        except Exception as e:  # timeouts, deadlocks: the test never finished
            return f"{type(e).__name__}: {e}"
        exc = result.exception
        if exc is not None:
            name = exc.name
            if name is None and (exc.exception or "").startswith("{message:"):
                # the harness's Test262Error is no Error subclass: the
                # engine reports it as a plain object with a message
                name = "Test262Error"
            if expected and name == expected.get("type"):
                if expected.get("phase") == "runtime" or _before_code(exc):
                    return None
                return f"{exc.name} at run time, expected phase {expected.get('phase')}"
            return f"threw {exc.exception}"
        if expected:
            return f"expected {expected.get('type')} ({expected.get('phase')}), nothing thrown"
        if is_async and result.value != "Test262:AsyncTestComplete":
            return f"async: {result.value}"
        return None


def _before_code(exc) -> bool:
    """V8 rejected a module's code while the graph was instantiated (the
    registry evaluates every module's code before running any of them)."""
    return exc.name == "SyntaxError" and "(in module " in (exc.exception or "")
