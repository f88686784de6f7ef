"""Worker pools: threads that each own a behaviour state (a V8 engine, a
transpiler), started on demand, recycled by job count and heap, admitted
through the ``ResourcePool``, and cancellable.

``V8Worker`` and ``TranspilerWorker`` are resolved lazily so that the
generic pool can be imported without loading the V8 layer.
"""

from __future__ import annotations

from .._lazy import lazy_exports

from .behavior import WorkerBehavior
from .cancel import CancelSource, CancelToken
from .config import PoolConfig
from .errors import WorkerPoolError
from .pool import RETIRE_REASONS, PoolStats, WorkerPool

_LAZY = {
    "V8Worker": ".v8_worker",
    "V8Job": ".v8_worker",
    "V8Output": ".v8_worker",
    "TranspilerWorker": ".transpiler_worker",
    "TranspileJob": ".transpiler_worker",
}

__all__ = sorted(
    [
        "WorkerBehavior",
        "PoolConfig",
        "WorkerPool",
        "WorkerPoolError",
        "PoolStats",
        "RETIRE_REASONS",
        "CancelSource",
        "CancelToken",
        *_LAZY,
    ]
)

__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())
