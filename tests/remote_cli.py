"""Run ``zako load`` in a subprocess, the way a user does, for the auth, TLS and
secrets tests: what it prints on stdout and stderr is all captured, and the
environment (``HOME``, ``NETRC``) is the test's, not the machine's."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from zako.devtools import gentree

__all__ = ["Run", "run_zako", "make_tree", "clean_env", "warnings_of"]


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str

    @property
    def doc(self) -> dict:
        return json.loads(self.stdout)


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    """The current environment with ``HOME`` at ``home`` and no ``NETRC`` or
    ``ZAKO_CACHE_DIR`` leaking in from the machine."""
    env = {k: v for k, v in os.environ.items() if k not in ("NETRC", "ZAKO_CACHE_DIR")}
    env["HOME"] = str(home)
    env.update(extra)
    return env


def run_zako(args: list[str], env: dict[str, str], timeout: float = 120) -> Run:
    out = subprocess.run([sys.executable, "-m", "zako", *args], capture_output=True, text=True,
                         env=env, timeout=timeout)
    return Run(out.returncode, out.stdout, out.stderr)


def make_tree(path: Path, packages: int) -> str:
    gentree.generate(str(path), packages, libraries=2)
    return str(path)


def warnings_of(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("WARNING")]
