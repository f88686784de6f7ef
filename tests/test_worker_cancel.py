"""CancelSource / CancelToken, and cancellation of pool jobs (generic part).

Cancelling running JavaScript is tested in test_v8_worker.py.
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import CancelledError, wait

import pytest

from zako.worker import CancelSource, CancelToken, PoolConfig, WorkerPool

from test_worker_pool import WAIT, Fake, acquire_n, blocker, no_thread_leaks, state_id  # noqa: F401

# --- tokens -------------------------------------------------------------------


def test_token_starts_active_and_cancel_is_one_way():
    source = CancelSource()
    token = source.token
    assert not token.cancelled and not source.cancelled
    token.raise_if_cancelled()
    assert source.cancel("user asked") is True
    assert token.cancelled and token.reason == "user asked"
    assert source.cancel() is False
    with pytest.raises(CancelledError, match="user asked"):
        token.raise_if_cancelled()


def test_callbacks_run_once_in_order():
    token = CancelToken()
    calls = []
    token.add_callback(lambda: calls.append("a"))
    token.add_callback(lambda: calls.append("b"))
    token.cancel()
    token.cancel()
    assert calls == ["a", "b"]


def test_callback_added_after_cancel_runs_at_once():
    token = CancelToken()
    token.cancel()
    calls = []
    token.add_callback(lambda: calls.append(1))
    assert calls == [1]


def test_removed_callback_does_not_run():
    token = CancelToken()
    calls = []

    def cb():
        calls.append("removed")

    token.add_callback(cb)
    assert token.remove_callback(cb) is True
    assert token.remove_callback(cb) is False
    token.cancel()
    assert calls == []


def test_same_callback_twice_needs_two_removals():
    token = CancelToken()
    calls = []

    def cb():
        calls.append(1)

    token.add_callback(cb)
    token.add_callback(cb)
    token.remove_callback(cb)
    token.cancel()
    assert calls == [1]


def test_raising_callback_does_not_stop_the_others(caplog):
    token = CancelToken()
    calls = []

    def bad():
        raise RuntimeError("listener bug")

    token.add_callback(bad)
    token.add_callback(lambda: calls.append("after"))
    token.cancel()
    assert calls == ["after"]
    assert "listener bug" in caplog.text


def test_non_callable_is_refused():
    with pytest.raises(TypeError, match="callable"):
        CancelToken().add_callback(42)


def test_linked_source_follows_parent_not_the_reverse():
    parent = CancelSource()
    child = CancelSource(parent.token)
    child.cancel()
    assert not parent.cancelled
    other = CancelSource(parent.token)
    parent.cancel("build aborted")
    assert other.cancelled and other.token.reason == "build aborted"


def test_closed_link_is_forgotten():
    parent = CancelSource()
    child = CancelSource(parent.token)
    child.close()
    parent.cancel()
    assert not child.cancelled


def test_concurrent_cancel_runs_callbacks_once():
    token = CancelToken()
    calls = []
    for i in range(50):
        token.add_callback(lambda i=i: calls.append(i))
    barrier = threading.Barrier(8)

    def race():
        barrier.wait()
        token.cancel()

    threads = [threading.Thread(target=race) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(calls) == list(range(50))


# --- pool jobs ------------------------------------------------------------------


def test_job_cancelled_before_start_never_runs():
    fake = Fake()
    gate = threading.Event()
    started = threading.Semaphore(0)
    ran = []
    with WorkerPool(fake, PoolConfig(max_workers=1)) as pool:
        first = pool.submit(blocker(gate, started))
        acquire_n(started, 1)
        source = CancelSource()
        victim = pool.submit(lambda s, t: ran.append("victim"), source.token)
        after = pool.submit(state_id)
        assert pool.stats().queued == 2
        source.cancel()
        assert victim.cancelled()
        assert pool.stats().queued == 1
        gate.set()
        first.result(WAIT)
        after.result(WAIT)
        with pytest.raises(CancelledError):
            victim.result(0)
        assert pool.stats().jobs_cancelled == 1
    assert ran == []


def test_future_cancel_drops_a_queued_job_and_wakes_waiters():
    fake = Fake()
    gate = threading.Event()
    started = threading.Semaphore(0)
    ran = []
    with WorkerPool(fake, PoolConfig(max_workers=1)) as pool:
        first = pool.submit(blocker(gate, started))
        acquire_n(started, 1)
        victim = pool.submit(lambda s, t: ran.append(1))
        assert victim.cancel()
        done, _ = wait([victim], timeout=WAIT)
        assert done == {victim}
        gate.set()
        first.result(WAIT)
    assert ran == []


def test_already_cancelled_token_never_runs():
    fake = Fake()
    token = CancelToken()
    token.cancel()
    ran = []
    with WorkerPool(fake, PoolConfig(max_workers=1)) as pool:
        future = pool.submit(lambda s, t: ran.append(1), token)
        assert future.cancelled()
        pool.submit(state_id).result(WAIT)
    assert ran == []
    assert pool.stats().jobs_cancelled == 1


def cooperative(started: threading.Semaphore):
    """A job that runs until its token fires (like a terminated script)."""

    def job(state, token):
        stop = threading.Event()
        token.add_callback(stop.set)
        started.release()
        assert stop.wait(WAIT), "token never fired"
        token.raise_if_cancelled()

    return job


def test_running_job_is_stopped_through_its_token():
    fake = Fake()
    started = threading.Semaphore(0)
    with WorkerPool(fake, PoolConfig(max_workers=1)) as pool:
        source = CancelSource()
        future = pool.submit(cooperative(started), source.token)
        acquire_n(started, 1)
        assert future.running()
        source.cancel()
        with pytest.raises(CancelledError):
            future.result(WAIT)
        done, _ = wait([future], timeout=WAIT)
        assert done == {future}
        # The worker is free again and its state intact.
        assert pool.submit(state_id).result(WAIT) == fake.states[0].id
        stats = pool.stats()
    assert (stats.jobs_cancelled, stats.jobs_done, stats.retired["error"]) == (1, 1, 0)


def test_future_cancel_reaches_a_running_job():
    fake = Fake()
    started = threading.Semaphore(0)
    with WorkerPool(fake, PoolConfig(max_workers=1)) as pool:
        future = pool.submit(cooperative(started))
        acquire_n(started, 1)
        assert future.cancel() is True
        assert future.cancelled()
        wait([future], timeout=WAIT)
        assert pool.submit(state_id).result(WAIT) >= 1
        assert pool.stats().jobs_cancelled == 1


def test_one_token_cancels_a_batch():
    fake = Fake()
    started = threading.Semaphore(0)
    source = CancelSource()
    with WorkerPool(fake, PoolConfig(max_workers=2)) as pool:
        futures = [pool.submit(cooperative(started), source.token) for _ in range(6)]
        acquire_n(started, 2)
        source.cancel()
        wait(futures, timeout=WAIT)
        assert all(f.cancelled() for f in futures)
        assert pool.stats().jobs_cancelled == 6
    assert sum(s.jobs for s in fake.states) == 2  # the queued four never ran


def test_cancelling_the_awaiting_task_cancels_the_job():
    fake = Fake()
    started = threading.Semaphore(0)

    async def main(pool):
        task = asyncio.ensure_future(pool.submit_async(cooperative(started)))
        await asyncio.get_running_loop().run_in_executor(None, acquire_n, started, 1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    with WorkerPool(fake, PoolConfig(max_workers=1)) as pool:
        asyncio.run(main(pool))
        # wait for the worker to finish the cancelled job's bookkeeping
        pool.submit(state_id).result(WAIT)
        assert pool.stats().jobs_cancelled == 1


def test_cancelling_an_async_submit_waiting_for_resources_withdraws_it():
    from zako.resource import ResourcePool

    fake = Fake()
    gate = threading.Event()
    started = threading.Semaphore(0)
    ran = []
    resources = ResourcePool({"memory": 10})

    async def main(pool):
        holder = pool.submit(blocker(gate, started), resources={"memory": 10})
        await asyncio.get_running_loop().run_in_executor(None, acquire_n, started, 1)
        task = asyncio.ensure_future(pool.submit_async(lambda s, t: ran.append(1), resources={"memory": 10}))
        while resources.snapshot()["waiting"] == 0:
            await asyncio.sleep(0.002)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        while resources.snapshot()["waiting"] or pool.stats().admitting:
            await asyncio.sleep(0.002)
        gate.set()
        return await asyncio.wrap_future(holder)

    with WorkerPool(fake, PoolConfig(max_workers=2), resource_pool=resources).start() as pool:
        assert asyncio.run(main(pool)) >= 1
        assert pool.stats().jobs_cancelled == 1
    assert ran == []
    assert resources.snapshot()["in_use"]["memory"] == 0


def test_shutdown_cancel_running_fires_running_tokens():
    fake = Fake()
    started = threading.Semaphore(0)
    pool = WorkerPool(fake, PoolConfig(max_workers=2)).start()
    running = [pool.submit(cooperative(started)) for _ in range(2)]
    queued = pool.submit(state_id)
    acquire_n(started, 2)
    pool.shutdown(wait=True, cancel_pending=True, cancel_running=True)
    assert all(f.cancelled() for f in [*running, queued])
    assert pool.stats().jobs_cancelled == 3


def test_a_cancel_source_is_accepted_for_its_token():
    fake = Fake()
    started = threading.Semaphore(0)
    with WorkerPool(fake, PoolConfig(max_workers=1)) as pool:
        source = CancelSource()
        future = pool.submit(cooperative(started), source)
        acquire_n(started, 1)
        source.cancel()
        with pytest.raises(CancelledError):
            future.result(WAIT)
        with pytest.raises(TypeError, match="cancel_token"):
            pool.submit(state_id, "not a token")
