"""Rendering a load: the text summary, the JSON document, the progress bar."""

from __future__ import annotations

import json
import sys
import time
from typing import Any, TextIO

from .errors import show_path
from .model import LoadResult

__all__ = ["format_bytes", "format_summary", "format_problems", "to_json_text", "write_json", "ProgressBar"]


def format_bytes(n: int | float | None) -> str:
    if n is None:
        return "n/a"
    n = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"  # pragma: no cover


def format_summary(result: LoadResult, *, verbose: bool = False) -> str:
    """A few aligned lines: what was loaded and what it cost."""
    s = result.stats
    p = result.project
    lines = [
        f"Loaded {p.get('group', '?')}:{p.get('artifact', '?')} {p.get('version', '?')}",
        f"  packages      {s['packages']}",
        f"  targets       {s['targets']}",
        f"  source files  {s['source_files']}",
        f"  cache hits    {s['cache_hits']}/{s['scripts']} scripts ({s['evaluated']} evaluated)",
        f"  wall time     {s['wall_time_s']:.2f} s",
        f"  peak RSS      {format_bytes(s['peak_rss_bytes'])}",
        f"  interner      {s['interner_strings']} strings, {format_bytes(s['interner_bytes'])}",
        f"  peak V8 heap  {format_bytes(s['peak_v8_heap_bytes']) if s['evaluated'] else 'n/a (nothing evaluated)'}",
    ]
    if s.get("remote_cache"):
        lines.append(f"  remote cache  {s['remote_cache']}")
    if verbose:
        lines.append(f"  jobs          {s.get('jobs')}")
        lines.append(f"  files hashed  {s.get('files_hashed')}")
        if result.evaluated:
            lines.append("  evaluated:")
            lines.extend(f"    {show_path(path)}" for path in result.evaluated)
    return "\n".join(lines)


def format_problems(problems: list, *, with_stack: bool = True) -> str:
    return "\n".join(p.format(with_stack=with_stack) for p in problems)


def to_json_text(result: LoadResult, interner: Any) -> str:
    return json.dumps(result.to_json(interner), indent=2, ensure_ascii=False)


def write_json(result: LoadResult, interner: Any, stream: TextIO, *, batch: int = 4096) -> None:
    """Write the JSON document of ``result`` to ``stream`` with a newline.

    The document of a large graph is the biggest thing a ``zako load
    --json`` holds, so ``stats.peak_rss_bytes`` is read again once it is
    built (the figure must be the process's peak, not the load's), and the
    text is written in batches of ``batch`` pieces rather than made into
    one string as large as the output.
    """
    from .load import peak_rss_bytes

    doc = result.to_json(interner)
    stats = doc.get("stats")
    if isinstance(stats, dict) and "peak_rss_bytes" in stats:
        stats["peak_rss_bytes"] = max(stats["peak_rss_bytes"] or 0, peak_rss_bytes())
    pieces: list[str] = []
    for piece in json.JSONEncoder(indent=2, ensure_ascii=False).iterencode(doc):
        pieces.append(piece)
        if len(pieces) >= batch:
            stream.write("".join(pieces))
            pieces.clear()
    pieces.append("\n")
    stream.write("".join(pieces))


class ProgressBar:
    """``[#####     ] 120/1000 packages`` redrawn in place on a terminal.

    Draws only when ``stream.isatty()`` (a log file or a pipe gets nothing)
    and at most every ``interval_s``; ``close`` erases the line.
    """

    def __init__(self, total: int, *, stream: TextIO | None = None, interval_s: float = 0.1, width: int = 30) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.total = max(total, 0)
        self.done = 0
        self.width = width
        self.interval_s = interval_s
        self._last = 0.0
        try:
            self.enabled = bool(self.stream.isatty())
        except (AttributeError, ValueError):
            self.enabled = False
        self._drawn = False

    def update(self, done: int, total: int) -> None:
        """Absolute progress: the ``progress`` callback of ``load_project``."""
        self.total = total
        self.advance(done - self.done)

    def advance(self, n: int = 1) -> None:
        self.done += n
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._last >= self.interval_s or self.done >= self.total:
            self._last = now
            self._draw()

    def _draw(self) -> None:
        frac = self.done / self.total if self.total else 1.0
        fill = int(frac * self.width)
        self.stream.write(f"\r[{'#' * fill}{' ' * (self.width - fill)}] {self.done}/{self.total} packages")
        self.stream.flush()
        self._drawn = True

    def close(self) -> None:
        if self.enabled and self._drawn:
            self.stream.write("\r" + " " * (self.width + 40) + "\r")
            self.stream.flush()
