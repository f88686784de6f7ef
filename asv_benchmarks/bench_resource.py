"""Resource accounting benchmarks: ledger kernels and ResourcePool vs a semaphore.

Baseline in every class (the ``baseline`` case): ``threading.Semaphore(4)``,
the stdlib way to bound concurrency -- one counter, no names, no ranges, no
fairness. Each timed call does ``LOOPS`` operations, so asv's per-call
overhead does not swamp a ~100 ns operation; divide by ``LOOPS`` for one.

- ``LedgerAcquireRelease.time_cpu1``: ``try_acquire({"cpu": 1})`` +
  ``release`` against ``acquire()`` + ``release()``. Goal: Cython >= 2x the
  semaphore pair (time <= half); pure reported.
- ``LedgerAcquireRelease.time_three_resources``: a cpu + memory + disk_io
  request against three semaphores taken and given back.
- ``LedgerQueued1000.time_release_wakes_one``: 1,000 tickets wait on a full
  4-cpu ledger; release one grant (which wakes exactly the head ticket) and
  enqueue a new ticket to keep the queue at 1,000.
- ``PoolOccupy.time_occupy``: ``with pool.occupy({"cpu": 1}):`` uncontended
  against ``with semaphore:``; the pool runs on the named kernel.
"""

from __future__ import annotations

import threading

from zako import _impl
from zako.resource import ResourcePool

LOOPS = 1000
IMPLS = ["cython", "pure", "baseline"]


def _ledger_module(impl):
    return _impl.load_kernels(impl)["ledger"]


class LedgerAcquireRelease:
    params = IMPLS
    param_names = ["impl"]

    def setup(self, impl):
        self.sem = threading.Semaphore(4)
        self.sems = [threading.Semaphore(4) for _ in range(3)]
        if impl != "baseline":
            self.ledger = _ledger_module(impl).ResourceLedger({"cpu": 4, "memory": 16 << 30, "disk_io": 4})
        self.cpu1 = {"cpu": 1}
        self.three = {"cpu": 1, "memory": 1 << 30, "disk_io": 1}

    def time_cpu1(self, impl):
        if impl == "baseline":
            acquire, release = self.sem.acquire, self.sem.release
            for _ in range(LOOPS):
                acquire()
                release()
        else:
            try_acquire, release, request = self.ledger.try_acquire, self.ledger.release, self.cpu1
            for _ in range(LOOPS):
                release(try_acquire(request))

    def time_three_resources(self, impl):
        if impl == "baseline":
            a, b, c = self.sems
            for _ in range(LOOPS):
                a.acquire()
                b.acquire()
                c.acquire()
                c.release()
                b.release()
                a.release()
        else:
            try_acquire, release, request = self.ledger.try_acquire, self.ledger.release, self.three
            for _ in range(LOOPS):
                release(try_acquire(request))


class LedgerQueued1000:
    params = IMPLS
    param_names = ["impl"]
    queued = 1000

    def setup(self, impl):
        self.sem = threading.Semaphore(4)
        if impl == "baseline":
            return
        self.ledger = ledger = _ledger_module(impl).ResourceLedger({"cpu": 4})
        self.request = {"cpu": 1}
        self.held = [ledger.try_acquire(self.request) for _ in range(4)]
        self.tickets = [ledger.enqueue(self.request) for _ in range(self.queued)]

    def time_release_wakes_one(self, impl):
        if impl == "baseline":
            acquire, release = self.sem.acquire, self.sem.release
            for _ in range(LOOPS):
                acquire()
                release()
            return
        ledger, held, request = self.ledger, self.held, self.request
        release, enqueue = ledger.release, ledger.enqueue
        for _ in range(LOOPS):
            [(_ticket, grant)] = release(held.pop(0))
            held.append(grant)
            enqueue(request)


class PoolOccupy:
    params = IMPLS
    param_names = ["impl"]

    def setup(self, impl):
        self.sem = threading.Semaphore(4)
        self.pool = ResourcePool({"cpu": 4})
        if impl != "baseline":
            # Benchmark-only: run the pool on the named kernel, whichever is selected.
            self.pool._ledger = _ledger_module(impl).ResourceLedger({"cpu": 4})
        self.request = {"cpu": 1}

    def time_occupy(self, impl):
        if impl == "baseline":
            sem = self.sem
            for _ in range(LOOPS):
                with sem:
                    pass
        else:
            occupy, request = self.pool.occupy, self.request
            for _ in range(LOOPS):
                with occupy(request):
                    pass
