"""The ``zako`` command end to end: ``main(argv)`` in-process (fast), and a
couple of real subprocesses (``python -m zako``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from zako import __version__
from zako.cli import main
from zako.project.labels import Label

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = str(REPO / "examples" / "monorepo")


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def cache(tmp_path):
    return str(tmp_path / "cache")


def test_load_example_text_summary(capsys, cache):
    code, out, err = run(capsys, "load", EXAMPLE, "--cache-dir", cache)
    assert code == 0, err
    assert out.startswith("Loaded com.example.shop:shop 2.3.0")
    fields = dict(line.strip().split(None, 1) for line in out.splitlines()[1:] if "  " in line.strip())
    assert fields["packages"] == "24"
    for key in ("targets", "source", "cache", "wall", "peak", "interner"):
        assert key in fields, out
    assert "0/25 scripts (25 evaluated)" in out
    assert "peak RSS" in out and "MiB" in out
    assert "strings" in out and "peak V8 heap" in out
    assert err == ""  # no progress bar when stderr is not a terminal

    code, out, _ = run(capsys, "load", EXAMPLE, "--cache-dir", cache)
    assert code == 0
    assert "25/25 scripts (0 evaluated)" in out


def test_load_example_json(capsys, cache):
    code, out, err = run(capsys, "load", EXAMPLE, "--json", "--cache-dir", cache, "--jobs", "2")
    assert code == 0, err
    doc = json.loads(out)
    assert set(doc) == {"project", "packages", "stats"}
    project = doc["project"]
    assert (project["group"], project["artifact"], project["version"]) == ("com.example.shop", "shop", "2.3.0")
    # zako.ts rewrote the description using a JSON import
    assert project["description"] == "An example web shop monorepo (node 20.11, typescript 5.4)"
    assert project["options"] == {"node": "20", "strict": True}

    paths = [p["path"] for p in doc["packages"]]
    assert paths == sorted(paths) and len(paths) == 24
    assert paths[0] == "." and "libs/ui/components" in paths
    assert not any(p.startswith(("node_modules", ".scratch")) for p in paths)

    labels = set()
    for pkg in doc["packages"]:
        target_labels = [t["label"] for t in pkg["targets"]]
        assert target_labels == sorted(target_labels)
        for t in pkg["targets"]:
            assert set(t) == {"label", "kind", "srcs", "deps", "attrs"}
            assert Label.parse(t["label"]).package == pkg["path"]
            assert t["srcs"] == sorted(t["srcs"])
            for src in t["srcs"]:
                assert (pkg["path"] == "." or src.startswith(pkg["path"] + "/")) and os.path.isfile(os.path.join(EXAMPLE, src))
            labels.add(t["label"])
    for pkg in doc["packages"]:
        for t in pkg["targets"]:
            for dep in t["deps"]:
                assert dep.startswith("//") and dep in labels

    by_label = {t["label"]: t for p in doc["packages"] for t in p["targets"]}
    assert by_label["//libs/db:migrations"]["srcs"] == ["libs/db/migrations/001_init.sql", "libs/db/migrations/002_items.sql"]
    assert by_label["//apps/web:web"]["srcs"] == ["apps/web/public/logo.svg", "apps/web/public/manifest.json"]
    assert by_label["//apps/web:web"]["deps"] == ["//apps/web:web-lib"]  # ":web-lib" made absolute
    assert "docs/drafts/wip.md" not in by_label["//docs:site"]["srcs"]
    assert "libs/i18n/locales/.draft.json" not in by_label["//libs/i18n:locales"]["srcs"]
    assert by_label["//libs/core:core"]["srcs"] == [
        "libs/core/src/clock.ts", "libs/core/src/ids.ts", "libs/core/src/result.ts"]
    assert by_label["//libs/core:core"]["attrs"]["typescript"] == "5.4"  # from versions.json via a library
    assert by_label["//services/api:api"]["kind"] == "ts_binary"

    stats = doc["stats"]
    assert stats["packages"] == 24 and stats["targets"] == len(labels)
    assert stats["evaluated"] == 25 and stats["cache_hits"] == 0
    for key in ("source_files", "wall_time_s", "peak_rss_bytes", "interner_strings", "interner_bytes", "peak_v8_heap_bytes"):
        assert stats[key] > 0

    code, out, _ = run(capsys, "load", EXAMPLE, "--json", "--cache-dir", cache)
    again = json.loads(out)
    assert again["stats"]["cache_hits"] == 25 and again["stats"]["evaluated"] == 0
    assert again["packages"] == doc["packages"] and again["project"] == project


def _tree(root: Path, files: dict[str, str]) -> str:
    files = {"zako.toml": 'group = "g"\nartifact = "a"\nversion = "1"\n', **files}
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return str(root)


BROKEN = {
    "a/BUILD.ts": 'import { target } from "zako:build";\n\nthrow new Error("a is broken");\n',
    "b/BUILD.js": 'import { target } from "zako:build";\ntarget({ name: "b", kind: "x", deps: ["//a:gone"] });\n',
    "c/BUILD.ts": 'import { target } from "zako:build";\ntarget({ name: "c", kind: "x" });\ntarget({ name: "c", kind: "x" });\n',
    "d/BUILD.ts": 'import { target } from "zako:build";\ntarget({ name: "d", kind: "x", srcs: ["../b/BUILD.js"] });\n',
}


@pytest.mark.parametrize(
    "pkg, expected",
    [
        ("a", "a/BUILD.ts:3: error[script-error]: Error: a is broken"),
        ("b", "b/BUILD.js:2: error[missing-dep]: target //b:b depends on //a:gone"),
        ("c", "c/BUILD.ts:3: error[duplicate-target]"),
        ("d", "d/BUILD.ts:2: error[bad-path]: target //d:d: src '../b/BUILD.js' leaves its package"),
    ],
)
def test_each_error_kind_exits_1_with_file_line(tmp_path, capsys, cache, pkg, expected):
    files = {k: v for k, v in BROKEN.items() if k.startswith(pkg + "/")}
    if pkg == "b":
        files["a/BUILD.ts"] = 'import { target } from "zako:build";\ntarget({ name: "a", kind: "x" });\n'
    root = _tree(tmp_path / "p", files)
    code, out, err = run(capsys, "load", root, "--cache-dir", cache)
    assert code == 1
    assert out == ""
    assert err.startswith(expected), err
    if pkg == "a":
        assert "at " in err and "a/BUILD.ts:3" in err  # the JS stack follows


def test_timeout_flag(tmp_path, capsys, cache):
    root = _tree(tmp_path / "p", {"BUILD.js": "while (true) {}\n"})
    code, _, err = run(capsys, "load", root, "--cache-dir", cache, "--timeout", "0.3")
    assert code == 1 and "BUILD.js" in err and "error[timeout]" in err


def test_keep_going_reports_all(tmp_path, capsys, cache):
    root = _tree(tmp_path / "p", BROKEN)
    code, _, err = run(capsys, "load", root, "--cache-dir", cache)
    assert code == 1 and err.count("error[") == 1
    code, out, err = run(capsys, "load", root, "--cache-dir", cache, "--keep-going")
    assert code == 1
    for kind in ("script-error", "missing-dep", "duplicate-target", "bad-path"):
        assert f"error[{kind}]" in err, err
    assert "4 error(s)" in err
    assert "packages" in out  # the healthy part is still summarized
    code, out, err = run(capsys, "load", root, "--cache-dir", cache, "-k", "--json")
    doc = json.loads(out)
    assert code == 1 and sorted(e["kind"] for e in doc["errors"]) == ["bad-path", "duplicate-target", "missing-dep", "script-error"]
    assert all(e["line"] for e in doc["errors"])


def test_usage_errors(tmp_path, capsys):
    assert run(capsys, "load", str(tmp_path / "nope"))[0] == 2
    assert run(capsys, "load", str(tmp_path), "--jobs", "0")[0] == 2
    assert run(capsys, "load")[0] == 2
    assert run(capsys)[0] == 2
    code, _, err = run(capsys, "load", str(tmp_path), "--cache-dir", str(tmp_path / "c"))
    assert code == 1 and "no zako.toml or zako.json" in err


def test_version_help_and_cache_commands(capsys, cache):
    assert run(capsys, "version")[1].startswith(f"zako {__version__} (")
    code, out, _ = run(capsys, "--version")
    assert code == 0 and out.startswith(f"zako {__version__}")
    code, out, _ = run(capsys, "--help")
    assert code == 0 and "examples:" in out and "zako load examples/monorepo" in out
    code, out, _ = run(capsys, "load", "--help")
    assert code == 0 and "--remote-cache" in out and "--keep-going" in out

    assert run(capsys, "load", EXAMPLE, "--cache-dir", cache, "-q") == (0, "", "")
    code, out, _ = run(capsys, "cache", "stats", "--cache-dir", cache, "--json")
    stats = json.loads(out)
    assert code == 0 and stats["ac"]["entries"] >= 50 and stats["cas"]["entries"] >= 25
    code, out, _ = run(capsys, "cache", "clear", "--cache-dir", cache)
    assert code == 0 and "removed" in out
    stats = json.loads(run(capsys, "cache", "stats", "--cache-dir", cache, "--json")[1])
    assert stats["ac"]["entries"] == 0 and stats["cas"]["entries"] == 0
    code, out, _ = run(capsys, "cache", "stats", "--cache-dir", cache)
    assert "results     0" in out


def test_verbose_lists_evaluated_packages(capsys, cache):
    code, out, _ = run(capsys, "load", EXAMPLE, "--cache-dir", cache, "-v")
    assert code == 0 and "evaluated:" in out and "    libs/core" in out


def _env(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "ZAKO_CACHE_DIR"}
    env["XDG_CACHE_HOME"] = str(tmp_path / "xdg")
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def test_python_dash_m_zako_subprocess(tmp_path):
    env = _env(tmp_path)
    proc = subprocess.run([sys.executable, "-m", "zako", "load", EXAMPLE, "--json"], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["stats"]["packages"] == 24
    # the default cache dir honours XDG_CACHE_HOME
    assert (tmp_path / "xdg" / "zako" / "ac").is_dir()
    proc = subprocess.run([sys.executable, "-m", "zako", "--version"], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout.startswith("zako ")


def test_subprocess_error_exit_status(tmp_path):
    root = _tree(tmp_path / "p", {"BUILD.ts": BROKEN["a/BUILD.ts"]})
    proc = subprocess.run([sys.executable, "-m", "zako", "load", root], env=_env(tmp_path), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert proc.stderr.startswith("BUILD.ts:3: error[script-error]: Error: a is broken")


class _Tty:
    def __init__(self):
        self.text = ""

    def isatty(self):
        return True

    def write(self, s):
        self.text += s

    def flush(self):
        pass


def test_progress_bar_draws_only_on_a_terminal(cache):
    from zako.global_state import GlobalState
    from zako.project.report import ProgressBar

    tty = _Tty()
    bar = ProgressBar(0, stream=tty, interval_s=0.0)
    with GlobalState(cache_dir=cache, jobs=1) as state:
        state.load(EXAMPLE, progress=bar.update)
    bar.close()
    assert "] 24/24 packages" in tty.text and tty.text.endswith("\r")

    class _Pipe(_Tty):
        def isatty(self):
            return False

    pipe = _Pipe()
    bar = ProgressBar(10, stream=pipe, interval_s=0.0)
    bar.update(5, 10)
    bar.close()
    assert pipe.text == ""
