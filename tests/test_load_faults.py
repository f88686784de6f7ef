"""Faults a new user hit in ``zako load`` (issue 13, "smaller faults"):
a cache directory that is a file, the summary's peak RSS, dependency
cycles, ``srcs`` symlinks leading out of the project, and control
characters in printed paths."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from zako.cli import main
from zako.global_state import GlobalState
from zako.project.errors import LoadFailed, Problem

from project_tree import make_project
IMPORT = 'import { target, glob } from "zako:build";\n'




def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def state(tmp_path):
    with GlobalState(cache_dir=tmp_path / "cache", jobs=2, timeout_s=5.0) as s:
        yield s


@pytest.fixture
def small(tmp_path):
    return make_project(tmp_path / "p", {"BUILD.ts": IMPORT + 'target({ name: "a", kind: "x" });\n'})


# --- 1. the cache directory is not a directory -------------------------------------


@pytest.mark.parametrize("broken", ["", "ac", "cas"])
def test_cache_dir_that_is_a_file_is_one_clear_error(tmp_path, capsys, small, broken):
    cache = tmp_path / "cache"
    if broken:
        cache.mkdir()
    bad = cache / broken if broken else cache
    bad.write_text("not a directory")
    code, out, err = run(capsys, "load", small, "--cache-dir", str(cache))
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert repr(str(bad)) in lines[0] and "not a directory" in lines[0]


def test_cache_dir_below_a_file(tmp_path, capsys, small):
    (tmp_path / "file").write_text("")
    code, _, err = run(capsys, "load", small, "--cache-dir", str(tmp_path / "file" / "cache"))
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert repr(str(tmp_path / "file")) in err and "not a directory" in err


def test_cache_commands_refuse_a_file_cache_dir(tmp_path, capsys):
    bad = tmp_path / "cache"
    bad.write_text("")
    for cmd in ("stats", "clear"):
        code, _, err = run(capsys, "cache", cmd, "--cache-dir", str(bad))
        assert code == 2 and repr(str(bad)) in err and "not a directory" in err
    assert bad.read_text() == ""


# --- 2. peak RSS is the OS's high-water mark -------------------------------------


def _vm_hwm_bytes(status_text: str) -> int:
    for line in status_text.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


_RUN_AND_REPORT_HWM = """
import sys
from zako.cli import main
code = main(sys.argv[1:])
with open("/proc/self/status") as f:
    sys.stderr.write("\\nSTATUS\\n" + f.read())
sys.exit(code)
"""


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs /proc (Linux)")
@pytest.mark.parametrize("as_json", [False, True])
def test_peak_rss_is_the_process_high_water_mark(tmp_path, as_json):
    # Many targets from few evaluations: rendering the graph after the load
    # costs more memory than any single evaluation did, so a figure taken
    # before the output is written misses the real peak.
    n_pkgs, n_targets = 40, 300
    files = {}
    for i in range(n_pkgs):
        files[f"p{i:03d}/BUILD.js"] = IMPORT + textwrap.dedent(
            f"""
            for (let i = 0; i < {n_targets}; i++) {{
              target({{ name: "t" + i, kind: "k", deps: i ? [":t" + (i - 1)] : [],
                        attrs: {{ i, tags: ["a" + i, "b" + i, "c" + i, "d" + i], opts: {{ x: i, y: [i, i + 1] }} }} }});
            }}
            """
        )
    root = make_project(tmp_path / "p", files)
    cache = str(tmp_path / "cache")
    argv = ["load", root, "--cache-dir", cache, "--jobs", "2"] + (["--json"] if as_json else [])
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    subprocess.run([sys.executable, "-c", _RUN_AND_REPORT_HWM, *argv], capture_output=True, check=True, env=env)
    proc = subprocess.run([sys.executable, "-c", _RUN_AND_REPORT_HWM, *argv], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    hwm = _vm_hwm_bytes(proc.stderr.split("\nSTATUS\n", 1)[1])
    if as_json:
        doc = json.loads(proc.stdout)
        assert doc["stats"]["cache_hits"] == n_pkgs
        reported = doc["stats"]["peak_rss_bytes"]
    else:
        line = next(l for l in proc.stdout.splitlines() if "peak RSS" in l)
        assert line.split()[-1] == "MiB"
        reported = float(line.split()[-2]) * (1 << 20)
    # The figure is the OS's high-water mark when it is printed: what is
    # allocated after that (closing the pools) is small.
    assert reported <= hwm * 1.01
    assert reported >= hwm * 0.97, (reported / (1 << 20), hwm / (1 << 20))


_BIG_PARENT = """
import subprocess, sys
big = bytearray(256 << 20)
for i in range(0, len(big), 4096):
    big[i] = 1
proc = subprocess.run([sys.executable, "-c", sys.argv[1], *sys.argv[2:]], capture_output=True, text=True)
sys.stdout.write(proc.stdout)
sys.stderr.write(proc.stderr)
sys.exit(proc.returncode)
"""


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs /proc (Linux)")
def test_peak_rss_is_not_the_parent_process_memory(tmp_path, small):
    # Linux keeps ru_maxrss across exec: a zako started by a process holding
    # 256 MiB must still report its own peak.
    argv = ["load", small, "--cache-dir", str(tmp_path / "cache"), "--jobs", "1"]
    proc = subprocess.run([sys.executable, "-c", _BIG_PARENT, _RUN_AND_REPORT_HWM, *argv], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    hwm = _vm_hwm_bytes(proc.stderr.split("\nSTATUS\n", 1)[1])
    line = next(l for l in proc.stdout.splitlines() if "peak RSS" in l)
    reported = float(line.split()[-2]) * (1 << 20)
    assert hwm < 200 << 20
    assert hwm * 0.97 <= reported <= hwm * 1.01, (reported / (1 << 20), hwm / (1 << 20))


def test_peak_rss_reader_matches_vmhwm():
    from zako.project.load import peak_rss_bytes

    if not os.path.exists("/proc/self/status"):
        pytest.skip("needs /proc (Linux)")
    with open("/proc/self/status") as f:
        before = _vm_hwm_bytes(f.read())
    got = peak_rss_bytes()
    with open("/proc/self/status") as f:
        after = _vm_hwm_bytes(f.read())
    assert before <= got <= after


def test_memory_report_peak_is_the_same_high_water_mark(state):
    if not os.path.exists("/proc/self/status"):
        pytest.skip("needs /proc (Linux)")
    with open("/proc/self/status") as f:
        before = _vm_hwm_bytes(f.read())
    got = state.memory_report()["process"]["peak_rss_bytes"]
    with open("/proc/self/status") as f:
        after = _vm_hwm_bytes(f.read())
    assert before <= got <= after


# --- 3. dependency cycles ----------------------------------------------------------


def test_self_dependency_is_a_cycle(tmp_path, state):
    root = make_project(tmp_path / "p", {"BUILD.ts": IMPORT + '\ntarget({ name: "x", kind: "k",\n  deps: [":x"] });\n'})
    with pytest.raises(LoadFailed) as info:
        state.load(root)
    (p,) = info.value.problems
    assert p.kind == "cycle"
    assert p.message == "cycle in dependency graph: //:x -> //:x"
    assert (p.file, p.line) == ("BUILD.ts", 4)


def test_cycle_across_packages_in_order_with_closing_dep(tmp_path, state):
    root = make_project(
        tmp_path / "p",
        {
            "a/BUILD.ts": IMPORT + 'target({ name: "x", kind: "k", deps: ["//b:y"] });\n',
            "b/BUILD.ts": IMPORT + 'target({ name: "y", kind: "k", deps: ["//c:z"] });\n',
            "c/BUILD.ts": IMPORT + '// the dep that closes it\ntarget({ name: "z", kind: "k",\n  deps: ["//d:free", "//a:x"] });\n',
            "d/BUILD.ts": IMPORT + 'target({ name: "free", kind: "k" });\n',
        },
    )
    with pytest.raises(LoadFailed) as info:
        state.load(root)
    (p,) = info.value.problems
    assert p.kind == "cycle"
    assert p.message == "cycle in dependency graph: //a:x -> //b:y -> //c:z -> //a:x"
    assert (p.file, p.line) == ("c/BUILD.ts", 4)
    assert p.format().count("\n") == 0


def test_each_cycle_reported_once_keep_going_keeps_graph(tmp_path, state):
    root = make_project(
        tmp_path / "p",
        {
            # two cycles through one component: one report for it
            "a/BUILD.ts": IMPORT + 'target({ name: "a", kind: "k", deps: [":b", "//c:c"] });\n'
            'target({ name: "b", kind: "k", deps: [":a"] });\n',
            "c/BUILD.ts": IMPORT + 'target({ name: "c", kind: "k", deps: ["//a:a"] });\n',
            # a separate component
            "e/BUILD.ts": IMPORT + 'target({ name: "e", kind: "k", deps: [":f"] });\ntarget({ name: "f", kind: "k", deps: [":e"] });\n',
            # a diamond is not a cycle
            "g/BUILD.ts": IMPORT + 'target({ name: "top", kind: "k", deps: [":l", ":r"] });\n'
            'target({ name: "l", kind: "k", deps: [":bottom"] });\ntarget({ name: "r", kind: "k", deps: [":bottom"] });\n'
            'target({ name: "bottom", kind: "k" });\n',
        },
    )
    result = state.load(root, keep_going=True)
    cycles = [p for p in result.problems if p.kind == "cycle"]
    assert len(cycles) == 2 and len(result.problems) == 2
    first, second = (p.message.split(": ", 1)[1].split(" -> ") for p in cycles)
    assert first[0] == first[-1] == "//a:a" and set(first) <= {"//a:a", "//a:b", "//c:c"}
    assert second == ["//e:e", "//e:f", "//e:e"]
    assert result.stats["packages"] == 4 and result.stats["targets"] == 9


def test_cli_cycle_exit_status_and_keep_going_graph(tmp_path, capsys):
    root = make_project(tmp_path / "p", {"BUILD.ts": IMPORT + 'target({ name: "x", kind: "k", deps: [":y"] });\ntarget({ name: "y", kind: "k", deps: [":x"] });\n'})
    cache = str(tmp_path / "cache")
    code, out, err = run(capsys, "load", root, "--cache-dir", cache)
    assert code == 1
    assert "BUILD.ts:3: error[cycle]: cycle in dependency graph: //:x -> //:y -> //:x" in err
    code, out, err = run(capsys, "load", root, "--cache-dir", cache, "--keep-going", "--json")
    assert code == 1
    doc = json.loads(out)
    assert [t["label"] for t in doc["packages"][0]["targets"]] == ["//:x", "//:y"]
    assert [e["kind"] for e in doc["errors"]] == ["cycle"]
    assert "error[cycle]" in err


def test_cycle_finder_is_linear_and_not_recursive():
    from zako.project.cycles import find_cycles

    n = 200_000  # far past any recursion limit
    succ = [[i + 1] for i in range(n - 1)] + [[0]]
    (cycle,) = find_cycles(succ)
    assert cycle == list(range(n))
    # a long chain feeding a self loop, plus a dense acyclic part
    succ = [[i + 1] for i in range(n - 1)] + [[n - 1]]
    assert find_cycles(succ) == [[n - 1]]
    dag = [[j for j in range(i + 1, min(i + 6, 5000))] for i in range(5000)]
    assert find_cycles(dag) == []


def test_cycle_finder_one_shortest_cycle_per_component():
    from zako.project.cycles import find_cycles

    # 0 -> 1 -> 2 -> 3 -> 0 and the chord 0 -> 3: one component, the
    # reported cycle is the shortest through its first node
    succ = [[1, 3], [2], [3], [0], [4]]
    assert find_cycles(succ) == [[0, 3], [4]]


# --- 4. srcs through symlinks that leave the project ---------------------------


def _linked_project(tmp_path, srcs):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("s")
    root = make_project(
        tmp_path / "p",
        {
            "pkg/BUILD.ts": IMPORT + f'\ntarget({{ name: "t", kind: "x", srcs: {srcs} }});\n',
            "pkg/ok.txt": "",
            "shared/data.txt": "",
        },
    )
    os.symlink(outside / "secret.txt", tmp_path / "p" / "pkg" / "leak.txt")
    os.symlink(os.path.join("..", "shared", "data.txt"), tmp_path / "p" / "pkg" / "inside.txt")
    return root


@pytest.mark.parametrize("srcs", ['["leak.txt"]', 'glob(["*.txt"])'])
def test_src_symlink_outside_root_is_refused(tmp_path, state, srcs):
    root = _linked_project(tmp_path, srcs)
    with pytest.raises(LoadFailed) as info:
        state.load(root)
    (p,) = info.value.problems
    assert p.kind == "bad-path" and (p.file, p.line) == ("pkg/BUILD.ts", 3)
    real_root = os.path.realpath(root)
    assert "//pkg:t" in p.message
    assert f"'leak.txt' is a link to {os.path.realpath(tmp_path / 'outside' / 'secret.txt')!r}" in p.message
    assert f"outside the project root {real_root!r}" in p.message


def test_src_symlink_inside_root_is_accepted(tmp_path, state):
    root = _linked_project(tmp_path, '["inside.txt", "ok.txt"]')
    result = state.load(root)
    (pkg,) = [p for p in result.to_json(state.interner)["packages"] if p["path"] == "pkg"]
    assert pkg["targets"][0]["srcs"] == ["pkg/inside.txt", "pkg/ok.txt"]


def test_glob_excluding_the_outside_link_is_fine(tmp_path, state):
    root = _linked_project(tmp_path, 'glob(["*.txt"], { exclude: ["leak.txt"] })')
    result = state.load(root)
    assert result.ok


# --- 5. control characters in printed paths ------------------------------------


def test_problem_format_escapes_control_characters():
    p = Problem("bad-path", "we\nird/\x1b[31mBUILD.ts", 3, "target //x:y: bad")
    text = p.format()
    assert "\n" not in text and "\x1b" not in text
    assert text.startswith(repr("we\nird/\x1b[31mBUILD.ts") + ":3: error[bad-path]: ")
    # ordinary paths are printed as they are
    assert Problem("bad-path", "a b/BUILD.ts", None, "m").format() == "a b/BUILD.ts: error[bad-path]: m"
    assert Problem("bad-path", "é/BUILD.ts", 2, "m").format() == "é/BUILD.ts:2: error[bad-path]: m"


def test_problem_message_control_characters_are_escaped():
    text = Problem("script-error", "BUILD.ts", 1, "bad\x1b[2Jthing\x07").format(with_stack=False)
    assert "\x1b" not in text and "\x07" not in text and "\\x1b[2Jthing\\x07" in text


def test_stack_lines_cannot_drive_the_terminal():
    p = Problem("script-error", "BUILD.ts", 1, "boom", stack="Error: boom\n    at f (a\x1b[2Jb.ts:3:1)\n")
    lines = p.format().splitlines()
    assert len(lines) == 3 and "\x1b" not in p.format()
    assert lines[2] == "        at f (a\\x1b[2Jb.ts:3:1)"


def test_cli_escapes_control_characters_in_paths(tmp_path, capsys):
    root = make_project(tmp_path / "p", {"ok/BUILD.ts": IMPORT + 'target({ name: "a", kind: "x" });\n'})
    bad_dir = os.path.join(root, "bad\x1bdir")
    os.makedirs(bad_dir)
    with open(os.path.join(bad_dir, "BUILD.ts"), "w") as f:
        f.write(IMPORT + 'target({ name: "a", kind: "x" });\n')
    code, out, err = run(capsys, "load", root, "--cache-dir", str(tmp_path / "cache"), "--keep-going")
    assert code == 1
    assert "\x1b" not in err
    problem_lines = [line for line in err.splitlines() if "error[" in line]
    assert len(problem_lines) == 1 and problem_lines[0].startswith(repr("bad\x1bdir/BUILD.ts") + ": error[bad-path]")


def test_cache_stats_escapes_control_characters(tmp_path, capsys):
    cache = tmp_path / "ca\nche"
    code, out, _ = run(capsys, "cache", "stats", "--cache-dir", str(cache))
    assert code == 0
    assert out.splitlines()[0] == "cache dir     " + repr(str(cache))
    code, out, _ = run(capsys, "cache", "clear", "--cache-dir", str(cache))
    assert code == 0 and out.count("\n") == 1 and repr(str(cache)) in out
