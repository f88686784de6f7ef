"""``WorkerPool``: threads that each own a behaviour state, started on demand.

Dispatch, in one picture::

    submit ─┬─ no resource request ─────────────────────────► ready heap ─► worker
            └─ request ─► try_occupy ── granted ─────────────┘  (priority, arrival)
                             └─ not free ─► admission loop ──┘
                                            (await occupy_async)

A job that carries a resource request is *admitted* before any worker sees
it: the submitting thread tries ``ResourcePool.try_occupy``; a request that
is not free goes to the pool's admission loop (one asyncio thread awaiting
``occupy_async`` for every waiting job), and only a job that holds its grant
enters the ready heap. So a job waiting for memory never blocks a worker
thread holding nothing useful, workers (and the V8 engines they own) start
only for work that can actually run, and a job cancelled while waiting
withdraws its request. The worker gives the grant back when the job ends.

Locking: one lock guards all pool state; behaviour calls and future
completion happen outside it, so user callbacks can re-enter the pool.
"""

from __future__ import annotations

import asyncio
import atexit
import heapq
import itertools
import logging
import threading
import time
import weakref
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import CancelledError, Future, InvalidStateError
from dataclasses import dataclass, field
from typing import Any

from .. import trace as _trace
from .admission import Admission
from .behavior import WorkerBehavior
from .cancel import CancelSource, CancelToken
from .config import PoolConfig
from .errors import WorkerPoolError

__all__ = ["WorkerPool", "PoolStats", "RETIRE_REASONS"]

_log = logging.getLogger(__name__)

#: Why a worker thread ended.
RETIRE_REASONS = ("idle", "jobs", "heap", "error", "shutdown")

# Job states; every transition happens under the pool lock.
_ADMITTING, _QUEUED, _RUNNING, _DONE, _CANCELLED = range(5)

_pool_ids = itertools.count(1)
_live_pools: weakref.WeakSet[WorkerPool] = weakref.WeakSet()


@atexit.register
def _shutdown_all_pools() -> None:
    # Workers are daemon threads (so a forgotten pool cannot hang exit);
    # stopping them here still lets every behaviour close its state while
    # the interpreter is intact.
    for pool in list(_live_pools):
        try:
            pool.shutdown(wait=True, cancel_pending=True, cancel_running=True)
        except Exception:  # pragma: no cover - best effort at exit
            _log.exception("shutting down %r at exit failed", pool)


_STATS_ALIASES = ("live", "busy", "done", "failed", "cancelled")


@dataclass(frozen=True)
class PoolStats(Mapping):
    """A consistent snapshot of a pool (also readable as a mapping).

    ``live_workers`` threads serve jobs, ``busy_workers`` of them run one
    now; ``queued`` jobs are not started yet (``admitting`` of those still
    wait for resources); ``started`` counts every worker thread ever
    started; ``retired`` counts ended workers by reason (one of
    ``RETIRE_REASONS``); ``jobs_done``/``jobs_failed``/``jobs_cancelled``
    count finished futures by outcome. Short aliases: ``live``, ``busy``,
    ``done``, ``failed``, ``cancelled``.
    """

    live_workers: int
    busy_workers: int
    queued: int
    admitting: int
    started: int
    retired: dict[str, int] = field(default_factory=dict)
    jobs_done: int = 0
    jobs_failed: int = 0
    jobs_cancelled: int = 0

    @property
    def live(self) -> int:
        return self.live_workers

    @property
    def busy(self) -> int:
        return self.busy_workers

    @property
    def done(self) -> int:
        return self.jobs_done

    @property
    def failed(self) -> int:
        return self.jobs_failed

    @property
    def cancelled(self) -> int:
        return self.jobs_cancelled

    def __getitem__(self, key: str) -> Any:
        if key in self.__dataclass_fields__ or key in _STATS_ALIASES:
            return getattr(self, key)
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(self.__dataclass_fields__)

    def __len__(self) -> int:
        return len(self.__dataclass_fields__)


class _JobFuture(Future):
    """A future whose ``cancel()`` also reaches a running job.

    The pool keeps it PENDING while the job runs (``running()`` reports the
    truth through ``_job_running``), so ``cancel()`` is honoured at any point
    before the result: a queued job is dropped, a running one has its cancel
    token fired (terminating V8) and the future reads as cancelled at once.
    """

    __slots__ = ("_job", "_pool")

    def __init__(self) -> None:
        super().__init__()
        self._job: _Job | None = None
        self._pool: WorkerPool | None = None

    def running(self) -> bool:
        job = self._job
        return job is not None and job.state == _RUNNING and not self.done()

    def cancel(self) -> bool:
        if not super().cancel():
            return False
        pool, job = self._pool, self._job
        if pool is not None and job is not None:
            pool._on_job_cancelled(job)
        return True


_POOL_SERIALS = itertools.count(1)


class _Job:
    __slots__ = (
        "input", "future", "token", "caller_token", "on_caller_cancel", "priority", "request",
        "state", "seq", "release", "admit_handle", "cancel_seen",
    )

    def __init__(self, input: Any, caller_token: CancelToken | None, priority: int, request: Any, seq: int) -> None:
        self.input = input
        self.future = _JobFuture()
        # The behaviour sees a token of the job's own, fired by
        # ``future.cancel()``; the caller's token only reaches it through
        # the future, so there is one path to cancellation.
        self.token = CancelToken()
        self.caller_token = caller_token
        self.on_caller_cancel = self.future.cancel
        self.priority = priority
        self.request = request
        self.state = _QUEUED
        self.seq = seq
        self.release: Any = None  # callable giving the resource grant back
        self.admit_handle: Any = None  # the admission wait, cancellable
        self.cancel_seen = False


class _GcRequest:
    __slots__ = ("event", "ran")

    def __init__(self) -> None:
        self.event = threading.Event()
        self.ran = False


class _Worker:
    __slots__ = ("number", "thread", "job", "jobs", "gc_requests", "retire_reason", "idle_since")

    def __init__(self, number: int) -> None:
        self.number = number
        self.thread: threading.Thread | None = None
        self.job: _Job | None = None  # the job running now
        self.jobs = 0
        self.gc_requests: list[_GcRequest] = []
        self.retire_reason = "shutdown"
        self.idle_since = time.monotonic()


_NO_STATE = object()


class WorkerPool:
    """Runs jobs on worker threads that each own one ``behavior`` state.

    ``WorkerPool(behavior, config, *, resource_pool=None,
    default_request=None, name=None)``; nothing runs before ``start``.

    - ``resource_pool``: a ``zako.resource.ResourcePool``; when given, a job
      with a resource request (``submit(resources=...)``, else
      ``default_request``, else ``behavior.default_request``) is admitted
      only once the request is granted, and gives it back when it ends.
    - Jobs run in (priority, arrival) order, lower priority number first.

    Thread-safe. Errors of the pool itself raise ``WorkerPoolError``; a
    job's error only fails that job's future.
    """

    def __init__(
        self,
        behavior: WorkerBehavior,
        config: PoolConfig,
        *,
        resource_pool: Any = None,
        default_request: Mapping[str, Any] | None = None,
        name: str | None = None,
    ) -> None:
        if not isinstance(config, PoolConfig):
            raise TypeError(f"WorkerPool config must be a PoolConfig, got {config!r}")
        for hook in ("init", "process", "gc", "close"):
            if not callable(getattr(behavior, hook, None)):
                raise TypeError(f"WorkerPool behavior {behavior!r} lacks a callable {hook}()")
        self._behavior = behavior
        self._config = config
        self._resource_pool = resource_pool
        if default_request is None and resource_pool is not None:
            default_request = getattr(behavior, "default_request", None)
        self._default_request = dict(default_request) if default_request else None
        self._name = name or f"{type(behavior).__name__}-{next(_pool_ids)}"
        self._heap_hook = getattr(behavior, "heap_bytes", None)
        self._broken_hook = getattr(behavior, "is_broken", None)

        self._lock = threading.Lock()
        self._work_cv = threading.Condition(self._lock)
        self._space_cv = threading.Condition(self._lock)
        self._started = False
        self._closing = False
        self._context: Any = None
        self._ready: list[tuple[int, int, _Job]] = []
        self._seq = itertools.count()
        # Trace ids of resource waits: unique per process (an id() of the job
        # would be reused once the job is freed, merging two waits).
        self._trace_base = next(_POOL_SERIALS) << 32
        self._queued = 0  # ADMITTING + QUEUED jobs
        self._admitting: set[_Job] = set()
        self._async_space_waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future]] = []
        self._workers: set[_Worker] = set()
        self._threads: set[threading.Thread] = set()
        self._worker_numbers = itertools.count(1)
        self._busy = 0
        self._n_started = 0
        self._retired: Counter[str] = Counter()
        self._done = self._failed = self._cancelled = 0
        self._init_failed = False  # stops min_workers respawning a failing init
        self._admission: Admission | None = None

    # --- lifecycle -----------------------------------------------------------

    @property
    def name(self) -> str:
        return self._name

    @property
    def config(self) -> PoolConfig:
        return self._config

    @property
    def behavior(self) -> WorkerBehavior:
        return self._behavior

    def start(self, context: Any = None) -> WorkerPool:
        """Start serving; ``context`` goes to every ``behavior.init``.

        Starts ``min_workers`` threads now, the rest on demand. Raises
        ``WorkerPoolError`` if the pool was already started (or shut down).
        Returns the pool.
        """
        with self._lock:
            if self._closing:
                raise WorkerPoolError(f"worker pool {self._name!r} is shut down; it cannot be started again")
            if self._started:
                raise WorkerPoolError(f"worker pool {self._name!r} was already started")
            self._started = True
            self._context = context
            _live_pools.add(self)
            self._replenish_locked()
        return self

    def __enter__(self) -> WorkerPool:
        """Start with no context unless already started."""
        with self._lock:
            started = self._started
        if not started:
            self.start(None)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.shutdown(wait=True)

    def shutdown(
        self,
        wait: bool = True,
        cancel_pending: bool = False,
        *,
        cancel_running: bool = False,
        timeout: float | None = None,
    ) -> None:
        """Stop taking jobs; finish (or, with ``cancel_pending``, cancel)
        the queued ones; then every worker closes its state and ends.
        ``cancel_running`` also fires the tokens of the jobs running now
        (terminating their scripts), as is done at interpreter exit.

        With ``wait`` this returns once every worker thread has ended
        (``timeout`` bounds the wait; the threads go on ending in the
        background if it passes). Idempotent; ``submit`` afterwards raises
        ``WorkerPoolError``, as do ``submit`` calls blocked on a full queue.
        """
        with self._lock:
            self._closing = True
            self._started = True  # a never-started pool can not be started after
            pending = []
            if cancel_pending:
                pending = [job for _, _, job in self._ready if job.state == _QUEUED]
                pending.extend(self._admitting)
            if cancel_running:
                pending.extend(w.job for w in self._workers if w.job is not None)
            self._work_cv.notify_all()
            self._space_cv.notify_all()
            self._wake_async_space_waiters_locked()
            admission = self._admission
        for job in pending:
            job.future.cancel()
        if admission is not None:
            admission.close_when_idle()
        if not wait:
            return
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            if thread is threading.current_thread():
                continue  # a job shutting down its own pool must not self-join
            thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        if admission is not None:
            admission.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        _live_pools.discard(self)

    # --- submitting ------------------------------------------------------------

    def submit(
        self,
        input: Any,
        cancel_token: CancelToken | None = None,
        *,
        resources: Mapping[str, Any] | None = None,
        priority: int = 0,
    ) -> Future:
        """Queue one job; returns its ``concurrent.futures.Future``.

        Blocks while ``queue_limit`` jobs are waiting (backpressure). The
        future's result is ``behavior.process``'s output, or its exception;
        a job cancelled through ``cancel_token`` (a ``CancelToken``, or a
        ``CancelSource`` for its token) or ``future.cancel()`` ends in
        ``CancelledError``, and never runs if it had not started. Raises
        ``WorkerPoolError`` before ``start`` or after ``shutdown``.
        """
        job = self._new_job(input, cancel_token, resources, priority)
        limit = self._config.queue_limit
        with self._lock:
            self._check_open_locked()
            while limit is not None and self._queued >= limit:
                self._space_cv.wait()
                self._check_open_locked()
            self._enqueue_locked(job)
        return self._after_enqueue(job, cancel_token)

    async def submit_async(
        self,
        input: Any,
        cancel_token: CancelToken | None = None,
        *,
        resources: Mapping[str, Any] | None = None,
        priority: int = 0,
    ) -> Any:
        """``submit`` for asyncio: awaits a queue slot, then the job's output.

        Cancelling the awaiting task cancels the job (a running V8 script is
        terminated).
        """
        loop = asyncio.get_running_loop()
        job = self._new_job(input, cancel_token, resources, priority)
        limit = self._config.queue_limit
        while True:
            with self._lock:
                self._check_open_locked()
                if limit is None or self._queued < limit:
                    self._enqueue_locked(job)
                    break
                waiter = loop.create_future()
                self._async_space_waiters.append((loop, waiter))
            try:
                await waiter
            finally:
                with self._lock:
                    try:
                        self._async_space_waiters.remove((loop, waiter))
                    except ValueError:
                        pass
        future = self._after_enqueue(job, cancel_token)
        return await asyncio.wrap_future(future)

    def map(
        self,
        inputs: Iterable[Any],
        cancel_token: CancelToken | None = None,
        *,
        timeout: float | None = None,
        priority: int = 0,
    ) -> list[Any]:
        """Run every input; return the outputs as a list in input order.

        All inputs are submitted first (blocking at ``queue_limit`` while
        the workers drain the queue). If a job failed, its exception is
        raised once the earlier outputs are in, and every job not finished
        yet is cancelled. ``timeout`` (seconds) bounds the whole call and
        raises ``TimeoutError``, also cancelling what is left.
        """
        futures = [self.submit(x, cancel_token, priority=priority) for x in inputs]
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            return [
                future.result(None if deadline is None else max(0.0, deadline - time.monotonic()))
                for future in futures
            ]
        finally:
            for future in futures:
                future.cancel()  # no-op for finished futures

    def _new_job(self, input: Any, token: CancelToken | None, resources: Any, priority: int) -> _Job:
        if isinstance(priority, bool) or not isinstance(priority, int):
            raise TypeError(f"job priority must be an int, got {priority!r} (pool {self._name!r})")
        request = resources if resources is not None else self._default_request
        if request is not None and self._resource_pool is None:
            if resources is not None:
                raise WorkerPoolError(
                    f"job asks for resources {dict(resources)!r} but pool {self._name!r} has no resource_pool"
                )
            request = None
        if isinstance(token, CancelSource):
            token = token.token  # a source is accepted for its token
        elif token is not None and not callable(getattr(token, "add_callback", None)):
            raise TypeError(f"cancel_token must be a CancelToken, got {token!r} (pool {self._name!r})")
        return _Job(input, token, priority, request, 0)

    def _check_open_locked(self) -> None:
        if not self._started:
            raise WorkerPoolError(f"worker pool {self._name!r} is not started; call start() first")
        if self._closing:
            raise WorkerPoolError(f"worker pool {self._name!r} is shut down; it takes no new jobs")

    def _enqueue_locked(self, job: _Job) -> None:
        job.seq = next(self._seq)
        job.future._job = job
        job.future._pool = self
        self._queued += 1
        if job.request is not None:
            job.state = _ADMITTING
            self._admitting.add(job)
            if self._admission is None:
                self._admission = Admission(self, self._resource_pool, self._name)
        else:
            self._push_ready_locked(job)

    def _after_enqueue(self, job: _Job, token: CancelToken | None) -> Future:
        # Outside the lock: these may run callbacks synchronously.
        if job.request is not None:
            assert self._admission is not None
            rec = _trace.current()
            if rec.enabled:  # before admit(): the grant may come back inside it
                rec.async_begin("resource wait", "resource", self._wait_id(job), {"pool": self._name})
            self._admission.admit(job)
        if job.caller_token is not None:
            job.caller_token.add_callback(job.on_caller_cancel)
        return job.future

    def _wait_id(self, job: _Job) -> int:
        return self._trace_base + job.seq

    def _push_ready_locked(self, job: _Job) -> None:
        job.state = _QUEUED
        heapq.heappush(self._ready, (job.priority, job.seq, job))
        self._work_cv.notify()
        self._replenish_locked()

    # Called by the admission loop thread once a job holds its grant.
    def _admitted(self, job: _Job, release: Any) -> None:
        rec = _trace.current()
        if rec.enabled:
            rec.async_end("resource wait", "resource", self._wait_id(job), {"granted": True})
        with self._lock:
            self._admitting.discard(job)
            if job.state == _ADMITTING:
                job.release = release
                self._push_ready_locked(job)
                return
            if self._closing:
                self._work_cv.notify_all()  # idle workers may now end
        # Cancelled while the grant was on its way: give it straight back.
        _release(job, release)

    def _admission_failed(self, job: _Job, exc: BaseException | None) -> None:
        """The admission wait ended without a grant: ``exc`` is why, or None
        when the wait was cancelled (the job was cancelled first)."""
        rec = _trace.current()
        if rec.enabled:
            rec.async_end("resource wait", "resource", self._wait_id(job), {"granted": False})
        with self._lock:
            self._admitting.discard(job)
            if self._closing:
                self._work_cv.notify_all()
            if job.state != _ADMITTING:
                return
            if exc is not None:
                job.state = _DONE
                self._queued -= 1
                self._failed += 1
                self._slot_freed_locked()
        if exc is None:
            # The wait was torn down under a live job (the loop is ending):
            # the job can no longer be admitted.
            job.future.cancel()
            return
        _unlink(job)
        try:
            job.future.set_exception(exc)
        except InvalidStateError:
            pass

    # --- cancellation ----------------------------------------------------------

    def _on_job_cancelled(self, job: _Job) -> None:
        with self._lock:
            if job.cancel_seen:
                return
            job.cancel_seen = True
            state = job.state
            release = None
            if state in (_QUEUED, _ADMITTING):
                job.state = _CANCELLED
                self._queued -= 1
                self._cancelled += 1
                self._slot_freed_locked()
                handle = job.admit_handle
                # Admitted but not started: its grant goes back now.
                release, job.release = job.release, None
                job.input = None
            else:
                handle = None
        _release(job, release)
        if state in (_QUEUED, _ADMITTING):
            # Never started: waiters (wait/as_completed) learn it now.
            job.future.set_running_or_notify_cancel()
            _unlink(job)
            if state == _ADMITTING and self._admission is not None:
                self._admission.cancel(job, handle)
        # Running: fire the job's token; the worker completes the bookkeeping.
        job.token.cancel("future cancelled")

    def _slot_freed_locked(self) -> None:
        self._space_cv.notify()
        self._wake_async_space_waiters_locked()
        if self._closing:
            self._work_cv.notify_all()

    def _wake_async_space_waiters_locked(self) -> None:
        for loop, waiter in self._async_space_waiters:
            try:
                loop.call_soon_threadsafe(_set_waiter, waiter)
            except RuntimeError:  # that loop is closed; its waiter is gone
                pass

    # --- workers -------------------------------------------------------------

    def _replenish_locked(self) -> None:
        """Start workers for queued work (up to max) and up to min_workers."""
        if not self._started:
            return
        cfg = self._config
        while len(self._workers) < cfg.max_workers:
            free = len(self._workers) - self._busy
            ready = len(self._ready)
            keep_min = not self._closing and not self._init_failed and len(self._workers) < cfg.min_workers
            if not (ready > free or keep_min):
                break
            self._spawn_locked()

    def _spawn_locked(self) -> None:
        worker = _Worker(next(self._worker_numbers))
        thread = threading.Thread(
            target=self._worker_main,
            args=(worker,),
            name=f"zako-worker-{self._name}-{worker.number}",
            daemon=True,
        )
        worker.thread = thread
        self._workers.add(worker)
        self._threads.add(thread)
        self._n_started += 1
        thread.start()

    def _worker_main(self, worker: _Worker) -> None:
        state: Any = _NO_STATE
        try:
            try:
                state = self._behavior.init(self._context)
            except BaseException as exc:
                self._init_failed_with(worker, exc)
                return
            with self._lock:
                self._init_failed = False
            while True:
                job, gc_requests = self._next_action(worker)
                for request in gc_requests:
                    self._run_gc(worker, state, request)
                if job is not None and not self._run_job(worker, state, job):
                    return
                if job is None and not gc_requests:
                    return
        finally:
            if state is not _NO_STATE:
                try:
                    self._behavior.close(state)
                except Exception:
                    _log.exception("worker %s of pool %r: close() raised", worker.number, self._name)
            with self._lock:
                self._workers.discard(worker)
                self._threads.discard(threading.current_thread())
                self._retired[worker.retire_reason] += 1
                for request in worker.gc_requests:
                    request.event.set()  # its state is gone: nothing left to collect
                worker.gc_requests.clear()
                self._replenish_locked()

    def _init_failed_with(self, worker: _Worker, exc: BaseException) -> None:
        # A worker that cannot even start fails one queued job with the
        # cause, so the error surfaces instead of jobs waiting forever.
        _log.warning("worker %s of pool %r: init() raised %r", worker.number, self._name, exc)
        with self._lock:
            worker.retire_reason = "error"
            self._workers.discard(worker)
            self._init_failed = True
            job = self._pop_ready_locked()
            if job is not None:
                job.state = _DONE
                self._failed += 1
        if job is not None:
            _release(job, job.release)
            job.release = None
            _unlink(job)
            job.input = None
            self._finish_failed(job, exc)

    def _pop_ready_locked(self) -> _Job | None:
        while self._ready:
            _, _, job = heapq.heappop(self._ready)
            if job.state == _QUEUED:
                self._queued -= 1
                self._slot_freed_locked()
                return job
        return None

    def _next_action(self, worker: _Worker) -> tuple[_Job | None, list[_GcRequest]]:
        """Block until this worker has a job, gc requests, or must end."""
        cfg = self._config
        with self._lock:
            while True:
                if worker.gc_requests:
                    requests, worker.gc_requests = worker.gc_requests, []
                    return None, requests
                job = self._pop_ready_locked()
                if job is not None:
                    job.state = _RUNNING
                    worker.job = job
                    self._busy += 1
                    return job, []
                if self._closing and not self._admitting:
                    worker.retire_reason = "shutdown"
                    self._workers.discard(worker)
                    return None, []
                timeout = None
                if len(self._workers) > cfg.min_workers and not self._closing:
                    timeout = worker.idle_since + cfg.idle_timeout_s - time.monotonic()
                    if timeout <= 0:
                        worker.retire_reason = "idle"
                        self._workers.discard(worker)
                        return None, []
                    if timeout > threading.TIMEOUT_MAX:
                        timeout = None
                self._work_cv.wait(timeout)

    def _run_gc(self, worker: _Worker, state: Any, request: _GcRequest) -> None:
        try:
            self._behavior.gc(state)
            request.ran = True
        except Exception:
            _log.exception("worker %s of pool %r: gc() raised", worker.number, self._name)
        finally:
            request.event.set()

    def _run_job(self, worker: _Worker, state: Any, job: _Job) -> bool:
        """Run one job; False when this worker must now retire."""
        token = job.token
        output: Any = None
        error: BaseException | None = None
        broken = False
        rec = _trace.current()
        if rec.enabled:
            t0, described = time.perf_counter_ns(), job.input
        try:
            token.raise_if_cancelled()
            output = self._behavior.process(state, job.input, token)
        except BaseException as exc:
            error = exc
            if not token.cancelled and not isinstance(exc, CancelledError):
                broken = self._is_broken(state, exc)
        finally:
            if rec.enabled:
                name, cat, args = _trace.describe_job(self._name, described, output, error)
                rec.complete(name, cat, t0, time.perf_counter_ns(), args)
            release, job.release = job.release, None
            _unlink(job)
            job.input = None  # a caller holding the future must not pin the input

        cancelled = token.cancelled or isinstance(error, CancelledError)
        heap = None
        reason = None
        worker.jobs += 1
        if broken:
            reason = "error"
        elif self._config.max_jobs_per_worker is not None and worker.jobs >= self._config.max_jobs_per_worker:
            reason = "jobs"
        elif self._config.max_heap_bytes_per_worker is not None and self._heap_hook is not None:
            try:
                heap = self._heap_hook(state)
            except Exception:
                _log.exception("worker %s of pool %r: heap_bytes() raised", worker.number, self._name)
            if heap is not None and heap > self._config.max_heap_bytes_per_worker:
                reason = "heap"

        with self._lock:
            job.state = _DONE
            worker.job = None
            self._busy -= 1
            worker.idle_since = time.monotonic()
            if cancelled:
                self._cancelled += 1
            elif error is not None:
                self._failed += 1
            else:
                self._done += 1
            if reason is not None:
                worker.retire_reason = reason
                self._workers.discard(worker)
                self._replenish_locked()  # the replacement starts while we close
        # Only now, with this worker counted free again, may the grant admit
        # the next job: earlier, that job would see no free worker and start
        # one more thread than the work needs.
        _release(job, release)

        future = job.future
        if cancelled:
            if not future.cancelled():
                future.cancel()  # the behaviour gave up on its own token
            try:
                future.set_running_or_notify_cancel()
            except RuntimeError:
                pass  # already notified
        elif error is not None:
            self._finish_failed(job, error)
        else:
            try:
                future.set_result(output)
            except InvalidStateError:
                self._cancelled_at_last_instant(job, "done")
        return reason is None

    def _finish_failed(self, job: _Job, error: BaseException) -> None:
        try:
            job.future.set_exception(error)
        except InvalidStateError:
            self._cancelled_at_last_instant(job, "failed")

    def _cancelled_at_last_instant(self, job: _Job, counted_as: str) -> None:
        # future.cancel() won the race against the result: it reads as
        # cancelled, so count it so and tell its waiters.
        with self._lock:
            if counted_as == "done":
                self._done -= 1
            else:
                self._failed -= 1
            self._cancelled += 1
        try:
            job.future.set_running_or_notify_cancel()
        except RuntimeError:
            pass

    def _is_broken(self, state: Any, error: BaseException) -> bool:
        if self._broken_hook is not None:
            try:
                return bool(self._broken_hook(state, error))
            except Exception:
                _log.exception("pool %r: is_broken() raised; treating the state as broken", self._name)
                return True
        return not isinstance(error, Exception)

    # --- broadcast and introspection -----------------------------------------

    def gc(self, timeout: float | None = None) -> int:
        """Ask every live worker to run ``behavior.gc`` once; wait for all.

        Idle workers run it at once, busy ones right after their current
        job; a worker that retires first counts as done (its state is
        closed). Returns how many workers ran ``gc``. ``timeout`` (seconds)
        bounds the wait; requests still pending then run later.
        """
        me = threading.current_thread()
        with self._lock:
            requests = []
            for worker in self._workers:
                request = _GcRequest()
                worker.gc_requests.append(request)
                # A job calling gc() on its own pool cannot wait for its own
                # worker, which collects right after this job instead.
                if worker.thread is not me:
                    requests.append(request)
            self._work_cv.notify_all()
        deadline = None if timeout is None else time.monotonic() + timeout
        for request in requests:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            request.event.wait(left)
        return sum(1 for r in requests if r.ran)

    def stats(self) -> PoolStats:
        """A snapshot of workers, queue and job outcomes (see ``PoolStats``)."""
        with self._lock:
            return PoolStats(
                live_workers=len(self._workers),
                busy_workers=self._busy,
                queued=self._queued,
                admitting=len(self._admitting),
                started=self._n_started,
                retired={reason: self._retired.get(reason, 0) for reason in RETIRE_REASONS},
                jobs_done=self._done,
                jobs_failed=self._failed,
                jobs_cancelled=self._cancelled,
            )

    def __repr__(self) -> str:
        s = self.stats()
        state = "closed" if self._closing else ("running" if self._started else "new")
        return (
            f"<WorkerPool {self._name!r} {state} live={s.live_workers} busy={s.busy_workers} "
            f"queued={s.queued} max={self._config.max_workers}>"
        )


def _set_waiter(waiter: asyncio.Future) -> None:
    if not waiter.done():
        waiter.set_result(None)


def _unlink(job: _Job) -> None:
    """Forget the caller's token, so a long-lived one keeps no finished job."""
    if job.caller_token is not None:
        job.caller_token.remove_callback(job.on_caller_cancel)
        job.caller_token = None


def _release(job: _Job, release: Any) -> None:
    if release is None:
        return
    try:
        release()
    except Exception:
        _log.exception("releasing the resources of a job failed")
