"""Prints the test262 figures (feature-tag skips, passes against node's)
at the end of every run that collected the conformance tests, captured
output or not."""

from __future__ import annotations

import sys


def pytest_terminal_summary(terminalreporter):
    mod = sys.modules.get("test_test262")
    if mod is None or not getattr(mod, "TESTS", None):
        return
    terminalreporter.write_sep("-", "test262 module tests")
    for line in mod.summary_lines():
        terminalreporter.write_line(line)
