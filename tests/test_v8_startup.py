"""Start-up race: V8 sets up process-wide state when the first isolate is
made, and two threads doing that at once abort the process (SIGTRAP, exit
133, nothing printed). Many fresh processes start a pool of two workers that
create their isolates at the same moment, while busy loops load every CPU;
none may die of a signal."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PROBE = r"""
import sys, threading
from zako.worker import PoolConfig, V8Worker, WorkerPool

workers = int(sys.argv[1])
pool = WorkerPool(V8Worker(heap_limit_bytes=64 << 20, timeout_s=30.0),
                  PoolConfig(max_workers=workers, min_workers=workers))
pool.start()
futures = [pool.submit("return 6 * 7") for _ in range(workers * 2)]
total = sum(f.result(timeout=60).value for f in futures)
pool.shutdown()
print("ok", total)
"""

PROCESSES = 40
AT_ONCE = 4


def test_concurrent_first_isolates_never_abort():
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(os.cpu_count() or 2)]
    deaths, failures, done = [], [], 0
    try:
        pending: list[subprocess.Popen] = []
        started = 0
        deadline = time.monotonic() + 240
        while done < PROCESSES and time.monotonic() < deadline:
            while started < PROCESSES and len(pending) < AT_ONCE:
                workers = 2 + started % 2  # pools of 2 and 3 workers
                pending.append(subprocess.Popen([sys.executable, "-c", PROBE, str(workers)], env=env,
                                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
                started += 1
            for proc in list(pending):
                if proc.poll() is None:
                    continue
                pending.remove(proc)
                out, err = proc.communicate()
                done += 1
                if proc.returncode < 0 or proc.returncode >= 128:
                    deaths.append((proc.returncode, err[-500:]))
                elif proc.returncode != 0 or not out.startswith("ok"):
                    failures.append((proc.returncode, err[-500:]))
            time.sleep(0.02)
        for proc in pending:
            proc.kill()
            proc.wait()
    finally:
        for proc in busy:
            proc.kill()
            proc.wait()
    assert deaths == [], f"{len(deaths)} of {done} processes died of a signal: {deaths[:3]}"
    assert failures == [], failures[:3]
    assert done == PROCESSES, f"only {done} of {PROCESSES} probes finished in time"
