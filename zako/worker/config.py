"""The sizing and recycling policy of a ``WorkerPool``."""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["PoolConfig"]


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True, slots=True)
class PoolConfig:
    """How many workers a pool may run, and when a worker is retired.

    - ``max_workers`` (int >= 1): threads never exceed it.
    - ``min_workers`` (0 .. max_workers): started by ``start`` and kept alive
      however idle the pool is (a recycled one is replaced at once).
    - ``idle_timeout_s`` (> 0, may be ``math.inf``): a worker beyond
      ``min_workers`` that waited this long for work retires.
    - ``max_jobs_per_worker`` (int >= 1 or None): after that many jobs a
      worker is retired and replaced (its state closed and made afresh).
    - ``max_heap_bytes_per_worker`` (int >= 1 or None): a worker whose
      behaviour reports more heap than this after a job is retired.
    - ``queue_limit`` (int >= 1 or None): at most that many jobs wait
      unstarted; ``submit`` blocks and ``submit_async`` awaits beyond it.

    A bad value raises ``ValueError`` (``TypeError`` for a wrong type) naming
    the field and the value.
    """

    max_workers: int
    min_workers: int = 0
    idle_timeout_s: float = 60.0
    max_jobs_per_worker: int | None = None
    max_heap_bytes_per_worker: int | None = None
    queue_limit: int | None = None

    def __post_init__(self) -> None:
        for name in ("max_workers", "min_workers"):
            value = getattr(self, name)
            if not _is_int(value):
                raise TypeError(f"PoolConfig.{name} must be an int, got {value!r}")
        if self.max_workers < 1:
            raise ValueError(f"PoolConfig.max_workers must be >= 1, got {self.max_workers!r}")
        if not 0 <= self.min_workers <= self.max_workers:
            raise ValueError(
                f"PoolConfig.min_workers must be in 0..max_workers ({self.max_workers}), "
                f"got {self.min_workers!r}"
            )
        timeout = self.idle_timeout_s
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
            raise TypeError(f"PoolConfig.idle_timeout_s must be a number, got {timeout!r}")
        if math.isnan(timeout) or timeout <= 0:
            raise ValueError(f"PoolConfig.idle_timeout_s must be > 0, got {timeout!r}")
        for name in ("max_jobs_per_worker", "max_heap_bytes_per_worker", "queue_limit"):
            value = getattr(self, name)
            if value is None:
                continue
            if not _is_int(value):
                raise TypeError(f"PoolConfig.{name} must be an int or None, got {value!r}")
            if value < 1:
                raise ValueError(f"PoolConfig.{name} must be >= 1 or None, got {value!r}")
