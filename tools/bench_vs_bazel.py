#!/usr/bin/env python3
"""zako against Bazel, in one run on the same generated tree.

    python tools/bench_vs_bazel.py --packages 10000 --jobs 2 [--keep DIR] [--json]

Generates a tree with ``zako.devtools.gentree`` and its Bazel twin (same
packages, targets, globs and deps; see docs/benchmarks.md), then times, one
after the other:

- zako cold: ``zako load --no-cache --jobs J`` (every script evaluated);
- zako cold, filling the cache: the same with an empty ``--cache-dir``
  (not a peer figure: it shows what storing results costs);
- zako warm: the same command again (every script a cache hit);
- bazel cold: ``bazel --output_user_root=<new tmp dir> query //...`` with no
  server running, so server start-up is included;
- bazel warm: the same query again on the server the cold query left.

Wall time is measured around each client process. Peak RSS: for zako the
child's ``ru_maxrss`` (the V8 workers are threads of that one process); for
Bazel the server's ``VmHWM`` from ``/proc/<pid>/status`` (pid from ``bazel
info server_pid``) plus the client's ``ru_maxrss``. Before the warm query the
server's high-water mark is reset (``/proc/<pid>/clear_refs``), so the warm
figure is that query's own peak, not the cold one's again. At the end the
server is shut down and its output root deleted.

Nothing here talks to the network: ``bazel query`` fetches no external
repository for this workspace, and zako runs without a remote cache.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field

MIB = 1024 * 1024

# Bazel's own output root is made per run; a server left behind by a crashed
# run exits on its own after this long instead of holding gigabytes.
_MAX_IDLE_SECS = 600


@dataclass
class Run:
    """One measured command."""

    name: str
    command: list[str]
    ok: bool = False
    wall_s: float | None = None
    peak_rss_bytes: int | None = None  # what the row reports: zako process, or Bazel server + client
    client_rss_bytes: int | None = None
    server_rss_bytes: int | None = None
    cpu_s: float | None = None  # user + system CPU: zako process, or Bazel server (this query's share) + client
    targets: int | None = None
    error: str | None = None
    extra: dict = field(default_factory=dict)


def _timed(
    cmd: list[str], *, cwd: str | None = None, env: dict | None = None, scratch: str
) -> tuple[int, float, int, float, str, str]:
    """Run ``cmd``; return (exit status, wall seconds, child's ru_maxrss
    bytes, child's CPU seconds, stdout, stderr).

    Output goes to files, not pipes: a 20,000-line query output must not
    block the child while we sit in wait4 (which is what gives us the
    child's own rusage)."""
    out_path = os.path.join(scratch, "stdout")
    err_path = os.path.join(scratch, "stderr")
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        _pid, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    with open(out_path, encoding="utf-8", errors="replace") as f:
        stdout = f.read()
    with open(err_path, encoding="utf-8", errors="replace") as f:
        stderr = f.read()
    # Linux reports ru_maxrss in KiB (macOS in bytes; /proc is Linux-only anyway).
    maxrss = usage.ru_maxrss * (1 if sys.platform == "darwin" else 1024)
    return proc.returncode, wall, maxrss, usage.ru_utime + usage.ru_stime, stdout, stderr


def _proc_status_bytes(pid: int, key: str) -> int | None:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def _proc_cpu_s(pid: int) -> float | None:
    """User + system CPU seconds of all threads of ``pid`` so far."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            # Fields after the command name, which may itself hold spaces.
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def _reset_peak_rss(pid: int) -> bool:
    """Reset a process's VmHWM to its current RSS (Linux >= 4.0)."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w", encoding="ascii") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _tail(text: str, lines: int = 15) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def _summary_count(stdout: str, word: str) -> int | None:
    m = re.search(rf"^\s*{word}\s+(\d+)", stdout, re.M)
    return int(m.group(1)) if m else None


def _rmtree(path: str) -> None:
    def fix(func, p, _exc):
        # Bazel makes parts of its output base read-only.
        try:
            os.chmod(os.path.dirname(p), 0o755)
            os.chmod(p, 0o755)
        except OSError:
            pass
        func(p)

    if os.path.lexists(path):
        shutil.rmtree(path, onerror=fix)


# --- trees -------------------------------------------------------------------------


def prepare_trees(base: str, packages: int, *, libraries: int = 8, seed: int = 0) -> tuple[str, str, bool]:
    """``(zako_root, bazel_root, reused)`` under ``base``; trees from an
    earlier run with the same arguments (a stamp file says so) are reused."""
    from zako.devtools.gentree import generate, generate_bazel

    zako_root, bazel_root = os.path.join(base, "zako"), os.path.join(base, "bazel")
    stamp_path = os.path.join(base, "trees.json")
    stamp = {"packages": packages, "libraries": libraries, "seed": seed}
    try:
        with open(stamp_path, encoding="utf-8") as f:
            if json.load(f) == stamp:
                return zako_root, bazel_root, True
    except (OSError, ValueError):
        pass
    _rmtree(zako_root)
    _rmtree(bazel_root)
    generate(zako_root, packages, libraries=libraries, seed=seed)
    generate_bazel(bazel_root, packages, libraries=libraries, seed=seed)
    with open(stamp_path, "w", encoding="utf-8") as f:
        json.dump(stamp, f)
    return zako_root, bazel_root, False


# --- zako --------------------------------------------------------------------------


def measure_zako(tree: str, *, jobs: int, scratch: str, python: str = sys.executable) -> list[Run]:
    """Cold (no cache), cold filling an empty cache, then warm from that cache."""
    cache = os.path.join(scratch, "zako-cache")
    _rmtree(cache)
    base = [python, "-m", "zako", "load", tree, "--jobs", str(jobs)]
    plan = [
        ("zako cold", [*base, "--no-cache"]),
        ("zako cold, filling cache", [*base, "--cache-dir", cache]),
        ("zako warm", [*base, "--cache-dir", cache]),
    ]
    env = dict(os.environ)
    env.pop("ZAKO_CACHE_DIR", None)
    runs = []
    try:
        for name, cmd in plan:
            run = Run(name, cmd)
            # cwd: `python -m` puts it first on sys.path, and a zako checkout
            # there would shadow the zako this interpreter has installed.
            rc, wall, maxrss, cpu, stdout, stderr = _timed(cmd, cwd=scratch, env=env, scratch=scratch)
            run.wall_s, run.peak_rss_bytes, run.cpu_s = wall, maxrss, cpu
            run.targets = _summary_count(stdout, "targets")
            run.extra["packages"] = _summary_count(stdout, "packages")
            hits = re.search(r"cache hits\s+(\d+)/(\d+)", stdout)
            if hits:
                run.extra["cache_hits"] = f"{hits.group(1)}/{hits.group(2)}"
            run.ok = rc == 0
            if not run.ok:
                run.error = f"exit {rc}: {_tail(stderr or stdout)}"
            runs.append(run)
    finally:
        _rmtree(cache)
    return runs


# --- Bazel -------------------------------------------------------------------------


def bazel_version(bazel: str = "bazel") -> str | None:
    """The client's own version text; None when ``bazel`` cannot run."""
    try:
        # --version is answered by the client alone: no server is started.
        out = subprocess.run([bazel, "--version"], capture_output=True, text=True, timeout=60).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    if not out:
        return None
    # Debian's build says "bazel no_version"; its package version is the real one.
    try:
        pkg = subprocess.run(
            ["dpkg-query", "-W", "-f", "${Version}", "bazel-bootstrap"], capture_output=True, text=True, timeout=30
        )
        if pkg.returncode == 0 and pkg.stdout.strip():
            out += f" (Debian bazel-bootstrap {pkg.stdout.strip()})"
    except (OSError, subprocess.SubprocessError):
        pass
    return out


def measure_bazel(workspace: str, *, scratch: str, bazel: str = "bazel") -> list[Run]:
    """Cold query on a new server (new output root), then warm on the same server."""
    user_root = tempfile.mkdtemp(prefix="bazel-root-", dir=scratch)
    startup = [bazel, f"--output_user_root={user_root}", f"--max_idle_secs={_MAX_IDLE_SECS}"]
    query = [*startup, "query", "//..."]
    runs = []

    def server_pid() -> int | None:
        proc = subprocess.run([*startup, "info", "server_pid"], cwd=workspace, capture_output=True, text=True, timeout=300)
        text = proc.stdout.strip()
        return int(text) if proc.returncode == 0 and text.isdigit() else None

    try:
        for name in ("bazel cold", "bazel warm"):
            run = Run(name, query)
            pid = runs[-1].extra.get("server_pid") if runs else None
            # A new server's CPU starts at 0; a warm one's is counted from here.
            cpu_before = 0.0
            if pid is not None:
                run.extra["peak_reset"] = _reset_peak_rss(pid)
                cpu_before = _proc_cpu_s(pid)
            rc, wall, maxrss, client_cpu, stdout, stderr = _timed(query, cwd=workspace, scratch=scratch)
            run.wall_s, run.client_rss_bytes = wall, maxrss
            run.ok = rc == 0
            if not run.ok:
                run.error = f"exit {rc}: {_tail(stderr)}"
                runs.append(run)
                break
            run.targets = sum(1 for line in stdout.splitlines() if line.startswith("//"))
            # Asked after the timed query, so `info` costs nothing measured.
            pid = server_pid()
            run.extra["server_pid"] = pid
            if pid is not None:
                run.server_rss_bytes = _proc_status_bytes(pid, "VmHWM")
                run.extra["server_rss_now_bytes"] = _proc_status_bytes(pid, "VmRSS")
                server_cpu = _proc_cpu_s(pid)
                if server_cpu is not None and cpu_before is not None:
                    run.cpu_s = server_cpu - cpu_before + client_cpu
            if run.server_rss_bytes is not None:
                run.peak_rss_bytes = run.server_rss_bytes + maxrss
            runs.append(run)
    finally:
        subprocess.run([*startup, "shutdown"], cwd=workspace, capture_output=True, timeout=300)
        _rmtree(user_root)
    return runs


# --- report ------------------------------------------------------------------------


def describe_zako(python: str = sys.executable, *, cwd: str | None = None) -> str:
    """Which zako the runs use: version and kernels, and the commit when it
    is imported from a git checkout (marked when that checkout has
    uncommitted changes under zako/, as a shared tree often does)."""
    try:
        proc = subprocess.run(
            [python, "-c", "import os, zako; print(zako.__version__, zako.IMPLEMENTATION, os.path.dirname(zako.__file__))"],
            capture_output=True, text=True, timeout=60, cwd=cwd,
        )
        version, kernels, package_dir = proc.stdout.split(maxsplit=2)
    except (OSError, subprocess.SubprocessError, ValueError):
        return "zako not importable"
    text = f"zako {version} ({kernels} kernels)"
    checkout = os.path.dirname(package_dir.strip())

    def git(*args):
        return subprocess.run(["git", "-C", checkout, *args], capture_output=True, text=True, timeout=30)

    try:
        head = git("log", "-1", "--oneline")
        if head.returncode != 0:
            return text + ", installed (not a git checkout)"
        dirty = git("status", "--porcelain", "--", "zako").stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return text
    return f"{text} at {head.stdout.strip()}" + (" + uncommitted changes under zako/" if dirty else "")


def _machine() -> dict:
    info = {"platform": platform.platform(), "cpus": os.cpu_count()}
    try:
        info["loadavg_at_start"] = os.getloadavg()
    except OSError:
        pass
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            info["mem_total_bytes"] = int(f.readline().split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return info


def _mib(value: int | None) -> str:
    return "-" if value is None else f"{value / MIB:,.1f}"


def format_table(report: dict) -> str:
    runs = [Run(**r) for r in report["runs"]]
    lines = [
        f"zako vs Bazel: {report['packages']:,} packages, zako --jobs {report['jobs']}, "
        f"{report['machine'].get('cpus')} CPUs, load average (1/5/15 min) "
        + "/".join(f"{x:.2f}" for x in report["machine"].get("loadavg_at_start", ()))
        + " at start, "
        + "/".join(f"{x:.2f}" for x in report.get("loadavg_at_end", ()))
        + " at end",
        f"  {report.get('zako') or 'zako ?'}",
        f"  {report.get('bazel_version') or 'bazel not run'}",
        "",
        f"{'':<26}{'wall s':>9}{'CPU s':>9}{'peak RSS MiB':>14}{'(server':>10}{'+ client)':>11}{'targets':>9}",
    ]
    for r in runs:
        if not r.ok:
            lines.append(f"{r.name:<26}{'FAILED':>9}   {(r.error or '').splitlines()[0] if r.error else ''}")
            continue
        server = _mib(r.server_rss_bytes) if r.server_rss_bytes is not None else ""
        client = _mib(r.client_rss_bytes) if r.client_rss_bytes is not None else ""
        targets = "-" if r.targets is None else f"{r.targets:,}"
        cpu = "-" if r.cpu_s is None else f"{r.cpu_s:.2f}"
        lines.append(
            f"{r.name:<26}{r.wall_s:>9.2f}{cpu:>9}{_mib(r.peak_rss_bytes):>14}{server:>10}{client:>11}{targets:>9}"
        )
    by_name = {r.name: r for r in runs if r.ok}
    for kind in ("cold", "warm"):
        z, b = by_name.get(f"zako {kind}"), by_name.get(f"bazel {kind}")
        if z and b and z.wall_s and b.wall_s:
            lines.append(
                f"{kind}: bazel/zako wall {b.wall_s / z.wall_s:.2f}x"
                + (f", CPU {b.cpu_s / z.cpu_s:.2f}x" if z.cpu_s and b.cpu_s else "")
                + (f", peak RSS {b.peak_rss_bytes / z.peak_rss_bytes:.1f}x" if z.peak_rss_bytes and b.peak_rss_bytes else "")
            )
    counts = {r.targets for r in runs if r.ok and r.targets is not None}
    if len(counts) > 1:
        lines.append(f"WARNING: the runs saw different target counts {sorted(counts)}: the trees are not equivalent")
    for r in runs:
        if not r.ok and r.error:
            lines += ["", f"{r.name} failed:", r.error]
    return "\n".join(lines)


def run(packages: int, *, jobs: int, keep: str | None, skip_bazel: bool = False, bazel: str = "bazel") -> dict:
    machine = _machine()
    base = os.path.abspath(keep) if keep else tempfile.mkdtemp(prefix="zako-vs-bazel-")
    os.makedirs(base, exist_ok=True)
    scratch = tempfile.mkdtemp(prefix="scratch-", dir=base)
    try:
        t0 = time.perf_counter()
        zako_root, bazel_root, reused = prepare_trees(base, packages)
        generate_s = time.perf_counter() - t0
        zako_description = describe_zako(cwd=scratch)
        runs = measure_zako(zako_root, jobs=jobs, scratch=scratch)
        version = None
        if not skip_bazel:
            version = bazel_version(bazel)
            if version is None:
                runs.append(Run("bazel cold", [bazel], error=f"{bazel!r} not found or not runnable"))
            else:
                runs += measure_bazel(bazel_root, scratch=scratch, bazel=bazel)
    finally:
        _rmtree(scratch)
        if not keep:
            _rmtree(base)
    try:
        loadavg_at_end = os.getloadavg()
    except OSError:
        loadavg_at_end = ()
    return {
        "packages": packages,
        "loadavg_at_end": loadavg_at_end,
        "jobs": jobs,
        "trees": {"reused": reused, "generate_s": round(generate_s, 2), "kept_in": base if keep else None},
        "zako": zako_description,
        "bazel_version": version,
        "machine": machine,
        "runs": [asdict(r) for r in runs],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python tools/bench_vs_bazel.py",
        description="Time zako load and bazel query on the same generated tree (cold and warm), with peak RSS.",
    )
    parser.add_argument("--packages", type=int, default=10000, help="packages in the generated tree (default 10000)")
    parser.add_argument("--jobs", type=int, default=2, help="zako V8 workers (default 2)")
    parser.add_argument("--keep", metavar="DIR", help="generate the trees in DIR and keep them (reused when they match)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON instead of a table")
    parser.add_argument("--skip-bazel", action="store_true", help="time zako only")
    parser.add_argument("--bazel", default="bazel", metavar="PATH", help="the bazel client (default: bazel on PATH)")
    args = parser.parse_args(argv)
    if args.packages < 1 or args.jobs < 1:
        parser.error("--packages and --jobs must be at least 1")
    report = run(args.packages, jobs=args.jobs, keep=args.keep, skip_bazel=args.skip_bazel, bazel=args.bazel)
    print(json.dumps(report, indent=2) if args.json else format_table(report))
    return 0 if all(r["ok"] for r in report["runs"]) else 1


if __name__ == "__main__":
    sys.exit(main())
