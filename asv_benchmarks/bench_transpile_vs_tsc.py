"""zako's TypeScript transform against the TypeScript compiler's
``transpileModule``, per KB of source, in the same run (issue 14: zako must
stay at least 4x faster per KB).

The input is every case of ``tests/ts_corpus`` (namespaces, enums, classes,
generics: the code generation paths) plus the 400-line module of
``bench_modules.ts_module`` (mostly erasure), transformed one file at a
time. tsc runs inside one long-lived node process started in ``setup`` and
warmed up for 2.5 s (its first rounds run ~7x slower than settled ones), so
neither node's start nor its JIT warm-up is counted; each measurement is
the best of a few rounds, zako's likewise.

- ``track_zako_ms_per_kb`` / ``track_tsc_ms_per_kb``: the two figures;
- ``track_speed_ratio``: tsc's ms/KB over zako's (higher is better, goal >= 4);
- ``time_zako``: zako's whole pass, timed by asv itself.

Parameter ``input``: ``corpus`` (many small files: tsc's fixed cost per
call weighs) or ``large_module`` (one 10 KB module: the per-KB rate).

Needs ``/usr/bin/node`` and Debian's node-typescript; without them the tsc
figures are NaN.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import time
from pathlib import Path

from zako.v8.transpile import transform

from .bench_modules import ts_module

NODE = "/usr/bin/node"
TSC_LIB = "/usr/share/nodejs/typescript"
CORPUS = Path(__file__).resolve().parent.parent / "tests" / "ts_corpus"
ROUNDS = 5
WARM_MS = 2500

# Reads one JSON line per request: {"sources": [...], "rounds": n, "warmMs": t}; answers
# with the best round's milliseconds for transpiling every source once.
TSC_SERVER = r"""
const ts = require(process.argv[1]);
const opts = { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } };
const rl = require("readline").createInterface({ input: process.stdin });
rl.on("line", (line) => {
  const { sources, rounds, warmMs } = JSON.parse(line);
  let best = Infinity;
  // tsc needs dozens of rounds before the JIT settles (first round ~7x the
  // settled one): warm for a time budget first
  const until = Date.now() + (warmMs || 0);
  while (Date.now() < until) for (const s of sources) ts.transpileModule(s, opts);
  for (let r = 0; r < rounds; r++) {
    const t0 = process.hrtime.bigint();
    for (const s of sources) ts.transpileModule(s, opts);
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e6);
  }
  process.stdout.write(JSON.stringify({ ms: best }) + "\n");
});
"""


def sources(which: str = "corpus") -> list[str]:
    """``corpus``: every corpus case plus the 400-line module (small files
    weigh tsc's per-call setup); ``large_module``: that module alone."""
    if which == "large_module":
        return [ts_module(400)]
    out = [p.read_text() for p in sorted(CORPUS.glob("*.ts"))]
    out.append(ts_module(400))
    return out


def kilobytes(texts: list[str]) -> float:
    return sum(len(t.encode()) for t in texts) / 1024


class TranspileVsTsc:
    timeout = 120
    params = ["corpus", "large_module"]
    param_names = ["input"]

    def setup(self, which):
        self.sources = sources(which)
        self.kb = kilobytes(self.sources)
        self.node = None
        if os.path.exists(NODE) and os.path.isdir(TSC_LIB):
            self.node = subprocess.Popen(
                [NODE, "-e", TSC_SERVER, TSC_LIB], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
            )
            self._tsc_ms(1, warm_ms=WARM_MS)  # node's JIT, tsc's lazy initialisation

    def teardown(self, which):
        if self.node is not None:
            self.node.stdin.close()
            self.node.wait(timeout=10)

    def _tsc_ms(self, rounds: int, warm_ms: int = 0) -> float:
        if self.node is None:
            return math.nan
        self.node.stdin.write(json.dumps({"sources": self.sources, "rounds": rounds, "warmMs": warm_ms}) + "\n")
        self.node.stdin.flush()
        return json.loads(self.node.stdout.readline())["ms"]

    def _zako_ms(self, rounds: int) -> float:
        best = math.inf
        for _ in range(rounds):
            t0 = time.perf_counter()
            for i, s in enumerate(self.sources):
                transform(s, filename=f"m{i}.ts")
            best = min(best, (time.perf_counter() - t0) * 1000)
        return best

    def time_zako(self, which):
        for i, s in enumerate(self.sources):
            transform(s, filename=f"m{i}.ts")

    def track_zako_ms_per_kb(self, which):
        return self._zako_ms(ROUNDS) / self.kb

    track_zako_ms_per_kb.unit = "ms/KB"

    def track_tsc_ms_per_kb(self, which):
        return self._tsc_ms(ROUNDS) / self.kb

    track_tsc_ms_per_kb.unit = "ms/KB"

    def track_speed_ratio(self, which):
        self._zako_ms(1)  # both warm
        return (self._tsc_ms(ROUNDS) / self.kb) / (self._zako_ms(ROUNDS) / self.kb)

    track_speed_ratio.unit = "x"
