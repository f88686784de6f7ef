"""Worker pool benchmarks.

- ``V8PoolThroughput``: 1,000 small BUILD-like evaluations through the pool
  with 1 and with 2 workers (goal on 2 cores: 2 workers >= 1.7x one worker;
  mini-racer releases the GIL while JavaScript runs, so contexts on
  different threads run in parallel).
- ``SubmitOverhead``: 1,000 no-op jobs submitted and awaited, zako's pool
  against ``concurrent.futures.ThreadPoolExecutor`` (the baseline) in the
  same class, both with one worker thread.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor, wait

from zako.worker import PoolConfig, WorkerPool

N_JOBS = 1000

# A BUILD-like script: a few targets from computed attributes, as a
# declarations-only build file would produce.
BUILD_SOURCE = """
const inputs = globalThis.executionContext || {};
const pkg = inputs.pkg || "pkg";
const targets = [];
for (let i = 0; i < 8; i++) {
  targets.push({
    name: `${pkg}_lib${i}`,
    kind: "ts_library",
    srcs: { include: [`src/${i}/**/*.ts`], exclude: ["**/*.test.ts"] },
    deps: i ? [`:${pkg}_lib${i - 1}`] : [],
    attrs: { visibility: ["//visibility:public"], opt: i % 2 === 0 },
  });
}
return { package: pkg, targets };
"""


class _NoOp:
    def init(self, context):
        return None

    def process(self, state, job, cancel_token):
        return job

    def gc(self, state):
        pass

    def close(self, state):
        pass


def _noop(x):
    return x


class SubmitOverhead:
    params = ["zako", "baseline"]
    param_names = ["impl"]
    timeout = 60

    def setup(self, impl):
        if impl == "zako":
            self.pool = WorkerPool(_NoOp(), PoolConfig(max_workers=1)).start()
            self.submit = self.pool.submit
        else:
            self.pool = ThreadPoolExecutor(max_workers=1)
            self.submit = lambda x: self.pool.submit(_noop, x)
        wait([self.submit(0)])  # the worker thread exists before timing

    def teardown(self, impl):
        self.pool.shutdown(wait=True)

    def time_submit_1000_noop(self, impl):
        wait([self.submit(i) for i in range(N_JOBS)])


class V8PoolThroughput:
    params = [1, 2]
    param_names = ["workers"]
    timeout = 240
    number = 1
    repeat = (1, 3, 30.0)

    def setup(self, workers):
        from zako.v8 import Engine  # noqa: F401  (fail setup, not timing, if the engine is missing)
        from zako.worker import V8Job, V8Worker

        self.pool = WorkerPool(
            V8Worker(heap_limit_bytes=64 << 20, timeout_s=10.0),
            PoolConfig(max_workers=workers, min_workers=workers),
        ).start()
        self.jobs = [V8Job(source=BUILD_SOURCE, inputs={"pkg": f"p{i}"}) for i in range(N_JOBS)]
        # Warm every worker (engine construction is not what is measured).
        wait([self.pool.submit(job) for job in self.jobs[: 4 * workers]])

    def teardown(self, workers):
        self.pool.shutdown(wait=True)

    def time_1000_build_evaluations(self, workers):
        for output in self.pool.map(self.jobs):
            if output.result.exception is not None:
                raise RuntimeError(output.result.exception)
