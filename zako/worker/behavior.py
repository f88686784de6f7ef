"""What a worker does: the ``WorkerBehavior`` protocol."""

from __future__ import annotations

from typing import Any, Protocol, TypeVar, runtime_checkable

from .cancel import CancelToken

__all__ = ["WorkerBehavior"]

State = TypeVar("State")
In = TypeVar("In", contravariant=True)
Out = TypeVar("Out", covariant=True)


@runtime_checkable
class WorkerBehavior(Protocol[State, In, Out]):
    """The four calls a ``WorkerPool`` makes, all on the worker's own thread.

    - ``init(context) -> state``: once per worker thread, before its first
      job; ``context`` is what was given to ``WorkerPool.start``. The state
      never leaves that thread (a V8 isolate, a parser, a connection).
    - ``process(state, input, cancel_token) -> output``: one job. Should
      observe ``cancel_token`` (``.cancelled``, callbacks) to stop early; an
      exception fails only this job's future.
    - ``gc(state)``: free what can be freed; called by ``WorkerPool.gc``.
    - ``close(state)``: once, when the worker retires or the pool shuts down.

    Optional hooks the pool uses when present:

    - ``heap_bytes(state) -> int | None``: heap in use after a job; feeds
      ``PoolConfig.max_heap_bytes_per_worker``.
    - ``is_broken(state, error) -> bool``: after ``process`` raised, True
      means the state cannot serve another job; the worker is closed and
      replaced (retire reason ``"error"``). Without the hook only
      non-``Exception`` errors count as breaking.
    - ``default_request``: a resource request (``{"cpu": 1, ...}``) used
      for jobs submitted without one when the pool has a ``ResourcePool``.
    """

    def init(self, context: Any) -> State: ...

    def process(self, state: State, input: In, cancel_token: CancelToken) -> Out: ...

    def gc(self, state: State) -> None: ...

    def close(self, state: State) -> None: ...
