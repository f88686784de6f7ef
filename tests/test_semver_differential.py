"""zako:semver against node-semver itself, call by call, errors included.

The oracle is Debian's node-semver (7.3.5 on bookworm) under ``node``. Each
hypothesis example is one batch of calls: one line to a long-lived node
process and one ``execute_module`` on a zako Engine run the same harness
(``HARNESS``) over the same JSON queries, and every call's result must
serialize identically -- the value, the fields of SemVer / Range /
Comparator objects, what a call did to its (mutable) arguments, and for a
throw the error's class, name and message.

node or node-semver absent: the tests skip, except under ``CI=true`` where
they fail (CI installs both).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zako.v8 import ContextType, Engine, ModuleLoader

SEMVER_DIR = Path("/usr/share/nodejs/semver")

# Runs a batch of queries against `lib` (node-semver's exports or the
# zako:semver namespace) and returns one serialized outcome per query.
# A query is {f, a, self?}: `f` a function name, "new X" or "X#method";
# arguments are JSON values, or {"$": "SemVer"|"Range"|"Comparator", a: [...]}
# (built with `new`), {"$": "undefined"}, {"$": "ANY"}.
HARNESS = r"""
function runQueries(lib, queries) {
  const ANY = lib.Comparator.ANY;
  const classes = [["SemVer", lib.SemVer], ["Range", lib.Range], ["Comparator", lib.Comparator]];
  function decode(x) {
    if (Array.isArray(x)) return x.map(decode);
    if (x && typeof x === "object") {
      if (x.$ === "undefined") return undefined;
      if (x.$ === "ANY") return ANY;
      if (x.$) { const C = lib[x.$]; return new C(...decode(x.a)); }
      const out = {};
      for (const k of Object.keys(x)) out[k] = decode(x[k]);
      return out;
    }
    return x;
  }
  function ser(x, depth) {
    if (depth > 8) return {$deep: true};
    if (x === undefined) return {$: "undefined"};
    if (x === ANY) return {$: "ANY"};
    if (typeof x === "number") return Number.isFinite(x) && !Object.is(x, -0) ? x : {$num: String(x)};
    if (typeof x === "symbol") return {$sym: String(x)};
    if (typeof x === "function") return {$fn: x.name};
    if (x === null || typeof x !== "object") return x;
    if (Array.isArray(x)) return x.map((v) => ser(v, depth + 1));
    if (x instanceof Error) return {$error: x.constructor.name, name: x.name, message: x.message};
    let kind = "object";
    for (const [name, C] of classes) if (x instanceof C) kind = name;
    const keys = Object.keys(x);
    const fields = {};
    for (const k of keys) fields[k] = ser(x[k], depth + 1);
    return {$: kind, keys, fields, text: kind === "object" ? null : String(x)};
  }
  return queries.map((q) => {
    let self, args;
    try {
      args = decode(q.a);
      self = q.self === undefined ? undefined : decode(q.self);
    } catch (e) {
      return {argError: ser(e, 0)};
    }
    let out;
    try {
      let value;
      if (q.f.startsWith("new ")) value = new lib[q.f.slice(4)](...args);
      else if (q.f.includes("#")) value = self[q.f.split("#")[1]](...args);
      else value = lib[q.f](...args);
      out = {value: ser(value, 0)};
    } catch (e) {
      out = {threw: ser(e, 0)};
    }
    out.after = ser(args, 0);
    if (self !== undefined) out.self = ser(self, 0);
    return out;
  });
}
"""

NODE_DRIVER = (
    HARNESS
    + r"""
const lib = require(process.argv[1]);
const rl = require("readline").createInterface({input: process.stdin});
rl.on("line", (line) => {
  process.stdout.write(JSON.stringify(runQueries(lib, JSON.parse(line))) + "\n");
});
"""
)

ZAKO_ENTRY = (
    'import * as lib from "zako:semver";\n'
    + HARNESS
    + "\nexport default JSON.stringify(runQueries(lib, globalThis.executionContext.queries));\n"
)


def _ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes", "on")


def _unavailable(reason: str):
    if _ci():
        pytest.fail(f"CI=true and the node-semver oracle is unavailable: {reason}")
    pytest.skip(reason)


class NodeSemver:
    """One node process answering batches of queries, a JSON line each way."""

    def __init__(self) -> None:
        node = shutil.which("node")
        if node is None:
            _unavailable("node is not installed")
        if not (SEMVER_DIR / "package.json").is_file():
            _unavailable(f"node-semver is not installed ({SEMVER_DIR})")
        env = dict(os.environ)
        # node-semver requires lru-cache, which Debian keeps beside it; a
        # node that is not Debian's does not look there on its own.
        env["NODE_PATH"] = str(SEMVER_DIR.parent)
        self.proc = subprocess.Popen(
            [node, "-e", NODE_DRIVER, str(SEMVER_DIR)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.version = json.loads((SEMVER_DIR / "package.json").read_text())["version"]

    def run(self, queries: list) -> list:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(queries) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"node-semver driver exited with {self.proc.wait()}")
        return json.loads(line)

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class ZakoSemver:
    """The same harness over zako:semver: one module evaluation per batch."""

    def __init__(self, root: Path) -> None:
        self.engine = Engine(timeout_s=60.0)
        self.loader = ModuleLoader(root, memory_modules={"semver_harness": ZAKO_ENTRY})

    def run(self, queries: list) -> list:
        result = self.engine.execute_module(
            "zako-memory:semver_harness",
            context_type=ContextType.LIBRARY,
            loader=self.loader,
            inputs={"queries": queries},
        )
        assert result.exception is None, result.exception
        return json.loads(result.value["default"])


@pytest.fixture(scope="module")
def node_semver():
    oracle = NodeSemver()
    yield oracle
    oracle.close()


@pytest.fixture(scope="module")
def zako_semver(tmp_path_factory):
    return ZakoSemver(tmp_path_factory.mktemp("semver"))


def check(node_semver, zako_semver, queries: list) -> None:
    expected = node_semver.run(queries)
    got = zako_semver.run(queries)
    assert len(got) == len(expected) == len(queries)
    for query, want, have in zip(queries, expected, got):
        # canonical text, so that true and 1 (equal in Python) still differ
        want_text = json.dumps(want, sort_keys=True)
        have_text = json.dumps(have, sort_keys=True)
        assert have_text == want_text, f"{json.dumps(query)}\n node-semver: {want_text}\n zako:semver: {have_text}"


# ---------------------------------------------------------------------------
# Generators: versions, partial versions, ranges, options, garbage.

UNDEFINED = {"$": "undefined"}

NUMBERS = st.one_of(
    st.sampled_from(["0", "1", "2", "3"]),
    st.sampled_from(["0", "1", "2", "10", "01", "00", "007", "9007199254740991", "9007199254740992", "99999999999999999"]),
)
PRE_IDS = st.sampled_from(
    ["alpha", "beta", "rc", "0", "1", "2", "10", "01", "x", "a-b", "-", "1a", "00", "pre", "9007199254740991", "9007199254740992"]
)
BUILD_IDS = st.sampled_from(["build", "001", "sha", "x", "1", "b-2"])
PREFIXES = st.sampled_from(["", "", "", "v", "=", "v=", "=v", " ", "  v", "V"])
SUFFIXES = st.sampled_from(["", "", "", " ", "\t", "\n", "\u00a0", "\u3000"])
X_PARTS = st.sampled_from(["x", "X", "*"])


@st.composite
def versions(draw, partial: bool = False):
    """Version text, strict or only loosely valid or neither."""
    count = draw(st.sampled_from([3, 3, 3, 2, 1, 4] if partial else [3, 3, 3, 3, 2, 4]))
    parts = [draw(st.one_of(NUMBERS, X_PARTS) if partial else NUMBERS) for _ in range(count)]
    text = ".".join(parts)
    if draw(st.integers(0, 2)) == 0:
        sep = draw(st.sampled_from(["-", "-", ""]))
        text += sep + ".".join(draw(st.lists(PRE_IDS, min_size=1, max_size=3)))
    if draw(st.integers(0, 3)) == 0:
        text += "+" + ".".join(draw(st.lists(BUILD_IDS, min_size=1, max_size=2)))
    return draw(PREFIXES) + text + draw(SUFFIXES)


GARBAGE = st.text(alphabet="0123456789.-+vx*^~<>=| abX\t", max_size=14)
VERSION_TEXT = st.one_of(versions(), versions(), versions(), GARBAGE)

OPERATORS = st.sampled_from(["", "", "=", ">", ">=", "<", "<=", "^", "~", "~>", "^", "~"])


@st.composite
def comparator_texts(draw):
    op = draw(OPERATORS)
    gap = draw(st.sampled_from(["", "", " "]))
    return op + gap + draw(versions(partial=True)).strip()


@st.composite
def simple_ranges(draw):
    kind = draw(st.integers(0, 5))
    if kind == 0:
        return draw(versions(partial=True)).strip() + draw(st.sampled_from([" - ", "  -  ", " -"])) + draw(
            versions(partial=True)
        ).strip()
    if kind == 1:
        return draw(st.sampled_from(["*", "", "x", ">=0.0.0", ">=0.0.0-0", "<0.0.0-0", ">*", "<*", "latest", "1.x || >=2.5.0"]))
    return draw(st.sampled_from([" ", "  "])).join(draw(st.lists(comparator_texts(), min_size=1, max_size=3)))


@st.composite
def range_texts(draw):
    sets = draw(st.lists(simple_ranges(), min_size=1, max_size=3))
    return draw(st.sampled_from(["||", " || ", " ||  "])).join(sets)


RANGE_TEXT = st.one_of(range_texts(), range_texts(), range_texts(), GARBAGE)
OPTIONS = st.sampled_from(
    [UNDEFINED, None, {}, {"loose": True}, {"includePrerelease": True}, {"loose": True, "includePrerelease": True}, True, False]
)
BOOL_LOOSE = st.sampled_from([UNDEFINED, True, False, {"loose": True}])
# Not strings: node-semver checks some types itself and fails on the rest.
ODD_VALUES = st.sampled_from([UNDEFINED, None, 1, 1.5, True, [], {}])



def as_semver(text: str, loose) -> dict:
    return {"$": "SemVer", "a": [text, loose]}


def as_range(text: str, options) -> dict:
    return {"$": "Range", "a": [text, options]}


def as_comparator(text: str, options) -> dict:
    return {"$": "Comparator", "a": [text, options]}


# Each example draws a small pool of versions, ranges and options and asks
# every function about every combination: few draws (hypothesis spends its
# time drawing), many comparisons, and shrinking still works on the pool.
POOLS = st.fixed_dictionaries(
    {
        "versions": st.lists(VERSION_TEXT, min_size=2, max_size=5),
        "ranges": st.lists(RANGE_TEXT, min_size=2, max_size=4),
        "comparators": st.lists(st.one_of(comparator_texts(), GARBAGE, ODD_VALUES), min_size=1, max_size=3),
        "options": OPTIONS,
        "loose": BOOL_LOOSE,
        "identifier": st.sampled_from([UNDEFINED, "alpha", "beta", "1", "", "rc", "a b"]),
        "garbage": st.one_of(GARBAGE, st.text(max_size=6), ODD_VALUES),
    }
)

RELEASES = ["major", "minor", "patch", "premajor", "preminor", "prepatch", "prerelease", "pre", "bogus"]
COMPARE_OPS = ["===", "!==", "", "=", "==", "!=", ">", ">=", "<", "<=", "<>"]
COMPARERS = ("compare", "rcompare", "compareBuild", "gt", "gte", "lt", "lte", "eq", "neq")


def version_queries(pool: dict) -> list:
    opts, loose, ident, odd = pool["options"], pool["loose"], pool["identifier"], pool["garbage"]
    queries = []
    for v in pool["versions"] + [odd]:
        for f in ("parse", "valid", "clean", "new SemVer", "prerelease"):
            queries.append({"f": f, "a": [v, opts]})
        for f in ("major", "minor", "patch"):
            queries.append({"f": f, "a": [v, loose]})
        queries.append({"f": "coerce", "a": [v, opts]})
        queries.append({"f": "coerce", "a": [v, {"rtl": True}]})
        for release in RELEASES:
            queries.append({"f": "inc", "a": [v, release, opts, ident]})
            queries.append({"f": "inc", "a": [v, release, ident]})
            queries.append({"f": "SemVer#inc", "self": as_semver(v, loose), "a": [release, ident]})
    # a SemVer object where text is usual: returned as is, re-parsed under
    # other options, bumped in place by inc
    sv = as_semver(pool["versions"][0], loose)
    for f in ("new SemVer", "parse", "valid", "clean", "prerelease", "coerce"):
        queries.append({"f": f, "a": [sv, opts]})
    for f in ("major", "minor", "patch"):
        queries.append({"f": f, "a": [sv, loose]})
    queries.append({"f": "inc", "a": [sv, "prerelease", opts, ident]})
    return queries


def comparison_queries(pool: dict) -> list:
    loose = pool["loose"]
    vs = pool["versions"]
    queries = []
    for a in vs:
        for b in vs + [as_semver(vs[0], True)]:
            for f in COMPARERS:
                queries.append({"f": f, "a": [a, b, loose]})
            queries.append({"f": "compareLoose", "a": [a, b]})
            queries.append({"f": "diff", "a": [a, b]})
            for name in ("compare", "compareMain", "comparePre", "compareBuild"):
                queries.append({"f": f"SemVer#{name}", "self": as_semver(a, loose), "a": [b]})
        for op in COMPARE_OPS:
            queries.append({"f": "cmp", "a": [a, op, vs[-1], loose]})
    queries.append({"f": "sort", "a": [list(vs), loose]})
    queries.append({"f": "rsort", "a": [list(vs), loose]})
    queries.append({"f": "sort", "a": [[as_semver(v, loose) for v in vs], loose]})
    return queries


def range_queries(pool: dict) -> list:
    opts = pool["options"]
    vs, rs = pool["versions"], pool["ranges"]
    queries = []
    for r in rs + [pool["garbage"]]:
        for f in ("new Range", "validRange", "toComparators", "minVersion"):
            queries.append({"f": f, "a": [r, opts]})
        for f in ("maxSatisfying", "minSatisfying", "simplifyRange"):
            queries.append({"f": f, "a": [list(vs), r, opts]})
        for v in vs:
            for f in ("satisfies", "gtr", "ltr"):
                queries.append({"f": f, "a": [v, r, opts]})
            queries.append({"f": "outside", "a": [v, r, "=", opts]})
            queries.append({"f": "Range#test", "self": as_range(r, opts), "a": [v]})
        for other in rs:
            queries.append({"f": "intersects", "a": [r, other, opts]})
            queries.append({"f": "subset", "a": [r, other, opts if isinstance(opts, dict) else UNDEFINED]})
            queries.append({"f": "Range#intersects", "self": as_range(r, opts), "a": [as_range(other, opts), opts]})
    queries.append({"f": "satisfies", "a": [as_semver(vs[0], True), as_range(rs[0], opts), opts]})
    # Range objects where text is usual
    r0 = as_range(rs[0], opts)
    for f in ("new Range", "validRange", "toComparators", "minVersion"):
        queries.append({"f": f, "a": [r0, pool["loose"]]})
    queries.append({"f": "simplifyRange", "a": [list(vs), r0, opts]})
    queries.append({"f": "subset", "a": [r0, as_range(rs[-1], opts)]})
    queries.append({"f": "intersects", "a": [r0, rs[-1], opts]})
    for c in pool["comparators"]:
        queries.append({"f": "new Comparator", "a": [c, opts]})
        for v in vs:
            queries.append({"f": "Comparator#test", "self": as_comparator(c, opts), "a": [v]})
        for other in pool["comparators"]:
            queries.append({"f": "Comparator#intersects", "self": as_comparator(c, opts), "a": [as_comparator(other, opts), opts]})
    return queries


DIFF_SETTINGS = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@DIFF_SETTINGS
@given(POOLS)
def test_versions_match_node_semver(node_semver, zako_semver, pool):
    check(node_semver, zako_semver, version_queries(pool))


@DIFF_SETTINGS
@given(POOLS)
def test_comparisons_match_node_semver(node_semver, zako_semver, pool):
    check(node_semver, zako_semver, comparison_queries(pool))


@DIFF_SETTINGS
@given(POOLS)
def test_ranges_match_node_semver(node_semver, zako_semver, pool):
    check(node_semver, zako_semver, range_queries(pool))


# ---------------------------------------------------------------------------
# Deterministic cross products: every range against every version, so the
# common shapes are always covered whatever hypothesis draws.

CORPUS_VERSIONS = [
    "0.0.0", "0.0.0-0", "0.0.1", "0.1.0", "0.1.1-alpha", "0.2.3", "1.0.0", "1.0.0-alpha", "1.0.0-alpha.1",
    "1.0.0-beta.2", "1.0.0-rc.1", "1.2.3", "1.2.3-pr.1", "1.2.3-pr.2", "1.2.4-alpha", "1.2.4", "1.3.0",
    "1.9.9", "1.9.9-9007199254740991", "1.9.9-9007199254740990.a", "2.0.0-0", "2.0.0", "2.0.0-rc.1",
    "2.5.0", "3.0.0", "3.4.5", "3.5.0-0", "10.0.0",
    # loose-only, whitespace (also outside ASCII), 256 and 257 characters, not versions
    " 1.2.3 ", "\u00a01.2.3\u2028", "v1.2.3", "1.2.3-" + "a" * 250, "1.2.3-" + "a" * 251,
    "=1.2.3", "01.2.3", "1.2.3beta", "1.2", "x", "", "not a version",
]
CORPUS_RANGES = [
    "*", "", "x", "1", "1.x", "1.2.x", "1.2", "^1.2.3", "^0.2.3", "^0.0.3", "^1.2.3-pr.1", "^0.0.0-0", "^1.x",
    "~1.2.3", "~1.2", "~1", "~>1.2.3", "~0.1.1-alpha", ">=1.2.3", ">1.2.3", "<2.0.0", "<=2.0.0", ">1.2", "<=1.2",
    ">1", "<1", "=1.2.3", "1.2.3 - 2.3.4", "1.2 - 2.3", "1.2.3-pr.1 - 1.2.3", "1 - 2", "* - 2", "1.2.3 - *",
    ">=1.0.0 <2.0.0 || >=3.0.0", "^1 || ^2 || ^3", "<0.0.0-0", ">=0.0.0", ">=0.0.0-0", "> 1.2.3 < 2",
    "~ 1.2", "^ 1.2", ">=1.2.3-alpha <1.2.3", "1.2.3 || <0.0.0-0", "<1.0.0-0", "v1.2.3", "=v1.2.3",
    ">=01.2.3", "1.2.3beta", "~1.2.3beta", ">=1.2.3 garbage", "||", "1.2.3 || garbage", "^1.2.3+build",
]
CORPUS_OPTIONS = [UNDEFINED, {"loose": True}, {"includePrerelease": True}, {"loose": True, "includePrerelease": True}]


def test_every_corpus_version_against_every_corpus_range(node_semver, zako_semver):
    queries = [
        {"f": "satisfies", "a": [v, r, o]} for o in CORPUS_OPTIONS for r in CORPUS_RANGES for v in CORPUS_VERSIONS
    ]
    queries += [{"f": "validRange", "a": [r, o]} for o in CORPUS_OPTIONS for r in CORPUS_RANGES]
    queries += [{"f": "minVersion", "a": [r, o]} for o in CORPUS_OPTIONS for r in CORPUS_RANGES]
    queries += [{"f": n, "a": [v, r, o]} for n in ("gtr", "ltr") for o in CORPUS_OPTIONS[:2]
                for r in CORPUS_RANGES for v in CORPUS_VERSIONS[::3]]
    queries += [{"f": "maxSatisfying", "a": [CORPUS_VERSIONS, r, o]} for o in CORPUS_OPTIONS for r in CORPUS_RANGES]
    check(node_semver, zako_semver, queries)


def test_every_corpus_range_pair(node_semver, zako_semver):
    ranges = CORPUS_RANGES[::2]
    queries = [{"f": "intersects", "a": [a, b, o]} for o in CORPUS_OPTIONS[:3] for a in ranges for b in ranges]
    queries += [{"f": "subset", "a": [a, b, o]} for o in ({}, {"includePrerelease": True}) for a in ranges for b in ranges]
    check(node_semver, zako_semver, queries)


def test_every_corpus_version_pair(node_semver, zako_semver):
    vs = CORPUS_VERSIONS
    queries = [{"f": "compare", "a": [a, b, o]} for o in (UNDEFINED, True) for a in vs for b in vs]
    queries += [{"f": "diff", "a": [a, b]} for a in vs[::2] for b in vs[::2]]
    queries += [{"f": "inc", "a": [v, r, o, i]} for v in vs for r in ("major", "minor", "patch", "premajor", "preminor",
                "prepatch", "prerelease") for o, i in ((UNDEFINED, UNDEFINED), (True, "pr"))]
    queries += [{"f": "coerce", "a": [t, o]} for o in (UNDEFINED, {"rtl": True})
                for t in vs + ["1.2.3.4.5", "v10.20", "a1b2c3", "12345678901234567.1", "1.2.3-4.5.6", "x9y8.7"]]
    check(node_semver, zako_semver, queries)
