"""Resource admission for a ``WorkerPool``: grants first, workers second.

One asyncio loop thread per pool (started with the first job that carries a
resource request) awaits ``ResourcePool.occupy_async`` for each such job.
The ledger behind the resource pool orders the waits (priority, arrival,
starvation guard); a granted job is handed to the pool's ready heap and the
task keeps the grant until the job ends, then gives it back on this loop.
Why a loop and not the worker threads: a worker blocked in ``occupy`` holds
a thread (and a V8 isolate) while doing nothing, and a blocking wait cannot
be cancelled cleanly; an awaiting task costs a few hundred bytes and is
cancelled with ``task.cancel()`` (``acquire_async`` then withdraws the
request from the ledger).

Fast path: ``try_occupy`` on the submitting thread; only a request that is
not free at once goes to the loop. Grants are given back with the pool's
thread-safe ``release`` from the worker that ran the job.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from .pool import WorkerPool, _Job

__all__ = ["Admission"]

_log = logging.getLogger(__name__)


class Admission:
    """The admission loop of one pool. Methods other than ``_``-prefixed
    ones may be called from any thread."""

    def __init__(self, pool: WorkerPool, resource_pool: Any, name: str) -> None:
        self._pool = pool
        self._resource_pool = resource_pool
        self._loop = asyncio.new_event_loop()
        self._waiting: dict[_Job, asyncio.Task] = {}  # loop thread only
        self._closing = False
        self._thread = threading.Thread(target=self._run, name=f"zako-admission-{name}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_forever()
        finally:
            pending = asyncio.all_tasks(self._loop)
            for task in pending:
                task.cancel()
            if pending:
                self._loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            self._loop.close()

    def _call(self, fn: Callable[..., Any], *args: Any) -> None:
        try:
            self._loop.call_soon_threadsafe(fn, *args)
        except RuntimeError:  # loop already closed: nothing is waiting any more
            pass

    def admit(self, job: _Job) -> None:
        """Try the grant now; queue the wait on the loop if it is not free."""
        try:
            held = self._resource_pool.try_occupy(job.request, job.priority)
            grant = held.__enter__()
        except Exception as exc:  # unknown resource, oversized hard request
            self._pool._admission_failed(job, exc)
            return
        if grant is not None:
            self._pool._admitted(job, lambda: held.__exit__(None, None, None))
            return
        self._call(self._start, job)

    def cancel(self, job: _Job, handle: Any = None) -> None:
        self._call(self._cancel, job)

    def close_when_idle(self) -> None:
        self._closing = True
        self._call(self._maybe_stop)

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    # --- loop thread -----------------------------------------------------------

    def _start(self, job: _Job) -> None:
        from .pool import _ADMITTING

        if job.state != _ADMITTING:  # cancelled on its way here
            self._pool._admission_failed(job, None)
            return
        self._waiting[job] = self._loop.create_task(self._hold(job))

    def _cancel(self, job: _Job) -> None:
        task = self._waiting.get(job)
        if task is not None:
            task.cancel()

    def _maybe_stop(self) -> None:
        if self._closing and not self._waiting:
            self._loop.stop()

    async def _hold(self, job: _Job) -> None:
        pool = self._pool
        resources = self._resource_pool
        try:
            grant = await resources.occupy_async(job.request, job.priority)
        except asyncio.CancelledError:
            pool._admission_failed(job, None)  # the job was cancelled first
            return
        except BaseException as exc:
            pool._admission_failed(job, exc)
            return
        finally:
            self._waiting.pop(job, None)
            self._maybe_stop()
        pool._admitted(job, lambda: resources.release(grant))
