"""Live progress of ``zako load`` on a terminal, tested on a pseudo-terminal.

On a TTY a load still running after the delay draws one line with packages
done/total, evaluations per second, cache hits, workers busy, elapsed and
ETA; nothing on a pipe, nothing with ``--quiet``, and a short load never
even imports tqdm.
"""

from __future__ import annotations

import os
import pty
import subprocess
import sys
import threading
from pathlib import Path

from zako.global_state import GlobalState
from zako.project.progress import LoadProgress

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = str(REPO / "examples" / "monorepo")


class Terminal:
    """A pseudo-terminal: ``slave`` to write to (a TTY), everything written read back by a thread."""

    def __init__(self) -> None:
        self.master, self.slave_fd = pty.openpty()
        self.slave = os.fdopen(self.slave_fd, "w", buffering=1, closefd=False)
        self._chunks: list[bytes] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                data = os.read(self.master, 65536)
            except OSError:  # the slave side closed
                return
            if not data:
                return
            self._chunks.append(data)

    def close(self) -> str:
        self.slave.close()
        os.close(self.slave_fd)
        self._reader.join(10)
        os.close(self.master)
        return b"".join(self._chunks).decode("utf-8", "replace")


def figures_shown(text: str) -> None:
    for part in ("packages", "eval/s", "cache hits", "workers busy", "elapsed", "ETA"):
        assert part in text, (part, text[-500:])


def test_progress_line_on_a_terminal(tmp_path):
    term = Terminal()
    with GlobalState(cache_dir=tmp_path / "c", jobs=1) as state:
        progress = LoadProgress(state, stream=term.slave, delay_s=0, interval_s=0.01)
        assert progress.enabled
        result = state.load(EXAMPLE, use_cache=False, progress=progress.update)
        figures = progress.figures()
        progress.close()
    text = term.close()
    assert result.ok
    figures_shown(text)
    assert "/24 packages" in text
    # what the line is drawn from, at the end of the load
    assert figures["done"] == figures["total"] == 24
    assert figures["evaluated"] == 24 and figures["cache_hits"] == 0  # build files only: zako.ts came first
    assert figures["evals_per_s"] > 0 and figures["live"] >= 1


def test_cache_hits_are_counted_on_a_warm_load(tmp_path):
    with GlobalState(cache_dir=tmp_path / "c", jobs=1) as state:
        state.load(EXAMPLE)
        term = Terminal()
        progress = LoadProgress(state, stream=term.slave, delay_s=0, interval_s=0.01)
        state.load(EXAMPLE, progress=progress.update)
        figures = progress.figures()
        progress.close()
        term.close()
    assert figures["cache_hits"] == 24 and figures["evaluated"] == 0


def test_nothing_when_not_a_terminal(tmp_path):
    r, w = os.pipe()
    with os.fdopen(w, "w") as pipe, GlobalState(cache_dir=tmp_path / "c", jobs=1) as state:
        progress = LoadProgress(state, stream=pipe, delay_s=0, interval_s=0.01)
        assert not progress.enabled
        state.load(EXAMPLE, use_cache=False, progress=progress.update)
        progress.close()
        assert progress._thread is None  # no redraw thread was ever started
    with os.fdopen(r) as f:
        assert f.read() == ""


def run_on_terminal(*argv: str, code: str | None = None) -> tuple[int, str]:
    """``python -m zako ARGV`` (or ``python -c CODE``) with stdout and stderr on a pseudo-terminal."""
    term = Terminal()
    cmd = [sys.executable, "-c", code, *argv] if code else [sys.executable, "-m", "zako", *argv]
    proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=term.slave_fd, stderr=term.slave_fd,
                          cwd=str(REPO), timeout=300)
    return proc.returncode, term.close()


def slow_tree(root: Path, packages: int) -> None:
    """Build files that each spin V8 for a while: the load outlasts the
    progress line's delay however fast the machine."""
    root.mkdir()
    (root / "zako.json").write_text('{"group": "g", "artifact": "slow", "version": "1.0.0"}')
    for i in range(packages):
        (root / f"p{i}").mkdir()
        (root / f"p{i}" / "BUILD.js").write_text(
            'import { target } from "zako:build";\n'
            "let x = 0; for (let i = 0; i < 5e7; i++) x = (x + i) % 1000003;\n"
            'target({ name: "t" + x, kind: "k" });\n')


def test_cli_draws_progress_for_a_long_load_and_not_with_quiet(tmp_path):
    tree = tmp_path / "tree"
    slow_tree(tree, 8)
    code, text = run_on_terminal("load", str(tree), "--no-cache", "-j", "1", "--cache-dir", str(tmp_path / "c"))
    assert code == 0, text
    figures_shown(text)
    assert "/8 packages" in text
    assert "\r" in text  # redrawn in place
    assert "packages      8" in text  # and the summary follows

    code, text = run_on_terminal("load", str(tree), "--no-cache", "-j", "1", "-q", "--cache-dir", str(tmp_path / "c"))
    assert code == 0 and text == ""


def test_a_short_load_on_a_terminal_never_imports_tqdm(tmp_path):
    cache = str(tmp_path / "c")
    code, text = run_on_terminal(EXAMPLE, cache, code=(
        "import sys; from zako.cli import main\n"
        "assert sys.stderr.isatty()\n"
        "assert main(['load', sys.argv[1], '--cache-dir', sys.argv[2], '-q']) == 0\n"  # fill the cache
        "assert main(['load', sys.argv[1], '--cache-dir', sys.argv[2]]) == 0\n"  # a warm load, on a TTY
        "print('tqdm imported:', 'tqdm' in sys.modules)\n"))
    assert code == 0, text
    assert "25/25 scripts (0 evaluated)" in text
    assert "tqdm imported: False" in text
