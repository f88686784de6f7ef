"""The original Zako's command-line conventions: -C, @argfiles,
``zako information``, ``zako completion``, ``--config``."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from zako import __version__
from zako.cli import build_parser, main

from project_tree import make_project


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_dash_c_runs_as_if_started_there_and_restores_cwd(capsys, tmp_path):
    make_project(tmp_path / "p", {"BUILD.ts": 'import { target } from "zako:build";\ntarget({ name: "a", kind: "k" });\n'})
    here = os.getcwd()
    code, out, err = run(capsys, "-C", str(tmp_path), "load", "p", "--json", "--cache-dir", "cache")
    assert code == 0, err
    assert json.loads(out)["packages"][0]["targets"][0]["label"] == "//:a"
    assert os.getcwd() == here and (tmp_path / "cache").is_dir()
    code, _, err = run(capsys, "-C", str(tmp_path / "missing"), "version")
    assert code == 2 and err.startswith("zako: -C ") and "No such file or directory" in err


def test_argfile_one_argument_per_line(capsys, tmp_path):
    make_project(tmp_path / "p", {"BUILD.ts": 'import { target } from "zako:build";\ntarget({ name: "a b", kind: "k" });\n'})
    (tmp_path / "args").write_text(f"load\n{tmp_path / 'p'}\n--keep-going\n--cache-dir\n{tmp_path / 'cache'}\n")
    code, _, err = run(capsys, f"@{tmp_path / 'args'}")
    assert code == 1 and "invalid name \"a b\"" in err  # the load ran, --keep-going included


def test_information_text_and_json(capsys, tmp_path):
    code, out, _ = run(capsys, "information", "--json", "--cache-dir", str(tmp_path / "c"))
    assert code == 0
    info = json.loads(out)
    from py_mini_racer import MiniRacer

    import zako

    assert info["zako"] == __version__ and info["v8"] == MiniRacer().v8_version
    assert info["kernels"]["implementation"] == zako.IMPLEMENTATION
    assert info["cache_dir"] == str(tmp_path / "c") and info["limits"]["cpus"] >= 1
    assert "zako:package" in info["builtins"] and "zako:semver" in info["builtins"]
    code, text, _ = run(capsys, "information", "--cache-dir", str(tmp_path / "c"))
    assert code == 0 and f"zako          {__version__}" in text and f"V8            {info['v8']}" in text


def every_flag(parser) -> set[str]:
    import argparse

    out = set()
    for action in parser._actions:
        out.update(a for a in action.option_strings)
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                out |= every_flag(sub)
    return out


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_names_every_flag(capsys, shell):
    code, out, _ = run(capsys, "completion", shell)
    assert code == 0
    flags = every_flag(build_parser())
    assert "--config" in flags and "-C" in flags
    for flag in flags:
        spelled = flag if shell != "fish" else ("-l " + flag[2:] if flag.startswith("--") else "-s " + flag[1:])
        assert spelled in out, flag


def complete(script: str, words: list[str]) -> list[str]:
    cmd = f'source "$1"; COMP_WORDS=({" ".join(repr(w) for w in words)}); COMP_CWORD={len(words) - 1}; ' \
          '_zako_complete; printf "%s\\n" "${COMPREPLY[@]}"'
    proc = subprocess.run(["bash", "-c", cmd, "bash", script], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.split()


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_bash_completion_runs(capsys, tmp_path):
    run(capsys, "completion", "bash")
    script = tmp_path / "zako.bash"
    code = main(["completion", "bash"])
    script.write_text(capsys.readouterr().out)
    assert code == 0
    assert complete(str(script), ["zako", "ca"]) == ["cache"]
    assert complete(str(script), ["zako", "load", "--isolation", ""]) == ["realm", "isolate"]
    assert complete(str(script), ["zako", "cache", "st"]) == ["stats"]
    assert "--json" in complete(str(script), ["zako", "cache", "stats", "--"])
    assert complete(str(script), ["zako", "completion", "f"]) == ["fish"]


@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_other_shells_parse_it(capsys, tmp_path, shell):
    exe = shutil.which(shell)
    if exe is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true and {shell} is not installed (.ci/run installs it)")
        pytest.skip(f"{shell} is not installed")
    code = main(["completion", shell])
    path = tmp_path / f"zako.{shell}"
    path.write_text(capsys.readouterr().out)
    proc = subprocess.run([exe, "-n", str(path)], capture_output=True, text=True, timeout=30)
    assert code == 0 and proc.returncode == 0, proc.stderr


def test_completion_of_an_unknown_shell_is_a_usage_error(capsys):
    code, _, err = run(capsys, "completion", "tcsh")
    assert code == 2 and "invalid choice: 'tcsh'" in err


def test_bad_config_pair_is_a_usage_error(capsys, tmp_path):
    code, _, err = run(capsys, "load", str(tmp_path), "--config", "novalue")
    assert code == 2 and "expected NAME=VALUE, got 'novalue'" in err


def test_python_dash_m_with_dash_c(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "zako", "-C", str(tmp_path), "version"], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout.startswith(f"zako {__version__}")
