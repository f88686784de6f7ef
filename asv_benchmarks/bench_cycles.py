"""The dependency-cycle check of ``zako load`` (``zako.project.cycles``).

``find_cycles`` runs on every load, cached or not, over every target, so it
must stay linear: the same graph shape at 10x the size should cost ~10x.

- ``time_acyclic``: a layered graph like a real monorepo (each target
  depends on up to 4 targets of earlier layers): the common case, no cycle;
- ``time_one_long_cycle``: one chain through every target closed by a back
  edge: the deepest walk, far past any recursion limit.

Baseline: the 10,000-target case of each (the size of a 3,000-package tree).
"""

from __future__ import annotations

import random

from zako.project.cycles import find_cycles


def _layered(n: int) -> list[list[int]]:
    rng = random.Random(1)
    return [rng.sample(range(i), min(i, 4)) for i in range(n)]


class Cycles:
    params = [10_000, 100_000]
    param_names = ["targets"]

    def setup(self, n):
        self.acyclic = _layered(n)
        self.chain = [[i + 1] for i in range(n - 1)] + [[0]]

    def time_acyclic(self, n):
        find_cycles(self.acyclic)

    def time_one_long_cycle(self, n):
        find_cycles(self.chain)
