"""zako:semver benchmarks.

- ``SatisfiesMany``: ``satisfies`` of 2,000 versions (seeded: releases,
  prereleases, some loose) against 10 typical ranges, 20,000 calls in one
  round trip. ``zako``: one ``Engine.execute_module`` of a module looping over
  them inside the build-file realm (frozen intrinsics). ``node_semver`` (the
  baseline): the same loop in node-semver under ``node``, in a long-lived
  process answering one line per run, so neither side pays start-up. Skipped
  when node or node-semver is absent.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import tempfile
from pathlib import Path

from zako.v8 import ContextType, Engine, ModuleLoader

SEMVER_DIR = Path("/usr/share/nodejs/semver")
RANGES = [
    "^1.2.3", "~1.4", ">=1.0.0 <2.0.0 || >=3.0.0", "1.2.3 - 2.3.4", "1.x || >=2.5.0",
    "^0.2.3", "*", ">1.2.3-alpha.1", "~0.0.1 || ^4", "<=2.0.0-rc.1",
]  # fmt: skip

LOOP = """
function countSatisfying(satisfies, versions, ranges) {
  let n = 0;
  for (const r of ranges) for (const v of versions) if (satisfies(v, r)) n++;
  return n;
}
"""


def versions(count: int = 2000) -> list[str]:
    rng = random.Random(15)
    out = []
    for _ in range(count):
        v = f"{rng.randrange(5)}.{rng.randrange(8)}.{rng.randrange(12)}"
        roll = rng.random()
        if roll < 0.2:
            v += f"-{rng.choice(['alpha', 'beta', 'rc'])}.{rng.randrange(4)}"
        elif roll < 0.25:
            v = "v" + v
        out.append(v)
    return out


class SatisfiesMany:
    params = ["zako", "node_semver"]
    param_names = ["impl"]
    timeout = 120

    def setup(self, impl):
        self.versions = versions()
        self.proc = None
        self.tmp = None
        if impl == "zako":
            self.tmp = tempfile.mkdtemp()
            source = (
                'import { satisfies } from "zako:semver";\n'
                + LOOP
                + "const {versions, ranges} = globalThis.executionContext;\n"
                + "export default countSatisfying(satisfies, versions, ranges);\n"
            )
            self.engine = Engine(timeout_s=60.0)
            self.loader = ModuleLoader(self.tmp, memory_modules={"bench": source})
            self.inputs = {"versions": self.versions, "ranges": RANGES}
            self.expected = self.run_zako()
        else:
            node = shutil.which("node")
            if node is None or not (SEMVER_DIR / "package.json").is_file():
                raise NotImplementedError("node or node-semver is not installed")
            driver = (
                LOOP
                + "const {satisfies} = require(process.argv[1]);\n"
                + f"const versions = {json.dumps(self.versions)}, ranges = {json.dumps(RANGES)};\n"
                + 'require("readline").createInterface({input: process.stdin}).on("line", () => '
                + 'process.stdout.write(countSatisfying(satisfies, versions, ranges) + "\\n"));\n'
            )
            env = dict(os.environ, NODE_PATH=str(SEMVER_DIR.parent))
            self.proc = subprocess.Popen(
                [node, "-e", driver, str(SEMVER_DIR)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env
            )
            self.expected = self.run_node()

    def teardown(self, impl):
        if self.proc is not None:
            self.proc.stdin.close()
            self.proc.wait(timeout=10)
        if self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def run_zako(self) -> int:
        result = self.engine.execute_module(
            "zako-memory:bench", context_type=ContextType.LIBRARY, loader=self.loader, inputs=self.inputs
        )
        assert result.exception is None, result.exception
        return result.value["default"]

    def run_node(self) -> int:
        self.proc.stdin.write("\n")
        self.proc.stdin.flush()
        return int(self.proc.stdout.readline())

    def time_satisfies_20k(self, impl):
        count = self.run_zako() if impl == "zako" else self.run_node()
        assert count == self.expected
