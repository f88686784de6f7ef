"""test262 module tests (``flags: [module]`` under test/language and
test/staging) against zako's module system.

The suite is read from ``$ZAKO_TEST262`` or ``<repo>/../shared/test262``;
without it these tests skip, except under ``CI=true`` where they fail. One
pytest item per directory group, all on one Engine. A test that fails must
be listed in ``expected_failures.txt`` with its reason, and a listed test
that passes fails the run: the list only shrinks.
"""

from __future__ import annotations

import os
from collections import Counter

import pytest

import t262

SUITE = t262.suite_path()
_CI = os.environ.get("CI", "").lower() == "true"


def _tests() -> list[t262.Test]:
    if not (SUITE / "test").is_dir():
        return []
    return t262.discover(SUITE)


TESTS = _tests()
GROUPS = sorted({t.group for t in TESTS})
EXPECTED = t262.read_list(t262.EXPECTED_FAILURES)
_RESULTS: dict[str, str | None] = {}


@pytest.fixture(scope="module")
def runner():
    if not TESTS:
        pytest.skip("no suite")
    r = t262.Runner(SUITE)
    yield r
    r.close()


def test_suite_present():
    if not TESTS:
        msg = f"test262 not found at {SUITE} (set ZAKO_TEST262)"
        if _CI:
            pytest.fail(msg)
        pytest.skip(msg)
    unknown = set(EXPECTED) - {t.path for t in TESTS}
    assert not unknown, f"expected_failures.txt lists tests the suite does not have: {sorted(unknown)[:5]}"


@pytest.mark.parametrize("group", GROUPS or ["<no suite>"])
def test_group(runner, group):
    unexpected, fixed = [], []
    for t in TESTS:
        if t.group != group or set(t.features) & t262.SKIP_FEATURES:
            continue
        why = runner.run(t)
        _RESULTS[t.path] = why
        if why is not None and t.path not in EXPECTED:
            unexpected.append(f"{t.path}: {why}")
        elif why is None and t.path in EXPECTED:
            fixed.append(t.path)
    problems = []
    if unexpected:
        problems.append("fail (not in expected_failures.txt):\n  " + "\n  ".join(unexpected))
    if fixed:
        problems.append("now pass (remove from expected_failures.txt):\n  " + "\n  ".join(fixed))
    assert not problems, "\n".join(problems)


def summary_lines() -> list[str]:
    """The figures conftest.py prints at the end of the run."""
    skipped = Counter(f for t in TESTS for f in t.features if f in t262.SKIP_FEATURES)
    n_skipped = sum(1 for t in TESTS if set(t.features) & t262.SKIP_FEATURES)
    lines = [f"{len(TESTS)} module tests, {n_skipped} skipped by feature tag: "
             + ", ".join(f"{k} {v}" for k, v in sorted(skipped.items()))]
    if _RESULTS:
        node = set(t262.read_list(t262.NODE_PASSES))
        passed = {p for p, why in _RESULTS.items() if why is None}
        lines.append(f"zako passes {len(passed)} of {len(_RESULTS)} run; node 20 passes {len(node)},"
                     f" of which zako passes {len(passed & node)}; expected failures listed: {len(EXPECTED)}")
    return lines
