"""Resource admission for a ``WorkerPool``: grants first, workers second.

One asyncio loop thread per pool (started with the first job that carries a
resource request) awaits ``ResourcePool.occupy_async`` for each such job.
The ledger behind the resource pool orders the waits (priority, arrival,
starvation guard); a granted job is handed to the pool's ready heap and the
task keeps the grant until the job ends, then gives it back on this loop.
Why a loop and not the worker threads: a worker blocked in ``occupy`` holds
a thread (and a V8 isolate) while doing nothing, and a blocking wait cannot
be cancelled cleanly; an awaiting task costs a few hundred bytes and is
cancelled with ``task.cancel()``.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import TYPE_CHECKING, Any, Awaitable, Callable

if TYPE_CHECKING:
    from .pool import WorkerPool, _Job

__all__ = ["Admission"]

_log = logging.getLogger(__name__)


async def _acquire(resource_pool: Any, request: Any, priority: int) -> Callable[[], Awaitable[None]]:
    """Occupy ``request``; return a coroutine function that gives it back.

    Accepts both shapes an ``occupy_async`` may have: an async context
    manager, or an awaitable that returns a guard (with ``release()`` or
    ``__exit__``).
    """
    acquired = resource_pool.occupy_async(request, priority=priority)
    if hasattr(acquired, "__aenter__"):
        await acquired.__aenter__()

        async def exit_cm() -> None:
            await acquired.__aexit__(None, None, None)

        return exit_cm
    guard = await acquired

    async def exit_guard() -> None:
        if hasattr(guard, "release"):
            result = guard.release()
        else:
            result = guard.__exit__(None, None, None)
        if asyncio.iscoroutine(result):
            await result

    return exit_guard


class Admission:
    """The admission loop of one pool. Methods other than ``_``-prefixed
    ones may be called from any thread."""

    def __init__(self, pool: WorkerPool, resource_pool: Any, name: str) -> None:
        self._pool = pool
        self._resource_pool = resource_pool
        self._loop = asyncio.new_event_loop()
        self._waiting: dict[_Job, asyncio.Task] = {}  # loop thread only
        self._holding = 0  # loop thread only
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
        self._waiting[job] = self._loop.create_task(self._hold(job))

    def _cancel(self, job: _Job) -> None:
        task = self._waiting.get(job)
        if task is not None:
            task.cancel()

    def _maybe_stop(self) -> None:
        if self._closing and not self._waiting and not self._holding:
            self._loop.stop()

    async def _hold(self, job: _Job) -> None:
        pool = self._pool
        try:
            try:
                exit_grant = await _acquire(self._resource_pool, job.request, job.priority)
            except asyncio.CancelledError:
                pool._admission_failed(job, None)
                return
            except BaseException as exc:
                pool._admission_failed(job, exc)
                return
        finally:
            self._waiting.pop(job, None)
            self._loop.call_soon(self._maybe_stop)
        self._holding += 1
        released = asyncio.Event()
        loop = self._loop
        try:
            pool._admitted(job, lambda: loop.call_soon_threadsafe(released.set))
            await released.wait()
        except asyncio.CancelledError:
            pass  # loop shutting down: give the grant back below
        finally:
            try:
                await exit_grant()
            except Exception:
                _log.exception("releasing resources %r failed", job.request)
            self._holding -= 1
            self._maybe_stop()
