"""V8Worker and TranspilerWorker in a WorkerPool: real engines, real scripts."""

from __future__ import annotations

import threading
import time
from concurrent.futures import CancelledError, wait

import pytest

from zako.resource import ResourcePool
from zako.v8 import ContextType, Engine, ExecutionResult, ModuleLoader
from zako.v8.errors import HeapLimitError, ModuleLoadError, ScriptTimeoutError, TranspileError
from zako.v8.transpile import MemoryTransformCache, parse_count
from zako.worker import CancelSource, PoolConfig, TranspilerWorker, V8Worker, WorkerPool
from zako.worker.transpiler_worker import TranspileJob
from zako.worker.v8_worker import V8Job, V8Output

from test_worker_pool import WAIT, wait_until, worker_threads

MIB = 1 << 20
HEAP = 48 * MIB

# Keeps ~20 MB of small objects alive until the script returns.
ALLOCATE = """
const keep = [];
for (let i = 0; i < 400000; i++) keep.push({ i, s: "x" + i });
return keep.length;
"""
HEAP_BOMB = """
const hog = [];
while (true) hog.push(new Array(100000).fill(hog.length));
"""
BUSY_150MS = "await new Promise((r) => setTimeout(r, 150)); return 1;"


@pytest.fixture(autouse=True)
def no_thread_leaks():
    before = set(worker_threads())
    yield
    wait_until(lambda: not (set(worker_threads()) - before))


def v8_pool(**config) -> WorkerPool:
    config.setdefault("max_workers", 2)
    return WorkerPool(V8Worker(heap_limit_bytes=HEAP, timeout_s=30.0), PoolConfig(**config))


# --- jobs -----------------------------------------------------------------------


def test_script_job_returns_result_and_heap_figures():
    with v8_pool() as pool:
        out = pool.submit(V8Job(source="return executionContext.a + 1", inputs={"a": 41})).result(WAIT)
    assert isinstance(out, V8Output)
    assert isinstance(out.result, ExecutionResult)
    assert out.value == 42 and out.exception is None
    assert out.heap_used_bytes is not None and out.heap_used_bytes > 0
    assert out.peak_heap_bytes >= out.heap_used_bytes
    assert out.worker_jobs == 1


def test_script_text_and_field_mappings_are_jobs_too():
    with v8_pool() as pool:
        assert pool.submit("return 6 * 7").result(WAIT).value == 42
        assert pool.submit({"source": "return executionContext.x", "inputs": {"x": 1}}).result(WAIT).value == 1
        with pytest.raises(TypeError, match="V8Job"):
            pool.submit(42).result(WAIT)


def test_js_throw_is_a_result_not_a_failure():
    with v8_pool() as pool:
        out = pool.submit(V8Job(source="throw new TypeError('nope')", specifier="zako-memory:t")).result(WAIT)
    assert out.value is None
    assert out.exception.message == "nope"


def test_module_job_runs_through_the_loader(tmp_path):
    (tmp_path / "lib.ts").write_text("export const answer: number = 6 * 7;\nexport default 'd';\n")
    loader = ModuleLoader(tmp_path)
    with v8_pool() as pool:
        by_loader = pool.submit(
            V8Job(specifier="lib.ts", context_type=ContextType.LIBRARY, loader=loader)
        ).result(WAIT)
        by_root = pool.submit(V8Job(specifier="lib.ts", root=tmp_path, context_type="library")).result(WAIT)
    assert by_loader.value["answer"] == 42 and by_loader.value["default"] == "d"
    assert by_root.value == by_loader.value


def test_module_load_error_fails_only_that_job(tmp_path):
    with v8_pool(max_workers=1) as pool:
        bad = pool.submit(V8Job(specifier="missing.ts", root=tmp_path))
        good = pool.submit(V8Job(source="return 1"))
        with pytest.raises(ModuleLoadError):
            bad.result(WAIT)
        assert good.result(WAIT).value == 1
        assert pool.stats().retired["error"] == 0  # a bad job, not a bad engine


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({}, "neither"),
        ({"specifier": "BUILD.ts"}, "loader or a root"),
        ({"source": "return 1", "root": "."}, "modules only"),
    ],
)
def test_malformed_jobs_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        V8Job(**kwargs)


def test_v8_worker_validates_limits():
    with pytest.raises(ValueError, match="heap_limit_bytes"):
        V8Worker(heap_limit_bytes=0)
    with pytest.raises(ValueError, match="timeout_s"):
        V8Worker(timeout_s=-1)
    assert V8Worker(heap_limit_bytes=HEAP).default_request == {"cpu": 1, "memory": HEAP}


# --- sizing and recycling ---------------------------------------------------------


def test_one_job_one_engine():
    with v8_pool(max_workers=4) as pool:
        pool.submit(V8Job(source="return 1")).result(WAIT)
        assert pool.stats().started == 1


def test_recycled_after_max_jobs():
    with v8_pool(max_workers=1, max_jobs_per_worker=2) as pool:
        counts = [o.worker_jobs for o in pool.map([V8Job(source="return 1")] * 5)]
        wait_until(lambda: pool.stats().retired["jobs"] == 2)
    assert counts == [1, 2, 1, 2, 1]


def test_recycled_after_heap_threshold():
    with v8_pool(max_workers=1, max_heap_bytes_per_worker=8 * MIB) as pool:
        small = pool.submit(V8Job(source="return 1")).result(WAIT)
        assert small.peak_heap_bytes < 8 * MIB
        again = pool.submit(V8Job(source="return 2")).result(WAIT)
        assert again.worker_jobs == 2  # small scripts keep their worker
        big = pool.submit(V8Job(source=ALLOCATE)).result(WAIT)
        assert big.value == 400000 and big.peak_heap_bytes > 8 * MIB
        after = pool.submit(V8Job(source="return 3")).result(WAIT)
        assert after.worker_jobs == 1  # a fresh engine
        assert pool.stats().retired["heap"] == 1


class CountingEngine(Engine):
    gc_calls = 0
    lock = threading.Lock()

    def gc(self):
        with CountingEngine.lock:
            CountingEngine.gc_calls += 1
        return super().gc()


def test_gc_broadcast_reaches_every_engine():
    CountingEngine.gc_calls = 0
    behaviour = V8Worker(heap_limit_bytes=HEAP, engine_factory=CountingEngine)
    with WorkerPool(behaviour, PoolConfig(max_workers=2, min_workers=2)) as pool:
        list(pool.map([V8Job(source=BUSY_150MS)] * 4))
        assert pool.gc() == 2
    assert CountingEngine.gc_calls == 2


# --- cancellation and hostile jobs -------------------------------------------------


def test_cancel_before_start_never_runs():
    with v8_pool(max_workers=1) as pool:
        blocker = pool.submit(V8Job(source=BUSY_150MS))
        source = CancelSource()
        victim = pool.submit(V8Job(source="return 'ran'"), source.token)
        source.cancel()
        assert blocker.result(WAIT).value == 1
        with pytest.raises(CancelledError):
            victim.result(WAIT)
        stats = pool.stats()
    assert (stats.jobs_done, stats.jobs_cancelled) == (1, 1)


def test_running_infinite_loop_is_terminated_by_its_token():
    with v8_pool(max_workers=1) as pool:
        source = CancelSource()
        looping = pool.submit(V8Job(source="while (true) {}"), source.token)
        wait_until(looping.running)
        time.sleep(0.2)  # let the loop get going inside V8
        source.cancel()
        with pytest.raises(CancelledError):
            looping.result(WAIT)
        # The same worker serves the next job once V8 let go of the loop
        # (the engine's timeout is 30 s, so only termination frees it).
        nxt = pool.submit(V8Job(source="return 'next'")).result(WAIT)
        assert nxt.value == "next" and nxt.worker_jobs == 1
        wait([looping], timeout=WAIT)
        assert pool.stats().jobs_cancelled == 1


def test_timeout_fails_the_job_and_the_pool_keeps_serving():
    behaviour = V8Worker(heap_limit_bytes=HEAP, timeout_s=0.3)
    with WorkerPool(behaviour, PoolConfig(max_workers=1)) as pool:
        stuck = pool.submit(V8Job(source="while (true) {}"))
        with pytest.raises(ScriptTimeoutError):
            stuck.result(WAIT)
        assert pool.submit(V8Job(source="return 7")).result(WAIT).value == 7
        assert pool.stats().retired["error"] == 0  # the script's fault, not the engine's


def test_failing_and_hostile_jobs_next_to_healthy_ones():
    with v8_pool(max_workers=2) as pool:
        jobs = []
        for i in range(12):
            if i == 3:
                jobs.append(V8Job(source=HEAP_BOMB, specifier="zako-memory:bomb"))
            elif i % 4 == 1:
                jobs.append(V8Job(source="throw new Error('bad ' + executionContext.i)", inputs={"i": i}))
            else:
                jobs.append(V8Job(source="return executionContext.i * 2", inputs={"i": i}))
        futures = [pool.submit(job) for job in jobs]
        for i, future in enumerate(futures):
            if i == 3:
                with pytest.raises(HeapLimitError):
                    future.result(WAIT)
            elif i % 4 == 1:
                assert future.result(WAIT).exception.message == f"bad {i}"
            else:
                assert future.result(WAIT).value == i * 2
        stats = pool.stats()
        # The engine that hit its heap limit was replaced, nothing else was.
        assert stats.retired["error"] == 1
        assert (stats.jobs_done, stats.jobs_failed) == (11, 1)
        assert pool.submit(V8Job(source="return 'still here'")).result(WAIT).value == "still here"


# --- resources ------------------------------------------------------------------------


class ObservedV8Worker(V8Worker):
    """Counts evaluations in flight across all workers."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.lock = threading.Lock()
        self.running = 0
        self.max_running = 0

    def process(self, state, job, cancel_token):
        with self.lock:
            self.running += 1
            self.max_running = max(self.max_running, self.running)
        try:
            return super().process(state, job, cancel_token)
        finally:
            with self.lock:
                self.running -= 1


def test_memory_bounds_concurrent_contexts():
    behaviour = ObservedV8Worker(heap_limit_bytes=HEAP, timeout_s=30.0)
    resources = ResourcePool({"cpu": 8, "memory": 2 * HEAP})
    with WorkerPool(behaviour, PoolConfig(max_workers=4), resource_pool=resources) as pool:
        outputs = list(pool.map([V8Job(source=BUSY_150MS)] * 6))
        assert all(o.value == 1 for o in outputs)
        assert pool.stats().started <= 2  # workers start only for admitted work
    assert behaviour.max_running == 2
    assert resources.snapshot()["in_use"]["memory"] == 0


def test_per_job_resource_request_overrides_the_default():
    behaviour = ObservedV8Worker(heap_limit_bytes=HEAP)
    resources = ResourcePool({"cpu": 1, "memory": 8 * HEAP})
    with WorkerPool(behaviour, PoolConfig(max_workers=3), resource_pool=resources) as pool:
        futures = [pool.submit(V8Job(source=BUSY_150MS), resources={"cpu": 1}) for _ in range(3)]
        assert [f.result(WAIT).value for f in futures] == [1, 1, 1]
    assert behaviour.max_running == 1  # one cpu, whatever the memory


# --- transpiler -----------------------------------------------------------------------


def test_transpiler_fills_the_cache_the_loader_reads(tmp_path):
    source = "import { x } from './dep.ts';\nexport const y: number = x + 1;\n"
    (tmp_path / "main.ts").write_text(source)
    (tmp_path / "dep.ts").write_text("export const x: number = 41;\n")
    cache = MemoryTransformCache()
    with WorkerPool(TranspilerWorker(cache), PoolConfig(max_workers=2)) as transpilers:
        results = list(
            transpilers.map([TranspileJob(str(tmp_path / "main.ts")), TranspileJob(str(tmp_path / "dep.ts"))])
        )
        assert results[0].digest and results[0].requests[0].specifier == "./dep.ts"
        before = parse_count()
        again = transpilers.submit(TranspileJob("other.ts", source=source)).result(WAIT)
        assert again.code == results[0].code and parse_count() == before  # digest hit
        broken = transpilers.submit(TranspileJob("broken.ts", source="export const = ;"))
        with pytest.raises(TranspileError):
            broken.result(WAIT)
        assert transpilers.submit(TranspileJob("ok.ts", source="export default 1;")).result(WAIT).code

    loader = ModuleLoader(tmp_path, transform_cache=cache)
    before = parse_count()
    with v8_pool(max_workers=1) as pool:
        out = pool.submit(V8Job(specifier="main.ts", loader=loader, context_type=ContextType.LIBRARY)).result(WAIT)
    assert out.value["y"] == 42
    assert parse_count() == before  # the V8 side never parsed


def test_v8_pool_shutdown_leaves_no_thread():
    pool = v8_pool(max_workers=2, min_workers=2).start()
    list(pool.map([V8Job(source="return 1")] * 4))
    pool.shutdown(wait=True)
    assert not worker_threads()
    assert pool.stats().retired["shutdown"] == 2
