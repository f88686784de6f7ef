"""Rendering a load: the text summary, the JSON document, the stats document, a plain progress bar."""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any, TextIO

from .errors import show_path
from .model import LoadResult

__all__ = ["format_bytes", "format_summary", "format_problems", "to_json_text", "write_json", "stats_document",
           "write_stats_json", "STATS_SCHEMA", "ProgressBar"]


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
        *([f"  rules         {len(result.rules)}"] if result.rules is not None else []),
        *([f"  toolchains    {len(result.toolchains)}"] if result.toolchains is not None else []),
        *([f"  dependencies  " + ", ".join(f"@{name} ({len(dep.packages)} packages)"
                                          for name, dep in sorted(result.dependencies.items()))]
          if result.dependencies else []),
        f"  cache hits    {s['cache_hits']}/{s['scripts']} scripts ({s['evaluated']} evaluated)",
        f"  wall time     {s['wall_time_s']:.2f} s",
        f"  peak RSS      {format_bytes(s['peak_rss_bytes'])}",
        f"  interner      {s['interner_strings']} strings, {format_bytes(s['interner_bytes'])}",
        f"  peak V8 heap  {format_bytes(s['peak_v8_heap_bytes']) if s['evaluated'] else 'n/a (nothing evaluated)'}",
    ]
    if s.get("remote_cache"):
        from ..cas.redact import redact_text

        # Already redacted where it was built; the summary is where a leak would show.
        lines.append(f"  remote cache  {redact_text(s['remote_cache'])}")
    if verbose:
        lines.append(f"  jobs          {s.get('jobs')}")
        lines.append(f"  files hashed  {s.get('files_hashed')}")
        if result.evaluated:
            lines.append("  evaluated:")
            lines.extend(f"    {show_path(path)}" for path in result.evaluated)
    return "\n".join(lines)


STATS_SCHEMA = "zako.load.stats/1"


def stats_document(result: LoadResult, state: Any) -> dict[str, Any]:
    """The figures of the summary as one JSON-ready dict (``zako load
    --stats-json``); the schema, ``STATS_SCHEMA``, is documented in
    ``docs/cli.md``. A figure nobody measured is null, never a guess.
    ``memory.peak_rss_bytes`` is the process's peak when this is called."""
    from .load import peak_rss_bytes

    s = result.stats
    p = result.project
    ac = getattr(state, "action_cache", None)
    remote = None
    if getattr(ac, "remote", None) is not None:
        from ..cas.redact import redact_text, redact_url

        url, error = getattr(state, "remote_cache", None), getattr(ac, "remote_error", None)
        remote = {"url": redact_url(url) if url else None, "hits": s.get("remote_hits"),
                  "uploads": getattr(ac, "remote_puts", None), "error": redact_text(error) if error else None}
    cpu = os.times()
    memory = state.memory_report() if state is not None else {}
    return {
        "schema": STATS_SCHEMA,
        "project": {"group": p.get("group"), "artifact": p.get("artifact"), "version": p.get("version")},
        "ok": not result.problems,
        "errors": s["errors"],
        "packages": s["packages"],
        "targets": s["targets"],
        "source_files": s["source_files"],
        "time": {"wall_s": s["wall_time_s"], "process_cpu_s": round(cpu.user + cpu.system, 4)},
        "cache": {"scripts": s["scripts"], "hits": s["cache_hits"], "evaluated": s["evaluated"],
                  "files_hashed": s.get("files_hashed"), "remote": remote},
        "memory": {"peak_rss_bytes": max(s.get("peak_rss_bytes") or 0, peak_rss_bytes()),
                   "rss_bytes": memory.get("process", {}).get("rss_bytes")},
        "interner": {"strings": s["interner_strings"], "bytes": s["interner_bytes"]},
        "v8": {"peak_heap_bytes": s["peak_v8_heap_bytes"] if s["evaluated"] else None,
               "heap_limit_bytes": memory.get("v8", {}).get("heap_limit_bytes"),
               "jobs": s.get("jobs")},
    }


def write_stats_json(path: str, result: LoadResult, state: Any) -> None:
    """Write ``stats_document`` to ``path`` (through a temporary file: a
    dashboard polling it never reads half a document)."""
    text = json.dumps(stats_document(result, state), indent=2) + "\n"
    tmp = f"{path}.tmp-{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def format_problems(problems: list, *, with_stack: bool = True) -> str:
    return "\n".join(p.format(with_stack=with_stack) for p in problems)


def to_json_text(result: LoadResult, interner: Any) -> str:
    return json.dumps(result.to_json(interner), indent=2, ensure_ascii=False)


def write_json(result: LoadResult, interner: Any, stream: TextIO, *, batch: int = 4096) -> None:
    """Write the JSON document of ``result`` to ``stream`` with a newline:
    exactly the text of ``json.dumps(result.to_json(interner), indent=2,
    ensure_ascii=False)``.

    The document of a large graph is the biggest thing a ``zako load
    --json`` holds, so packages are made into dicts one at a time as they
    are written, and the text goes out in batches of ``batch`` pieces rather
    than as one string as large as the output. ``stats.peak_rss_bytes`` is
    read again when the stats are written, after the packages (the figure
    must be the process's peak, not the load's).
    """
    from .load import peak_rss_bytes

    out = _Pieces(stream, batch)
    w = out.append
    w("{")
    first = True
    for key, value in result.json_items(interner):
        w("\n  " + _encode_str(key) + ": " if first else ",\n  " + _encode_str(key) + ": ")
        first = False
        if key == "packages":
            _write_iter(value, 2, out)
            continue
        if key == "stats" and isinstance(value, dict) and "peak_rss_bytes" in value:
            value["peak_rss_bytes"] = max(value["peak_rss_bytes"] or 0, peak_rss_bytes())
        _write_value(value, 2, out)
    w("\n}\n" if not first else "}\n")
    out.flush()


class _Pieces(list):
    """Text pieces, written to the stream whenever ``batch`` have gathered."""

    def __init__(self, stream: TextIO, batch: int) -> None:
        super().__init__()
        self.stream = stream
        self.batch = max(batch, 1)

    def check(self) -> None:
        if len(self) >= self.batch:
            self.flush()

    def flush(self) -> None:
        if self:
            self.stream.write("".join(self))
            self.clear()


# json.dumps(indent=2) is the pure-Python encoder (the C one has no indent):
# a generator per container, every piece passed up through each enclosing
# one. The writer below makes the same text with one call per container and
# the C string encoder. It follows json.encoder._make_iterencode's rules.
_encode_str = json.encoder.encode_basestring
_INF = float("inf")


def _float_text(o: float) -> str:
    if o != o:
        return "NaN"
    if o == _INF:
        return "Infinity"
    if o == -_INF:
        return "-Infinity"
    return float.__repr__(o)


def _scalar(o: Any) -> str | None:
    """The text of a JSON scalar, or None for anything else."""
    if isinstance(o, str):
        return _encode_str(o)
    if o is None:
        return "null"
    if o is True:
        return "true"
    if o is False:
        return "false"
    if isinstance(o, int):
        return int.__repr__(o)
    if isinstance(o, float):
        return _float_text(o)
    return None


def _write_value(o: Any, level: int, out: _Pieces) -> None:
    text = _scalar(o)
    if text is not None:
        out.append(text)
    elif isinstance(o, (list, tuple)):
        _write_list(o, level, out)
    elif isinstance(o, dict):
        _write_dict(o, level, out)
    else:
        raise TypeError(f"Object of type {o.__class__.__name__} is not JSON serializable")


def _write_list(o: list | tuple, level: int, out: _Pieces) -> None:
    if not o:
        out.append("[]")
        return
    inner = "\n" + "  " * level
    if all(type(x) is str for x in o):  # srcs, deps: one join
        out.append("[" + inner + ("," + inner).join(map(_encode_str, o)) + "\n" + "  " * (level - 1) + "]")
        return
    _write_iter(iter(o), level, out)


def _write_iter(items: Any, level: int, out: _Pieces) -> None:
    inner = "\n" + "  " * level
    sep = "[" + inner
    for item in items:
        out.append(sep)
        sep = "," + inner
        _write_value(item, level + 1, out)
        out.check()
    out.append("[]" if sep[0] == "[" else "\n" + "  " * (level - 1) + "]")


def _write_dict(o: dict, level: int, out: _Pieces) -> None:
    if not o:
        out.append("{}")
        return
    inner = "\n" + "  " * level
    sep = "{" + inner
    for key, value in o.items():
        if isinstance(key, str):
            pass
        elif isinstance(key, float):
            key = _float_text(key)
        elif key is True:
            key = "true"
        elif key is False:
            key = "false"
        elif key is None:
            key = "null"
        elif isinstance(key, int):
            key = int.__repr__(key)
        else:
            raise TypeError(f"keys must be str, int, float, bool or None, not {key.__class__.__name__}")
        text = _scalar(value)
        if text is not None:
            out.append(sep + _encode_str(key) + ": " + text)
        else:
            out.append(sep + _encode_str(key) + ": ")
            _write_value(value, level + 1, out)
        sep = "," + inner
    out.append("\n" + "  " * (level - 1) + "}")


class ProgressBar:
    """``[#####     ] 120/1000 packages`` redrawn in place on a terminal.

    The command draws ``zako.project.progress.LoadProgress`` (tqdm, more
    figures); this dependency-free bar stays for library callers.

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
