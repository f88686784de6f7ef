"""ResourcePool front: blocking and asyncio waits over the selected ledger kernel."""

from __future__ import annotations

import asyncio
import random
import threading
import time

import pytest

from zako import _impl
from zako.exceptions import ResourceError, UnknownResourceError
from zako.resource import ResourcePool, cgroup_limits, system_capacities

JOIN_S = 30.0


def wait_until(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.001)


def waiting(pool):
    return pool.stats()["waiting"]


class Watcher:
    """Samples the pool from its own thread; any over-commit is recorded."""

    def __init__(self, pool):
        self.pool = pool
        self.stop = threading.Event()
        self.violations = []
        self.samples = 0
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self.stop.is_set():
            snap = self.pool.snapshot()
            self.samples += 1
            for name, total in snap["total"].items():
                if not 0 <= snap["in_use"][name] <= total:
                    self.violations.append((name, snap))
            time.sleep(0.0005)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(JOIN_S)


class Usage:
    """What the test itself believes is held, checked against the totals."""

    def __init__(self, totals):
        self.totals = totals
        self.lock = threading.Lock()
        self.held = dict.fromkeys(totals, 0)
        self.peak = dict.fromkeys(totals, 0)
        self.errors = []

    def add(self, amounts, sign):
        with self.lock:
            for name, amount in amounts.items():
                self.held[name] += sign * amount
                self.peak[name] = max(self.peak[name], self.held[name])
                if self.held[name] > self.totals[name]:
                    self.errors.append((name, self.held[name]))


def test_pool_uses_selected_kernel():
    pool = ResourcePool({"cpu": 1})
    assert type(pool.ledger) is _impl.kernel("ledger").ResourceLedger


def test_occupy_grants_and_releases_even_on_error():
    pool = ResourcePool({"cpu": 4, "memory": 100})
    with pool.occupy({"cpu": 2, "memory": (10, None)}) as grant:
        assert grant.amounts == {"cpu": 2, "memory": 100}
        assert pool.stats()["in_use"]["cpu"] == 2
    assert pool.stats()["in_use"] == dict.fromkeys(pool.stats()["total"], 0)
    with pytest.raises(RuntimeError):
        with pool.occupy({"cpu": 4}):
            raise RuntimeError("job failed")
    assert pool.stats()["in_use"]["cpu"] == 0


def test_try_occupy():
    pool = ResourcePool({"cpu": 1})
    with pool.try_occupy({"cpu": 1}) as grant:
        assert grant is not None
        with pool.try_occupy({"cpu": 1}) as second:
            assert second is None
        assert waiting(pool) == 0
    assert pool.stats()["in_use"]["cpu"] == 0


def test_request_errors_raise_before_waiting():
    pool = ResourcePool({"cpu": 1, "gpu": 0}, hard=["gpu"])
    with pytest.raises(UnknownResourceError):
        with pool.occupy({"cpus": 1}):
            pass
    with pytest.raises(ResourceError):
        with pool.occupy({"gpu": 1}):
            pass
    with pytest.raises(ValueError):
        pool.occupy({"cpu": 1}, timeout=-1).__enter__()
    stats = pool.stats()
    assert stats["waiting"] == 0 and stats["in_use"]["cpu"] == 0


def test_register_and_oversized_soft_request():
    pool = ResourcePool({"cpu": 2})
    pool.register("licenses", 1)
    with pool.occupy({"licenses": 1, "cpu": 3}) as grant:  # grows cpu, runs alone
        assert grant.amounts == {"licenses": 1, "cpu": 3}
    assert pool.snapshot()["total"]["cpu"] == 3


def test_timeout_leaves_no_waiter():
    pool = ResourcePool({"cpu": 2})
    with pool.occupy({"cpu": 2}):
        with pytest.raises(TimeoutError, match="cpu"):
            with pool.occupy({"cpu": 1}, timeout=0.05):
                pass
        with pytest.raises(TimeoutError):
            with pool.occupy({"cpu": 1}, timeout=0):
                pass
        stats = pool.stats()
        assert stats["waiting"] == 0 and stats["timeouts"] == 2
    assert pool.stats()["in_use"]["cpu"] == 0


def test_timed_out_barrier_lets_the_others_through():
    pool = ResourcePool({"cpu": 2}, max_overtakes=0)  # strict order
    held = pool.try_acquire({"cpu": 1})
    got = []

    def small():
        with pool.occupy({"cpu": 1}, timeout=JOIN_S) as grant:
            got.append(grant.amounts)

    def big():
        with pytest.raises(TimeoutError):
            with pool.occupy({"cpu": 2}, timeout=0.2):
                pass

    t_big = threading.Thread(target=big)
    t_big.start()
    wait_until(lambda: waiting(pool) == 1)
    t_small = threading.Thread(target=small)
    t_small.start()
    wait_until(lambda: waiting(pool) == 2)  # 1 cpu is free, but order is strict
    t_big.join(JOIN_S)
    t_small.join(JOIN_S)
    assert got == [{"cpu": 1}]
    pool.release(held)
    stats = pool.stats()
    assert stats["waiting"] == 0 and stats["in_use"]["cpu"] == 0 and stats["timeouts"] == 1


def test_threads_are_served_in_priority_order():
    pool = ResourcePool({"cpu": 1})
    held = pool.try_acquire({"cpu": 1})
    order = []

    def job(priority):
        with pool.occupy({"cpu": 1}, priority=priority):
            order.append(priority)

    threads = []
    for n, priority in enumerate([3, 1, 2, 0, 1]):
        threads.append(threading.Thread(target=job, args=(priority,)))
        threads[-1].start()
        wait_until(lambda: waiting(pool) == n + 1)
    pool.release(held)
    for t in threads:
        t.join(JOIN_S)
    assert order == [0, 1, 1, 2, 3]
    wait = pool.stats()["wait"]
    assert wait["count"] == 6 and wait["waited"] == 5
    assert 0 < wait["mean"] <= wait["max"]


def test_many_threads_never_exceed_totals():
    totals = {"cpu": 4, "memory": 10, "disk_io": 2, "network": 1, "gpu": 0}
    pool = ResourcePool(totals, max_overtakes=4)
    usage = Usage(totals)
    errors = []

    def worker(seed):
        rng = random.Random(seed)
        try:
            for _ in range(40):
                request = {"cpu": rng.randint(1, 4), "memory": (rng.randint(0, 3), rng.choice([None, 6]))}
                if rng.random() < 0.3:
                    request["disk_io"] = 1
                with pool.occupy(request, priority=rng.randint(0, 2), timeout=JOIN_S) as grant:
                    usage.add(grant.amounts, +1)
                    time.sleep(rng.random() * 0.0005)
                    usage.add(grant.amounts, -1)
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    with Watcher(pool) as watcher:
        threads = [threading.Thread(target=worker, args=(i,)) for i in range(12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(JOIN_S)
    assert not any(t.is_alive() for t in threads)
    assert errors == [] and usage.errors == [] and watcher.violations == []
    assert watcher.samples > 0 and usage.peak["cpu"] >= 2
    stats = pool.stats()
    assert stats["waiting"] == 0 and stats["in_use"] == dict.fromkeys(totals, 0)
    assert stats["wait"]["count"] == 12 * 40


def test_asyncio_tasks_and_threads_together_never_exceed_totals():
    totals = {"cpu": 3, "memory": 8, "disk_io": 0, "network": 2, "gpu": 0}
    pool = ResourcePool(totals)
    usage = Usage(totals)
    thread_errors = []

    async def task(rng):
        for _ in range(15):
            request = {"cpu": rng.randint(1, 3), "memory": rng.randint(0, 4)}
            async with pool.occupy_async(request, priority=rng.randint(0, 1)) as grant:
                usage.add(grant.amounts, +1)
                await asyncio.sleep(rng.random() * 0.0005)
                usage.add(grant.amounts, -1)

    def thread(seed):
        rng = random.Random(seed)
        try:
            for _ in range(15):
                with pool.occupy({"cpu": rng.randint(1, 2), "network": 1}, timeout=JOIN_S) as grant:
                    usage.add(grant.amounts, +1)
                    time.sleep(rng.random() * 0.0005)
                    usage.add(grant.amounts, -1)
        except BaseException as e:  # noqa: BLE001
            thread_errors.append(e)

    async def main():
        await asyncio.wait_for(asyncio.gather(*(task(random.Random(i)) for i in range(20))), JOIN_S)

    with Watcher(pool) as watcher:
        threads = [threading.Thread(target=thread, args=(100 + i,)) for i in range(4)]
        for t in threads:
            t.start()
        asyncio.run(main())
        for t in threads:
            t.join(JOIN_S)
    assert thread_errors == [] and usage.errors == [] and watcher.violations == []
    stats = pool.stats()
    assert stats["waiting"] == 0 and stats["in_use"] == dict.fromkeys(totals, 0)
    assert stats["wait"]["count"] == 20 * 15 + 4 * 15


def test_two_event_loops_in_two_threads():
    pool = ResourcePool({"cpu": 1})
    done = []

    def run_loop(n):
        async def main():
            for _ in range(30):
                async with pool.occupy_async({"cpu": 1}):
                    await asyncio.sleep(0)
            done.append(n)

        asyncio.run(asyncio.wait_for(main(), JOIN_S))

    threads = [threading.Thread(target=run_loop, args=(n,)) for n in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(JOIN_S)
    assert sorted(done) == [0, 1, 2]
    assert pool.stats()["in_use"]["cpu"] == 0


def test_cancelled_task_leaves_no_trace():
    pool = ResourcePool({"cpu": 1})

    async def main():
        held = pool.try_acquire({"cpu": 1})
        task = asyncio.create_task(pool.acquire_async({"cpu": 1}))
        await asyncio.sleep(0)
        assert waiting(pool) == 1
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert waiting(pool) == 0
        pool.release(held)
        assert pool.stats()["in_use"]["cpu"] == 0

    asyncio.run(main())
    assert pool.stats()["cancelled"] == 1


def test_task_cancelled_just_after_its_grant_gives_it_back():
    pool = ResourcePool({"cpu": 1})

    async def main():
        held = pool.try_acquire({"cpu": 1})
        task = asyncio.create_task(pool.acquire_async({"cpu": 1}))
        await asyncio.sleep(0)
        pool.release(held)  # grants the task's ticket; the task has not run yet
        assert pool.stats()["in_use"]["cpu"] == 1
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        stats = pool.stats()
        assert stats["in_use"]["cpu"] == 0 and stats["waiting"] == 0

    asyncio.run(main())


def test_async_timeout_and_await_form():
    pool = ResourcePool({"cpu": 1})

    async def main():
        grant = await pool.occupy_async({"cpu": 1})  # await form: release by hand
        assert grant.amounts == {"cpu": 1}
        with pytest.raises(TimeoutError):
            async with pool.occupy_async({"cpu": 1}, timeout=0.05):
                pass
        assert waiting(pool) == 0
        waiter = asyncio.create_task(pool.acquire_async({"cpu": 1}, timeout=JOIN_S))
        await asyncio.sleep(0.01)
        pool.release(grant)
        late = await waiter
        pool.release(late)
        with pytest.raises(ResourceError):
            pool.release(late)

    asyncio.run(main())
    stats = pool.stats()
    assert stats["timeouts"] == 1 and stats["in_use"]["cpu"] == 0 and stats["wait"]["waited"] == 1


def test_grant_to_a_closed_loop_is_given_back():
    pool = ResourcePool({"cpu": 1})
    held = pool.try_acquire({"cpu": 1})
    loop = asyncio.new_event_loop()
    started = threading.Event()

    def run():
        async def wait_forever():
            started.set()
            await pool.acquire_async({"cpu": 1})

        task = loop.create_task(wait_forever())
        loop.run_until_complete(asyncio.sleep(0.05))
        assert not task.done()
        loop.close()  # abandoned with its task still waiting
        task._log_destroy_pending = False  # deliberate here; keep the log quiet

    t = threading.Thread(target=run)
    t.start()
    t.join(JOIN_S)
    assert started.is_set() and waiting(pool) == 1
    pool.release(held)  # the waiter's loop is gone: nobody may keep the cpu
    stats = pool.stats()
    assert stats["in_use"]["cpu"] == 0 and stats["waiting"] == 0


# --- sizing from the machine --------------------------------------------------------


def test_system_capacities_are_sane():
    caps = system_capacities()
    assert set(caps) == {"cpu", "memory", "disk_io", "network", "gpu"}
    assert caps["cpu"] >= 1 and caps["memory"] > 0 and caps["gpu"] == 0
    assert caps["disk_io"] >= 2 and 8 <= caps["network"] <= 64


def test_from_system_overrides():
    pool = ResourcePool.from_system(cpu=3, gpu=1, licenses=2, hard=["gpu"])
    total = pool.stats()["total"]
    assert total["cpu"] == 3 and total["gpu"] == 1 and total["licenses"] == 2
    assert total["memory"] == system_capacities()["memory"]
    assert pool.ledger.hard == frozenset({"gpu"})


def _write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_cgroup_v2_limits_tightest_over_ancestors(tmp_path):
    root = tmp_path / "cg"
    _write(root / "cgroup.controllers", "cpu memory\n")
    _write(root / "cpu.max", "max 100000\n")
    _write(root / "memory.max", "max\n")
    _write(root / "build" / "cpu.max", "150000 100000\n")
    _write(root / "build" / "memory.max", f"{3 << 30}\n")
    _write(root / "build" / "job" / "cpu.max", "max 100000\n")
    _write(root / "build" / "job" / "memory.max", f"{8 << 30}\n")
    proc = tmp_path / "cgroup"
    proc.write_text("0::/build/job\n")
    cpu, memory = cgroup_limits(cgroup_root=str(root), proc_cgroup=str(proc))
    assert cpu == 1.5 and memory == 3 << 30
    caps = system_capacities(cgroup_root=str(root), proc_cgroup=str(proc))
    assert caps["cpu"] <= 2 and caps["memory"] <= 3 << 30


def test_cgroup_v2_without_limits(tmp_path):
    root = tmp_path / "cg"
    _write(root / "cgroup.controllers", "cpu memory\n")
    _write(root / "cpu.max", "max 100000\n")
    _write(root / "memory.max", "max\n")
    proc = tmp_path / "cgroup"
    proc.write_text("0::/\n")
    assert cgroup_limits(cgroup_root=str(root), proc_cgroup=str(proc)) == (None, None)


def test_cgroup_v1_fallback(tmp_path):
    root = tmp_path / "cg"
    _write(root / "cpu" / "cpu.cfs_quota_us", "-1\n")
    _write(root / "cpu" / "cpu.cfs_period_us", "100000\n")
    _write(root / "memory" / "memory.limit_in_bytes", "9223372036854771712\n")
    _write(root / "memory" / "box" / "memory.limit_in_bytes", f"{1 << 30}\n")
    proc = tmp_path / "cgroup"
    proc.write_text("4:memory:/box\n1:cpu,cpuacct:/\n0::/\n")
    assert cgroup_limits(cgroup_root=str(root), proc_cgroup=str(proc)) == (None, 1 << 30)
    _write(root / "cpu" / "cpu.cfs_quota_us", "50000\n")
    assert cgroup_limits(cgroup_root=str(root), proc_cgroup=str(proc)) == (0.5, 1 << 30)
    assert system_capacities(cgroup_root=str(root), proc_cgroup=str(proc))["cpu"] == 1
