"""``V8Worker``: the pool behaviour that evaluates build scripts in V8.

Each worker thread owns one ``zako.v8.Engine`` (its state). A job is a
``V8Job``: either a plain script (``source``, run by ``Engine.evaluate``)
or an ES module (``specifier``, run by ``Engine.execute_module`` through a
``ModuleLoader``). The job's cancel token goes to the engine, which
terminates running JavaScript when it fires. The output is a ``V8Output``:
the ``ExecutionResult`` and the heap figures that feed the pool's recycle
rule (``PoolConfig.max_heap_bytes_per_worker``).
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .cancel import CancelToken

__all__ = ["V8Job", "V8Output", "V8Worker"]

_MIB = 1 << 20


@dataclass(frozen=True, slots=True)
class V8Job:
    """One evaluation.

    Exactly one of:

    - ``source``: script text, run as the body of an async function
      (``specifier`` names it in traces, default ``zako-memory:main``);
    - ``specifier`` without ``source``: a module run by
      ``execute_module``; ``context_type`` (a ``ContextType`` or its value,
      default: implied by the file name) and ``loader`` (a ``ModuleLoader``)
      or ``root`` (a project directory; the worker keeps one loader per
      root) say how.

    ``inputs`` is visible to the script as ``globalThis.executionContext``.
    A malformed job raises ``ValueError`` naming the field.
    """

    source: str | None = None
    specifier: str | None = None
    context_type: Any = None
    inputs: Any = None
    loader: Any = None
    root: str | os.PathLike[str] | None = None

    def __post_init__(self) -> None:
        if self.source is None:
            if not self.specifier:
                raise ValueError("V8Job needs source (a script) or specifier (a module), got neither")
            if self.loader is None and self.root is None:
                raise ValueError(f"V8Job for module {self.specifier!r} needs a loader or a root")
        elif not isinstance(self.source, str):
            raise TypeError(f"V8Job.source must be str, got {type(self.source).__name__}")
        elif self.loader is not None or self.root is not None or self.context_type is not None:
            raise ValueError(
                f"V8Job for script {self.specifier or 'zako-memory:main'!r}: loader/root/context_type "
                "apply to modules only (give specifier without source)"
            )

    @property
    def is_module(self) -> bool:
        return self.source is None


def as_v8_job(job: Any) -> V8Job:
    """A ``V8Job`` from a job, a script's source text, or a mapping of
    ``V8Job`` fields; ``TypeError`` for anything else."""
    if isinstance(job, V8Job):
        return job
    if isinstance(job, str):
        return V8Job(source=job)
    if isinstance(job, Mapping):
        return V8Job(**job)
    raise TypeError(f"V8Worker needs a V8Job, script source or mapping of V8Job fields, got {job!r}")


@dataclass(frozen=True, slots=True)
class V8Output:
    """What a V8 job gives back.

    ``result`` is the engine's ``ExecutionResult`` (value or JS exception,
    declarations); ``heap_used_bytes`` is V8's used heap at the end of the
    evaluation (None if unknown); ``peak_heap_bytes`` the committed heap
    high-water mark; ``array_buffer_peak_bytes`` ArrayBuffer memory outside
    the heap; ``worker_jobs`` how many jobs this worker's engine had run,
    this one included.
    """

    result: Any
    heap_used_bytes: int | None
    peak_heap_bytes: int
    array_buffer_peak_bytes: int
    worker_jobs: int = 0

    @property
    def value(self) -> Any:
        return self.result.value

    @property
    def exception(self) -> Any:
        return self.result.exception


@dataclass(slots=True)
class _State:
    engine: Any
    loaders: dict[str, Any] = field(default_factory=dict)
    jobs: int = 0
    heap_bytes: int | None = None
    thread: int = field(default_factory=threading.get_ident)


class V8Worker:
    """Behaviour: one ``Engine(heap_limit_bytes, timeout_s, isolation)`` per worker.

    With ``isolation="realm"`` (the default) the worker's engine keeps one
    locked-down V8 context for all its jobs until the worker is recycled
    (``PoolConfig.max_jobs_per_worker`` / ``max_heap_bytes_per_worker``);
    a job that times out or hits the heap limit has that context discarded
    and the next job gets a new one.

    - ``process`` takes a ``V8Job`` (or script text, or a mapping of
      ``V8Job`` fields) and returns a ``V8Output``; engine failures raise the
      engine's ``V8Error`` subclasses (``ScriptTimeoutError``,
      ``HeapLimitError``, ``ScriptCancelledError`` ...), failing only that
      job; a fired cancel token ends the job in ``CancelledError``.
    - ``heap_bytes`` reports the last job's peak heap plus ArrayBuffer
      memory, so a worker that ran a heavy script is recycled.
    - ``is_broken``: after a heap-limit hit (or an engine failure it cannot
      classify) the engine is replaced rather than trusted; timeouts,
      deadlocks, conversion and load errors are the script's fault.
    - ``default_request`` is ``{"cpu": 1, "memory": heap_limit_bytes}``:
      with a ``ResourcePool`` the pool admits only as many evaluations as
      memory allows.
    - ``engine_factory(heap_limit_bytes=, timeout_s=)`` replaces
      ``zako.v8.Engine`` (an instrumented engine, a test double).

    Invalid limits raise ``ValueError`` naming the value.
    """

    def __init__(
        self,
        heap_limit_bytes: int = 256 * _MIB,
        timeout_s: float = 30.0,
        *,
        engine_factory: Any = None,
        isolation: str = "realm",
    ) -> None:
        if isinstance(heap_limit_bytes, bool) or not isinstance(heap_limit_bytes, int) or heap_limit_bytes <= 0:
            raise ValueError(f"V8Worker heap_limit_bytes must be a positive int, got {heap_limit_bytes!r}")
        if isinstance(timeout_s, bool) or not isinstance(timeout_s, (int, float)) or not timeout_s > 0:
            raise ValueError(f"V8Worker timeout_s must be > 0, got {timeout_s!r}")
        if isolation not in ("realm", "isolate"):
            raise ValueError(f"V8Worker isolation must be 'realm' or 'isolate', got {isolation!r}")
        self.heap_limit_bytes = heap_limit_bytes
        self.timeout_s = float(timeout_s)
        self.isolation = isolation
        self._engine_factory = engine_factory
        self.default_request = {"cpu": 1, "memory": heap_limit_bytes}

    # --- behaviour ---------------------------------------------------------------

    def init(self, context: Any) -> _State:
        if self._engine_factory is not None:
            engine = self._engine_factory(heap_limit_bytes=self.heap_limit_bytes, timeout_s=self.timeout_s)
        else:
            from ..v8 import Engine

            engine = Engine(heap_limit_bytes=self.heap_limit_bytes, timeout_s=self.timeout_s, isolation=self.isolation)
        return _State(engine)

    def process(self, state: _State, job: V8Job, cancel_token: CancelToken) -> V8Output:
        job = as_v8_job(job)
        cancel_token.raise_if_cancelled()
        engine = state.engine
        try:
            if job.is_module:
                result = engine.execute_module(
                    job.specifier,
                    context_type=self._context_type(job),
                    loader=self._loader(state, job),
                    inputs=job.inputs,
                    cancel_token=cancel_token,
                )
            else:
                kwargs = {"inputs": job.inputs, "cancel_token": cancel_token}
                if job.specifier:
                    kwargs["specifier"] = job.specifier
                result = engine.evaluate(job.source, **kwargs)
        except Exception as exc:
            if cancel_token.cancelled and _is_cancelled_error(exc):
                from concurrent.futures import CancelledError

                raise CancelledError(f"V8 job {job.specifier or 'zako-memory:main'!r} was cancelled") from exc
            if _is_heap_error(exc):
                state.heap_bytes = self.heap_limit_bytes  # the engine hit its limit: retire on heap too
            raise
        state.jobs += 1
        stats = result.heap_stats or {}
        used = stats.get("used_heap_size")
        peak = int(getattr(result, "peak_heap_bytes", 0) or 0)
        buffers = int(getattr(result, "array_buffer_peak_bytes", 0) or 0)
        state.heap_bytes = max(peak, used or 0) + buffers
        return V8Output(result, used, peak, buffers, state.jobs)

    def gc(self, state: _State) -> None:
        gc = getattr(state.engine, "gc", None) or getattr(state.engine, "low_memory_notification", None)
        if gc is not None:
            gc()

    def close(self, state: _State) -> None:
        close = getattr(state.engine, "close", None)
        if close is not None:
            close()
        state.loaders.clear()

    def heap_bytes(self, state: _State) -> int | None:
        return state.heap_bytes

    def is_broken(self, state: _State, error: BaseException) -> bool:
        from ..v8.errors import (
            ConversionError,
            DeadlockError,
            ModuleLoadError,
            ScriptCancelledError,
            ScriptTimeoutError,
            TranspileError,
            V8Error,
        )

        bad_job = (
            ModuleLoadError, TranspileError, ConversionError, DeadlockError,
            ScriptTimeoutError, ScriptCancelledError, TypeError, ValueError,
        )
        if isinstance(error, bad_job):
            return False  # the script's fault; its context is already gone
        # A heap-limit hit (V8 after OOM) or an engine failure we cannot
        # classify: a fresh engine is cheap next to trusting this one.
        return isinstance(error, V8Error) or not isinstance(error, Exception)

    # --- helpers -----------------------------------------------------------------

    def _context_type(self, job: V8Job) -> Any:
        ct = job.context_type
        ContextType = _context_type_class()
        if isinstance(ct, ContextType):
            return ct
        if ct is None:
            return ContextType.for_filename(str(job.specifier))
        try:
            return ContextType(str(ct).lower())
        except ValueError:
            raise ValueError(f"V8Job for {job.specifier!r}: unknown context_type {ct!r}") from None

    def _loader(self, state: _State, job: V8Job) -> Any:
        if job.loader is not None:
            return job.loader
        key = os.fspath(job.root)
        loader = state.loaders.get(key)
        if loader is None:
            from ..v8 import ModuleLoader

            loader = state.loaders[key] = ModuleLoader(key)
        return loader

    def __repr__(self) -> str:
        return (f"V8Worker(heap_limit_bytes={self.heap_limit_bytes}, timeout_s={self.timeout_s}, "
                f"isolation={self.isolation!r})")


@functools.cache
def _context_type_class() -> Any:
    # The engine layer loads lazily (a pool without V8 jobs never imports it);
    # an import statement per job costs more than the job's bookkeeping.
    from ..v8 import ContextType

    return ContextType


def _is_cancelled_error(exc: BaseException) -> bool:
    from concurrent.futures import CancelledError

    from ..v8.errors import ScriptCancelledError

    return isinstance(exc, (ScriptCancelledError, CancelledError))


def _is_heap_error(exc: BaseException) -> bool:
    from ..v8.errors import HeapLimitError

    return isinstance(exc, HeapLimitError)
