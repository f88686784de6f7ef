"""Acceptance: projects shaped like the original Zako's two test projects
(tests/log_version, tests/new_project) load with exit 0, the expected log
lines and the expected graph."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from zako.cli import main

FIXTURES = Path(__file__).parent / "fixtures"
LOG_VERSION = FIXTURES / "original_log_version"
NEW_PROJECT = FIXTURES / "original_new_project"


@pytest.fixture(autouse=True)
def _quiet_logger_after():
    yield
    logging.getLogger("zako.js").setLevel(logging.NOTSET)  # main() sets it per run


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def script_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if " zako.js: " in line]


def test_log_version_at_each_verbosity(capsys, tmp_path):
    cache = str(tmp_path / "cache")
    code, out, err = run(capsys, "load", str(LOG_VERSION), "--cache-dir", cache, "--no-cache", "-vv")
    assert code == 0, err
    assert out.startswith("Loaded moe.fra:zako 1.0.0\n")
    assert script_lines(err) == [
        "INFO zako.js: zako.ts: Hello World!",
        "TRACE zako.js: zako.ts: This is a trace message",
        "DEBUG zako.js: zako.ts: This is a debug message",
        "INFO zako.js: zako.ts: This is a info message",
        "WARNING zako.js: zako.ts: This is a warn message",
        "ERROR zako.js: zako.ts: This is a error message",
        "INFO zako.js: zako.ts: Project group is moe.fra",
        "INFO zako.js: zako.ts: Project artifact is zako",
        "INFO zako.js: zako.ts: Project version is 1.0.0",
    ]
    code, _, err = run(capsys, "load", str(LOG_VERSION), "--cache-dir", cache, "--no-cache", "-v")
    lines = script_lines(err)
    assert code == 0 and "DEBUG zako.js: zako.ts: This is a debug message" in lines
    assert not any(line.startswith("TRACE") for line in lines) and len(lines) == 8
    code, _, err = run(capsys, "load", str(LOG_VERSION), "--cache-dir", cache, "--no-cache")
    assert code == 0 and script_lines(err) == [
        "WARNING zako.js: zako.ts: This is a warn message",
        "ERROR zako.js: zako.ts: This is a error message",
    ]


def test_log_version_through_its_argfile_and_dash_c(capsys, tmp_path):
    code, out, err = run(capsys, "-C", str(LOG_VERSION), "@argfile", "--cache-dir", str(tmp_path / "c"), "--no-cache")
    assert code == 0, err
    assert "TRACE zako.js: zako.ts: This is a trace message" in err and "Loaded moe.fra:zako 1.0.0" in out


def test_new_project_graph(capsys, tmp_path):
    code, out, err = run(capsys, "load", str(NEW_PROJECT), "--cache-dir", str(tmp_path / "c"), "--json", "-v")
    assert code == 0, err
    assert "INFO zako.js: zako.ts: zako_test 1.0.0 (MIT) by MoeGodot <me@kawayi.moe>" in script_lines(err)
    doc = json.loads(out)
    project = doc["project"]
    assert (project["group"], project["artifact"], project["version"]) == ("fra.moe", "zako_test", "1.0.0")
    assert (project["license"], project["authors"]) == ("MIT", ["MoeGodot <me@kawayi.moe>"])
    assert project["options"]["debug"]["type"] == "boolean"
    assert project["builds"] == {"include": ["src/**"], "exclude": []}
    assert project["rules"] == {"include": ["rules/**/*.ts"], "exclude": ["rules/test/*.ts"]}
    assert doc["packages"] == [{"path": "src/app", "targets": [{
        "label": "//src/app:app", "kind": "binary", "srcs": ["src/app/main.c"], "deps": [],
        "attrs": {"context": "build"}}]}]
    assert doc["rules"] == [{"name": "cc_binary", "attrs": {"srcs": {"type": "label_list"}},
                             "file": "rules/cc.rule.ts", "line": 3}]
    assert "toolchains" not in doc
    assert doc["stats"]["scripts"] == 3  # zako.ts, src/app/BUILD.ts, rules/cc.rule.ts


def test_new_project_summary_counts_its_rules(capsys, tmp_path):
    code, out, err = run(capsys, "load", str(NEW_PROJECT), "--cache-dir", str(tmp_path / "c"))
    assert code == 0, err
    assert out.splitlines()[:6] == [
        "Loaded fra.moe:zako_test 1.0.0", "  packages      1", "  targets       1", "  source files  1",
        "  rules         1", "  cache hits    0/3 scripts (3 evaluated)",
    ]
