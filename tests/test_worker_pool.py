"""The generic worker pool, driven by a fake behaviour synchronised with events.

Jobs are callables ``fn(state, token)``, so each test says exactly what its
jobs do; blocking jobs wait on ``threading.Event``s the test sets.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time

import pytest

from zako.worker import (
    RETIRE_REASONS,
    CancelSource,
    PoolConfig,
    WorkerBehavior,
    WorkerPool,
    WorkerPoolError,
)

WAIT = 10.0  # generous upper bound for anything that should happen "now"


def wait_until(predicate, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.002)


class State:
    _ids = itertools.count(1)

    def __init__(self) -> None:
        self.id = next(self._ids)
        self.thread = threading.current_thread().name
        self.jobs = 0
        self.gc_runs = 0
        self.heap = 0
        self.closed = False


class Fake:
    """A behaviour whose jobs are callables; records every lifecycle call."""

    def __init__(self, *, broken_on: type[BaseException] | None = None, init_error: Exception | None = None):
        self.lock = threading.Lock()
        self.states: list[State] = []
        self.closed: list[State] = []
        self.contexts: list[object] = []
        self.running = 0
        self.max_running = 0
        self.broken_on = broken_on
        self.init_error = init_error

    def init(self, context):
        if self.init_error is not None:
            raise self.init_error
        state = State()
        with self.lock:
            self.states.append(state)
            self.contexts.append(context)
        return state

    def process(self, state, job, token):
        with self.lock:
            self.running += 1
            self.max_running = max(self.max_running, self.running)
        try:
            state.jobs += 1
            return job(state, token)
        finally:
            with self.lock:
                self.running -= 1

    def gc(self, state):
        state.gc_runs += 1

    def close(self, state):
        state.closed = True
        with self.lock:
            self.closed.append(state)

    def heap_bytes(self, state):
        return state.heap

    def is_broken(self, state, error):
        return self.broken_on is not None and isinstance(error, self.broken_on)


def blocker(gate: threading.Event, started: threading.Semaphore | None = None, value=None):
    def job(state, token):
        if started is not None:
            started.release()
        assert gate.wait(WAIT), "test never opened the gate"
        return value if value is not None else state.id

    return job


def state_id(state, token):
    return state.id


def acquire_n(sem: threading.Semaphore, n: int) -> None:
    for _ in range(n):
        assert sem.acquire(timeout=WAIT)


def worker_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith(("zako-worker-", "zako-admission-"))]


@pytest.fixture(autouse=True)
def no_thread_leaks():
    before = set(worker_threads())
    yield
    wait_until(lambda: not (set(worker_threads()) - before))


# --- config and lifecycle -------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"max_workers": 0}, "max_workers"),
        ({"max_workers": 2, "min_workers": 3}, "min_workers"),
        ({"max_workers": 2, "min_workers": -1}, "min_workers"),
        ({"max_workers": 1, "idle_timeout_s": 0}, "idle_timeout_s"),
        ({"max_workers": 1, "idle_timeout_s": float("nan")}, "idle_timeout_s"),
        ({"max_workers": 1, "max_jobs_per_worker": 0}, "max_jobs_per_worker"),
        ({"max_workers": 1, "max_heap_bytes_per_worker": -5}, "max_heap_bytes_per_worker"),
        ({"max_workers": 1, "queue_limit": 0}, "queue_limit"),
    ],
)
def test_config_rejects_bad_values_naming_them(kwargs, field):
    with pytest.raises(ValueError, match=field):
        PoolConfig(**kwargs)


@pytest.mark.parametrize("kwargs", [{"max_workers": 1.5}, {"max_workers": True}, {"max_workers": 1, "queue_limit": "3"}])
def test_config_rejects_wrong_types(kwargs):
    with pytest.raises(TypeError):
        PoolConfig(**kwargs)


def test_fake_behaviour_satisfies_the_protocol():
    assert isinstance(Fake(), WorkerBehavior)


def test_pool_refuses_a_behaviour_missing_a_hook_and_a_non_config():
    class NoGc:
        def init(self, context): ...

        def process(self, state, job, token): ...

        def close(self, state): ...

    with pytest.raises(TypeError, match="gc"):
        WorkerPool(NoGc(), PoolConfig(max_workers=1))
    with pytest.raises(TypeError, match="PoolConfig"):
        WorkerPool(Fake(), {"max_workers": 1})


def test_config_defaults():
    cfg = PoolConfig(max_workers=3)
    assert (cfg.min_workers, cfg.idle_timeout_s, cfg.max_jobs_per_worker) == (0, 60, None)
    assert (cfg.max_heap_bytes_per_worker, cfg.queue_limit) == (None, None)


def test_start_twice_and_submit_outside_lifetime_raise():
    pool = WorkerPool(Fake(), PoolConfig(max_workers=1))
    with pytest.raises(WorkerPoolError, match="not started"):
        pool.submit(state_id)
    pool.start("ctx")
    with pytest.raises(WorkerPoolError, match="already started"):
        pool.start("ctx")
    assert pool.submit(state_id).result(WAIT) >= 1
    pool.shutdown()
    with pytest.raises(WorkerPoolError, match="shut down"):
        pool.submit(state_id)
    with pytest.raises(WorkerPoolError, match="shut down"):
        pool.start()
    pool.shutdown()  # idempotent


def test_context_reaches_every_init():
    fake = Fake()
    with WorkerPool(fake, PoolConfig(max_workers=2, min_workers=2)) as pool:
        pool.shutdown()  # no-op start ctx: the context manager started with None
    assert fake.contexts == [None, None]
    fake = Fake()
    pool = WorkerPool(fake, PoolConfig(max_workers=2, min_workers=2)).start({"root": "x"})
    pool.shutdown()
    assert fake.contexts == [{"root": "x"}, {"root": "x"}]


# --- sizing ---------------------------------------------------------------------


def test_one_job_starts_exactly_one_worker():
    fake = Fake()
    with WorkerPool(fake, PoolConfig(max_workers=4)) as pool:
        assert pool.stats().started == 0 and pool.stats().live_workers == 0
        pool.submit(state_id).result(WAIT)
        stats = pool.stats()
        assert stats.started == 1
        assert stats.live_workers == 1
        # Sequential jobs reuse the idle worker instead of starting more.
        for _ in range(5):
            pool.submit(state_id).result(WAIT)
        assert pool.stats().started == 1


def test_never_more_than_max_workers():
    fake = Fake()
    gate = threading.Event()
    started = threading.Semaphore(0)
    with WorkerPool(fake, PoolConfig(max_workers=3)) as pool:
        futures = [pool.submit(blocker(gate, started)) for _ in range(10)]
        acquire_n(started, 3)
        stats = pool.stats()
        assert stats.live_workers == 3
        assert stats.busy_workers == 3
        assert stats.queued == 7
        gate.set()
        for f in futures:
            f.result(WAIT)
        assert pool.stats().started == 3
    assert fake.max_running == 3
    assert len(fake.states) == 3


def test_min_workers_start_with_the_pool_and_stay():
    fake = Fake()
    gate = threading.Event()
    started = threading.Semaphore(0)
    pool = WorkerPool(fake, PoolConfig(max_workers=4, min_workers=2, idle_timeout_s=0.05)).start()
    try:
        assert pool.stats().live_workers == 2
        futures = [pool.submit(blocker(gate, started)) for _ in range(4)]
        acquire_n(started, 4)
        assert pool.stats().live_workers == 4
        gate.set()
        for f in futures:
            f.result(WAIT)
        wait_until(lambda: pool.stats().live_workers == 2)
        assert pool.stats().retired["idle"] == 2
        time.sleep(0.3)  # several idle timeouts: the two kept workers stay
        assert pool.stats().live_workers == 2
        assert pool.stats().retired["idle"] == 2
    finally:
        pool.shutdown()
    assert pool.stats().retired["shutdown"] == 2


def test_recycled_min_worker_is_replaced_at_once():
    fake = Fake()
    pool = WorkerPool(fake, PoolConfig(max_workers=2, min_workers=2, max_jobs_per_worker=1)).start()
    try:
        pool.submit(state_id).result(WAIT)
        wait_until(lambda: pool.stats().retired["jobs"] == 1 and pool.stats().started == 3)
        assert pool.stats().live_workers == 2
    finally:
        pool.shutdown()


def test_idle_worker_retires_and_closes_its_state():
    fake = Fake()
    with WorkerPool(fake, PoolConfig(max_workers=2, idle_timeout_s=0.05)) as pool:
        pool.submit(state_id).result(WAIT)
        wait_until(lambda: pool.stats().live_workers == 0)
        assert pool.stats().retired["idle"] == 1
        assert [s.closed for s in fake.states] == [True]
        # Work after the retirement starts a fresh worker on demand.
        assert pool.submit(state_id).result(WAIT) == fake.states[1].id
        assert pool.stats().started == 2


# --- recycling ------------------------------------------------------------------


def test_recycled_after_max_jobs():
    fake = Fake()
    with WorkerPool(fake, PoolConfig(max_workers=1, max_jobs_per_worker=3)) as pool:
        ids = [pool.submit(state_id).result(WAIT) for _ in range(7)]
        wait_until(lambda: pool.stats().retired["jobs"] == 2)
    first, second, third = (s.id for s in fake.states)
    assert ids == [first] * 3 + [second] * 3 + [third]
    assert [s.jobs for s in fake.states] == [3, 3, 1]
    assert pool.stats().retired == {**dict.fromkeys(RETIRE_REASONS, 0), "jobs": 2, "shutdown": 1}
    assert all(s.closed for s in fake.states)


def test_recycled_after_heap_threshold():
    fake = Fake()

    def allocate(state, token):
        state.heap += 60
        return state.id

    with WorkerPool(fake, PoolConfig(max_workers=1, max_heap_bytes_per_worker=100)) as pool:
        ids = list(pool.map([allocate] * 5))
        wait_until(lambda: pool.stats().retired["heap"] == 2)
    a, b, c = (s.id for s in fake.states)
    assert ids == [a, a, b, b, c]
    assert fake.closed[:2] == fake.states[:2]


def test_heap_limit_without_heap_hook_never_recycles():
    class NoHeap(Fake):
        heap_bytes = None  # the pool must treat a missing hook as "unknown"

    fake = NoHeap()
    with WorkerPool(fake, PoolConfig(max_workers=1, max_heap_bytes_per_worker=1)) as pool:
        ids = list(pool.map([state_id] * 3))
    assert len(set(ids)) == 1


# --- gc broadcast -----------------------------------------------------------------


def test_gc_reaches_every_live_worker_once():
    fake = Fake()
    gate = threading.Event()
    started = threading.Semaphore(0)
    with WorkerPool(fake, PoolConfig(max_workers=3)) as pool:
        futures = [pool.submit(blocker(gate, started)) for _ in range(3)]
        acquire_n(started, 3)
        gate.set()
        for f in futures:
            f.result(WAIT)
        assert pool.gc() == 3
        assert [s.gc_runs for s in fake.states] == [1, 1, 1]
        assert pool.gc() == 3
        assert [s.gc_runs for s in fake.states] == [2, 2, 2]


def test_gc_waits_for_a_busy_worker_to_finish_its_job():
    fake = Fake()
    gate = threading.Event()
    started = threading.Semaphore(0)
    with WorkerPool(fake, PoolConfig(max_workers=2)) as pool:
        busy = pool.submit(blocker(gate, started))
        acquire_n(started, 1)
        done = threading.Event()
        result = []
        thread = threading.Thread(target=lambda: (result.append(pool.gc()), done.set()))
        thread.start()
        assert not done.wait(0.1)  # the busy worker has not collected yet
        assert fake.states[0].gc_runs == 0
        gate.set()
        assert done.wait(WAIT)
        thread.join()
        busy.result(WAIT)
        assert result == [1]
        assert fake.states[0].gc_runs == 1


def test_gc_from_inside_a_job_does_not_wait_for_itself():
    fake = Fake()
    with WorkerPool(fake, PoolConfig(max_workers=1)) as pool:
        assert pool.submit(lambda s, t: pool.gc(timeout=WAIT)).result(WAIT) == 0
        wait_until(lambda: fake.states[0].gc_runs == 1)  # ran right after that job


def test_map_timeout_cancels_what_is_left():
    fake = Fake()
    gate = threading.Event()
    with WorkerPool(fake, PoolConfig(max_workers=1)) as pool:
        with pytest.raises(TimeoutError):
            pool.map([blocker(gate)] * 3, timeout=0.05)
        gate.set()
    assert pool.stats().jobs_cancelled == 3


def test_gc_on_empty_pool_returns_zero():
    with WorkerPool(Fake(), PoolConfig(max_workers=2)) as pool:
        assert pool.gc() == 0


# --- failures -------------------------------------------------------------------


def test_failing_job_fails_only_its_own_future():
    fake = Fake()

    def boom(state, token):
        raise ValueError(f"boom from {state.id}")

    with WorkerPool(fake, PoolConfig(max_workers=2)) as pool:
        futures = [pool.submit(boom if i % 3 == 0 else state_id) for i in range(12)]
        for i, f in enumerate(futures):
            if i % 3 == 0:
                with pytest.raises(ValueError, match="boom from"):
                    f.result(WAIT)
            else:
                assert f.result(WAIT) >= 1
        stats = pool.stats()
    assert (stats.jobs_failed, stats.jobs_done) == (4, 8)
    assert stats.retired["error"] == 0  # an ordinary error keeps the state


def test_broken_state_is_closed_and_replaced():
    class Broken(Exception):
        pass

    fake = Fake(broken_on=Broken)

    def breaks(state, token):
        raise Broken("state is gone")

    with WorkerPool(fake, PoolConfig(max_workers=1)) as pool:
        before = pool.submit(state_id).result(WAIT)
        with pytest.raises(Broken):
            pool.submit(breaks).result(WAIT)
        after = pool.submit(state_id).result(WAIT)
        assert after != before
        assert fake.states[0].closed
        assert pool.stats().retired["error"] == 1


def test_failing_init_fails_a_job_instead_of_hanging():
    fake = Fake(init_error=RuntimeError("no engine today"))
    with WorkerPool(fake, PoolConfig(max_workers=2)) as pool:
        futures = [pool.submit(state_id) for _ in range(3)]
        for f in futures:
            with pytest.raises(RuntimeError, match="no engine today"):
                f.result(WAIT)
        assert pool.stats().jobs_failed == 3


def test_failing_init_gives_the_job_grant_back():
    from zako.resource import ResourcePool

    resources = ResourcePool({"memory": 1})
    fake = Fake(init_error=RuntimeError("no engine today"))
    with WorkerPool(fake, PoolConfig(max_workers=1), resource_pool=resources, default_request={"memory": 1}) as pool:
        for _ in range(2):  # a leaked grant would leave the second job waiting forever
            with pytest.raises(RuntimeError):
                pool.submit(state_id).result(WAIT)
    assert resources.snapshot()["in_use"]["memory"] == 0


# --- order, priority, map ----------------------------------------------------------


def test_map_preserves_input_order():
    fake = Fake()

    def make(i):
        def job(state, token):
            time.sleep((7 - i % 8) * 0.002)  # later inputs finish first
            return i

        return job

    with WorkerPool(fake, PoolConfig(max_workers=4)) as pool:
        assert pool.map(make(i) for i in range(40)) == list(range(40))
        assert pool.map([]) == []


def test_map_raises_first_failure_and_cancels_rest():
    fake = Fake()
    gate = threading.Event()
    ran = []

    def fail(state, token):
        raise KeyError("first")

    def record(state, token):
        assert gate.wait(WAIT)
        ran.append(1)

    with WorkerPool(fake, PoolConfig(max_workers=1)) as pool:
        with pytest.raises(KeyError):
            pool.map([fail] + [record] * 5)
        gate.set()
    assert pool.stats().jobs_cancelled >= 4
    assert len(ran) <= 1


def test_lower_priority_number_runs_first():
    fake = Fake()
    gate = threading.Event()
    started = threading.Semaphore(0)
    order = []

    def tag(name):
        def job(state, token):
            order.append(name)

        return job

    with WorkerPool(fake, PoolConfig(max_workers=1)) as pool:
        first = pool.submit(blocker(gate, started))
        acquire_n(started, 1)
        futures = [
            pool.submit(tag("low"), priority=5),
            pool.submit(tag("high"), priority=-1),
            pool.submit(tag("mid-a"), priority=2),
            pool.submit(tag("mid-b"), priority=2),
        ]
        gate.set()
        for f in [first, *futures]:
            f.result(WAIT)
    assert order == ["high", "mid-a", "mid-b", "low"]


# --- backpressure ------------------------------------------------------------------


def test_submit_blocks_at_queue_limit():
    fake = Fake()
    gate = threading.Event()
    started = threading.Semaphore(0)
    with WorkerPool(fake, PoolConfig(max_workers=1, queue_limit=2)) as pool:
        running = pool.submit(blocker(gate, started))
        acquire_n(started, 1)
        queued = [pool.submit(state_id), pool.submit(state_id)]
        assert pool.stats().queued == 2
        returned = threading.Event()
        extra = []
        thread = threading.Thread(target=lambda: (extra.append(pool.submit(state_id)), returned.set()))
        thread.start()
        assert not returned.wait(0.1)  # blocked: the queue is full
        assert pool.stats().queued == 2
        gate.set()
        assert returned.wait(WAIT)
        thread.join()
        for f in [running, *queued, *extra]:
            f.result(WAIT)


def test_blocked_submit_fails_when_pool_shuts_down():
    fake = Fake()
    gate = threading.Event()
    started = threading.Semaphore(0)
    pool = WorkerPool(fake, PoolConfig(max_workers=1, queue_limit=1)).start()
    running = pool.submit(blocker(gate, started))
    acquire_n(started, 1)
    pool.submit(state_id)
    errors = []

    def blocked_submit():
        try:
            pool.submit(state_id)
        except WorkerPoolError as exc:
            errors.append(exc)

    thread = threading.Thread(target=blocked_submit)
    thread.start()
    wait_until(lambda: thread.is_alive())
    closer = threading.Thread(target=pool.shutdown, kwargs={"cancel_pending": True})
    closer.start()
    thread.join(WAIT)
    gate.set()
    closer.join(WAIT)
    assert len(errors) == 1 and "shut down" in str(errors[0])
    running.result(WAIT)


def test_submit_async_awaits_a_slot_and_the_result():
    fake = Fake()
    gate = threading.Event()
    started = threading.Semaphore(0)

    async def main(pool):
        running = pool.submit(blocker(gate, started, value="first"))
        await asyncio.get_running_loop().run_in_executor(None, acquire_n, started, 1)
        queued = pool.submit(lambda s, t: "queued")
        task = asyncio.ensure_future(pool.submit_async(lambda s, t: "async"))
        await asyncio.sleep(0.05)
        assert not task.done()  # waiting for a queue slot
        assert pool.stats().queued == 1
        gate.set()
        assert await task == "async"
        return running.result(WAIT), queued.result(WAIT)

    with WorkerPool(fake, PoolConfig(max_workers=1, queue_limit=1)) as pool:
        assert asyncio.run(main(pool)) == ("first", "queued")


# --- shutdown -----------------------------------------------------------------------


def test_shutdown_finishes_queued_work_by_default():
    fake = Fake()
    gate = threading.Event()
    started = threading.Semaphore(0)
    pool = WorkerPool(fake, PoolConfig(max_workers=1)).start()
    futures = [pool.submit(blocker(gate, started)) for _ in range(4)]
    acquire_n(started, 1)
    gate.set()
    pool.shutdown(wait=True)
    assert all(f.done() and not f.cancelled() for f in futures)
    assert not worker_threads()
    assert all(s.closed for s in fake.states)


def test_shutdown_cancel_pending_leaves_no_thread_alive():
    fake = Fake()
    gate = threading.Event()
    started = threading.Semaphore(0)
    pool = WorkerPool(fake, PoolConfig(max_workers=2, min_workers=1)).start()
    running = [pool.submit(blocker(gate, started)) for _ in range(2)]
    acquire_n(started, 2)
    queued = [pool.submit(state_id) for _ in range(5)]
    pool.shutdown(wait=False, cancel_pending=True)
    assert all(f.cancelled() for f in queued)
    gate.set()
    pool.shutdown(wait=True)
    assert [f.result(WAIT) for f in running]
    assert not worker_threads()
    stats = pool.stats()
    assert (stats.live_workers, stats.busy_workers, stats.queued) == (0, 0, 0)
    assert (stats.jobs_done, stats.jobs_cancelled) == (2, 5)
    assert stats.retired["shutdown"] == 2
    assert len(fake.closed) == len(fake.states) == 2


def test_stats_is_a_mapping_snapshot():
    with WorkerPool(Fake(), PoolConfig(max_workers=1)) as pool:
        pool.submit(state_id).result(WAIT)
        stats = pool.stats()
    assert stats["jobs_done"] == 1 and stats["done"] == 1 and stats["live"] == stats.live_workers
    assert set(stats["retired"]) == set(RETIRE_REASONS)
    assert dict(stats)["started"] == 1


def test_cancel_source_token_is_passed_to_process():
    fake = Fake()
    source = CancelSource()
    seen = []
    with WorkerPool(fake, PoolConfig(max_workers=1)) as pool:
        pool.submit(lambda s, t: seen.append(t.cancelled), source.token).result(WAIT)
    assert seen == [False]
    # The pool unlinked the finished job from the caller's token.
    source.cancel()
    assert pool.stats().jobs_cancelled == 0


def test_many_submitters_all_get_results():
    fake = Fake()
    with WorkerPool(fake, PoolConfig(max_workers=3, queue_limit=4)) as pool:
        results: list[list[int]] = [[] for _ in range(6)]

        def submitter(k):
            futures = [pool.submit(lambda s, t, v=k * 100 + i: v) for i in range(50)]
            results[k] = [f.result(WAIT) for f in futures]

        threads = [threading.Thread(target=submitter, args=(k,)) for k in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(WAIT)
        stats = pool.stats()
    assert results == [[k * 100 + i for i in range(50)] for k in range(6)]
    assert stats.jobs_done == 300 and stats.started <= 3
    assert fake.max_running <= 3


# --- resource admission ---------------------------------------------------------------


def test_admission_bounds_running_jobs_and_starts_workers_only_for_admitted_work():
    from zako.resource import ResourcePool

    fake = Fake()
    gate = threading.Event()
    started = threading.Semaphore(0)
    resources = ResourcePool({"cpu": 8, "memory": 200})
    pool = WorkerPool(fake, PoolConfig(max_workers=4), resource_pool=resources, default_request={"memory": 100})
    with pool.start():
        futures = [pool.submit(blocker(gate, started)) for _ in range(5)]
        acquire_n(started, 2)
        stats = pool.stats()
        assert (stats.busy_workers, stats.admitting, stats.queued) == (2, 3, 3)
        assert stats.live_workers == 2  # nobody holds a thread while waiting for memory
        assert resources.snapshot()["in_use"]["memory"] == 200
        gate.set()
        for f in futures:
            f.result(WAIT)
        # A finished job's grant admits the next one only once its worker
        # counts as free again, so no third thread is started for it.
        assert pool.stats().started == 2
    assert fake.max_running == 2
    assert resources.snapshot()["in_use"]["memory"] == 0


def test_job_cancelled_while_waiting_for_resources_never_runs_and_leaks_nothing():
    from zako.resource import ResourcePool

    fake = Fake()
    gate = threading.Event()
    started = threading.Semaphore(0)
    ran = []
    resources = ResourcePool({"memory": 100})
    with WorkerPool(fake, PoolConfig(max_workers=2), resource_pool=resources).start() as pool:
        holder = pool.submit(blocker(gate, started), resources={"memory": 100})
        acquire_n(started, 1)
        source = CancelSource()
        victim = pool.submit(lambda s, t: ran.append(1), source.token, resources={"memory": 100})
        wait_until(lambda: resources.snapshot()["waiting"] == 1)
        source.cancel()
        assert victim.cancelled()
        wait_until(lambda: resources.snapshot()["waiting"] == 0 and pool.stats().admitting == 0)
        gate.set()
        holder.result(WAIT)
        # The freed memory goes to later work, not to the cancelled job.
        assert pool.submit(state_id, resources={"memory": 100}).result(WAIT) >= 1
    assert ran == []
    assert resources.snapshot()["in_use"]["memory"] == 0
    assert pool.stats().jobs_cancelled == 1


def test_admitted_job_cancelled_before_start_gives_its_grant_back():
    from zako.resource import ResourcePool

    fake = Fake()
    gate = threading.Event()
    started = threading.Semaphore(0)
    resources = ResourcePool({"memory": 100})
    with WorkerPool(fake, PoolConfig(max_workers=1), resource_pool=resources).start() as pool:
        busy = pool.submit(blocker(gate, started))  # no request: holds no memory
        acquire_n(started, 1)
        admitted = pool.submit(state_id, resources={"memory": 100})
        assert resources.snapshot()["in_use"]["memory"] == 100  # granted, waiting for a worker
        assert admitted.cancel()
        assert resources.snapshot()["in_use"]["memory"] == 0
        gate.set()
        busy.result(WAIT)


def test_resources_are_released_when_a_job_fails():
    from zako.resource import ResourcePool

    resources = ResourcePool({"memory": 100})

    def boom(state, token):
        raise OSError("disk on fire")

    with WorkerPool(Fake(), PoolConfig(max_workers=1), resource_pool=resources).start() as pool:
        for _ in range(3):  # each job needs all memory: a leak would hang the next
            with pytest.raises(OSError):
                pool.submit(boom, resources={"memory": 100}).result(WAIT)
    assert resources.snapshot()["in_use"]["memory"] == 0


def test_unknown_resource_fails_the_job():
    from zako.exceptions import UnknownResourceError
    from zako.resource import ResourcePool

    with WorkerPool(Fake(), PoolConfig(max_workers=1), resource_pool=ResourcePool({"cpu": 2})).start() as pool:
        future = pool.submit(state_id, resources={"cpus": 1})
        with pytest.raises(UnknownResourceError, match="cpus"):
            future.result(WAIT)
        assert pool.submit(state_id, resources={"cpu": 1}).result(WAIT) >= 1
        assert pool.stats().jobs_failed == 1


def test_resources_without_a_resource_pool_are_refused():
    with WorkerPool(Fake(), PoolConfig(max_workers=1)) as pool:
        with pytest.raises(WorkerPoolError, match="no resource_pool"):
            pool.submit(state_id, resources={"cpu": 1})


def test_shutdown_cancels_jobs_waiting_for_resources():
    from zako.resource import ResourcePool

    fake = Fake()
    gate = threading.Event()
    started = threading.Semaphore(0)
    resources = ResourcePool({"memory": 1})
    pool = WorkerPool(fake, PoolConfig(max_workers=2), resource_pool=resources, default_request={"memory": 1}).start()
    holder = pool.submit(blocker(gate, started))
    acquire_n(started, 1)
    waiting = [pool.submit(state_id) for _ in range(3)]
    pool.shutdown(wait=False, cancel_pending=True)
    assert all(f.cancelled() for f in waiting)
    gate.set()
    pool.shutdown(wait=True)
    holder.result(WAIT)
    assert not worker_threads()
    assert resources.snapshot()["in_use"]["memory"] == 0 and resources.snapshot()["waiting"] == 0


def test_shutdown_without_cancel_runs_jobs_waiting_for_resources():
    from zako.resource import ResourcePool

    fake = Fake()
    gate = threading.Event()
    started = threading.Semaphore(0)
    resources = ResourcePool({"memory": 1})
    pool = WorkerPool(fake, PoolConfig(max_workers=2), resource_pool=resources, default_request={"memory": 1}).start()
    holder = pool.submit(blocker(gate, started))
    acquire_n(started, 1)
    waiting = [pool.submit(state_id) for _ in range(3)]
    closer = threading.Thread(target=pool.shutdown)
    closer.start()
    gate.set()
    closer.join(WAIT)
    assert not closer.is_alive()
    assert holder.result(0) and all(f.result(0) >= 1 for f in waiting)
    assert not worker_threads()
