"""Render a ``zako load --trace`` file as a PNG timeline, the way Perfetto
lays it out: one row per thread track with its slices (nested slices one
level lower), and the counters below.

    python3 tools/render_trace.py TRACE.json docs/trace-monorepo.png

A dev tool: needs matplotlib (``python3 -m pip install matplotlib``), which
is no dependency of zako.
"""

from __future__ import annotations

import argparse
import json
import sys

COLORS = {"eval": "#4c72b0", "package": "#55a868", "cache": "#c44e52", "glob": "#8172b2",
          "remote": "#ccb974", "job": "#64b5cd"}


def _depths(slices: list[dict]) -> list[int]:
    """Nesting depth of each slice of one track (slices sorted by start)."""
    stack: list[float] = []
    out = []
    for s in slices:
        while stack and stack[-1] <= s["ts"]:
            stack.pop()
        out.append(len(stack))
        stack.append(s["ts"] + s["dur"])
    return out


def render(events: list[dict], path: str, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    names = {e["tid"]: e["args"]["name"] for e in events if e["ph"] == "M" and e["name"] == "thread_name"}
    tracks: dict[int, list[dict]] = {}
    for e in events:
        if e["ph"] == "X":
            tracks.setdefault(e["tid"], []).append(e)
    counters: dict[str, list[tuple[float, dict]]] = {}
    for e in events:
        if e["ph"] == "C":
            counters.setdefault(e["name"], []).append((e["ts"] / 1000, e["args"]))
    waits = {}
    for e in events:
        if e["ph"] in ("b", "e") and e.get("cat") == "resource":
            waits.setdefault(e["id"], {})[e["ph"]] = e["ts"] / 1000

    order = sorted(tracks)
    fig, (ax, axc) = plt.subplots(2, 1, figsize=(13, 1.2 + 0.75 * len(order) + 2.2), sharex=True,
                                  gridspec_kw={"height_ratios": [max(len(order), 1) * 0.75, 2.2]})
    yticks, ylabels = [], []
    for row, tid in enumerate(order):
        slices = sorted(tracks[tid], key=lambda s: (s["ts"], -s["dur"]))
        y0 = len(order) - 1 - row
        for s, depth in zip(slices, _depths(slices)):
            # A nested slice is drawn lower than its parent, on the same row.
            h = 0.6 / (1 + depth)
            ax.broken_barh([(s["ts"] / 1000, max(s["dur"] / 1000, 0.05))], (y0 - 0.3, h),
                           facecolors=COLORS.get(s.get("cat"), "#999999"), edgecolor="white", linewidth=0.3)
        yticks.append(y0)
        ylabels.append(f"{names.get(tid, tid)} ({len(slices)})")
    ax.set_yticks(yticks, ylabels, fontsize=8)
    ax.set_title(title, fontsize=10)
    ax.legend(handles=[Patch(color=c, label=k) for k, c in COLORS.items() if any(
        s.get("cat") == k for t in tracks.values() for s in t)], loc="upper right", fontsize=7, ncols=6)
    ax.grid(axis="x", alpha=0.3)

    if "workers" in counters:
        ts = [t for t, _ in counters["workers"]]
        axc.step(ts, [a["busy"] for _, a in counters["workers"]], where="post", label="workers busy")
        axc.step(ts, [a["live"] for _, a in counters["workers"]], where="post", label="workers live")
    if "jobs" in counters:
        axc.step([t for t, _ in counters["jobs"]], [a["queued"] for _, a in counters["jobs"]], where="post",
                 label="jobs queued")
    if waits:
        axc.plot([], [], " ", label=f"{len(waits)} resource waits")
    axc.set_ylabel("count", fontsize=8)
    axc.legend(loc="upper left", fontsize=7)
    if "memory" in counters:
        axr = axc.twinx()
        axr.plot([t for t, _ in counters["memory"]], [a["rss_bytes"] / 2**20 for _, a in counters["memory"]],
                 color="#dd8452", label="RSS MiB")
        axr.set_ylabel("RSS MiB", fontsize=8)
        axr.legend(loc="upper right", fontsize=7)
    axc.set_xlabel("ms since the recording started", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("trace", help="a zako load --trace JSON file")
    p.add_argument("png", help="where to write the picture")
    p.add_argument("--title", default="zako load --trace", help="title above the tracks")
    args = p.parse_args(argv)
    with open(args.trace, encoding="utf-8") as f:
        events = json.load(f)["traceEvents"]
    render(events, args.png, args.title)
    print(f"wrote {args.png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
