"""Live progress of a ``zako load`` on a terminal (drawn with tqdm).

One line, redrawn in place on stderr: packages done / total, evaluations
per second, cache hits, V8 workers busy, elapsed and ETA.

Costs, measured (see ``docs/cli.md``): the loader thread only stores two
ints per finished package (``update``); a daemon thread redraws every
``interval_s``. Nothing is drawn, and tqdm is not even imported, unless the
stream is a terminal *and* the load is still running after ``delay_s``:
``import tqdm`` costs 40-100 ms on this project's 2-core machine, more
than a whole warm load of the example monorepo (about 20 ms), and a load
that short needs no progress line anyway.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import Any, TextIO

__all__ = ["LoadProgress"]


class LoadProgress:
    """``progress = LoadProgress(state); state.load(root, progress=progress.update); progress.close()``.

    ``state`` is the ``GlobalState`` whose V8 pool is watched (workers busy,
    evaluations finished). ``enabled`` is False, and every method a no-op,
    when ``stream`` (default stderr) is not a terminal.
    """

    def __init__(self, state: Any, *, stream: TextIO | None = None, delay_s: float = 0.5,
                 interval_s: float = 0.1) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.state = state
        self.delay_s = delay_s
        self.interval_s = interval_s
        try:
            self.enabled = bool(self.stream.isatty())
        except (AttributeError, ValueError):
            self.enabled = False
        self.done = 0
        self.total = 0
        self._t0: float | None = None  # time.time() of the first update
        self._pool0: tuple[int, int] = (0, 0)  # pool (done, failed) when the build files started
        self._bar: Any = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def update(self, done: int, total: int) -> None:
        """The ``progress`` callback of ``load_project``: packages done of total."""
        if not self.enabled:
            return
        if self._t0 is None:
            # The package script has been evaluated by now: evaluations from
            # here on are build files, and every other finished package a hit.
            self._t0 = time.time()
            self._pool0 = self._pool_counts()
            self._thread = threading.Thread(target=self._run, name="zako-progress", daemon=True)
            self._thread.start()
        self.done = done
        self.total = total

    def _pool_counts(self) -> tuple[int, int]:
        try:
            s = self.state.v8_pool.stats()
        except Exception:  # noqa: BLE001 - a closed pool: no figures, still progress
            return self._pool0
        return s["jobs_done"], s["jobs_failed"]

    def figures(self) -> dict[str, float]:
        """What the line shows, as numbers: ``done``, ``total``,
        ``evaluated`` (build files evaluated so far), ``cache_hits``,
        ``evals_per_s``, ``busy``, ``live`` (V8 workers), ``elapsed_s``."""
        elapsed = time.time() - self._t0 if self._t0 is not None else 0.0
        busy = live = 0
        try:
            s = self.state.v8_pool.stats()
            busy, live = s["busy_workers"], s["live_workers"]
            evaluated = (s["jobs_done"] - self._pool0[0]) + (s["jobs_failed"] - self._pool0[1])
        except Exception:  # noqa: BLE001
            evaluated = 0
        done = self.done
        return {"done": done, "total": self.total, "evaluated": evaluated,
                "cache_hits": max(done - evaluated, 0), "evals_per_s": evaluated / elapsed if elapsed > 0 else 0.0,
                "busy": busy, "live": live, "elapsed_s": elapsed}

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            if self._t0 is not None and time.time() - self._t0 >= self.delay_s:
                self.draw()

    def draw(self) -> None:
        """Redraw the line now (the thread does this every ``interval_s``)."""
        with self._lock:
            if self._stop.is_set() or not self.enabled:
                return
            f = self.figures()
            bar = self._bar
            if bar is None:
                from tqdm import tqdm  # only now: see the module docstring

                bar = self._bar = tqdm(
                    total=f["total"], file=self.stream, unit="pkg", leave=False,
                    **({"dynamic_ncols": True} if self._has_width() else {"ncols": 120, "nrows": 24}),
                    smoothing=0, mininterval=0, miniters=0,
                    bar_format="{l_bar}{bar}| {n}/{total} packages{postfix} | {elapsed} elapsed, ETA {remaining}",
                    postfix=self._postfix(f),
                )
                bar.start_t = self._t0  # elapsed and ETA from the start of the load, not of the bar
            bar.total = f["total"]
            bar.n = f["done"]
            bar.set_postfix_str(self._postfix(f), refresh=False)
            bar.refresh()

    @staticmethod
    def _postfix(f: dict[str, float]) -> str:
        return f"{f['evals_per_s']:.0f} eval/s, {f['cache_hits']} cache hits, {f['busy']}/{f['live']} workers busy"

    def _has_width(self) -> bool:
        # A terminal that reports 0 columns (a fresh pseudo-terminal, some
        # CI consoles) would make tqdm fit the line into nothing: a fixed
        # width then.
        try:
            return os.get_terminal_size(self.stream.fileno()).columns > 0
        except (AttributeError, OSError, ValueError):
            return False

    def close(self) -> None:
        """Stop redrawing and erase the line (a finished load prints its summary there)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        with self._lock:
            if self._bar is not None:
                self._bar.close()
                self._bar = None
