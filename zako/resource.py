"""Resource pool: the ledger kernel behind a lock, with blocking and asyncio waits.

``ResourcePool`` is what build steps use to claim cpu, memory and friends
before they run::

    pool = ResourcePool.from_system()
    with pool.occupy({"cpu": 2, "memory": 6 << 30}) as grant:
        run_linker()                      # released on exit, even on error

    async with pool.occupy_async({"cpu": 1}) as grant:
        await compile_one()

    with pool.try_occupy({"gpu": 1}) as grant:
        if grant is None:
            ...                           # not free now; nothing was queued

Ordering, the growth rule for oversized requests and the starvation guard
are the ledger's (see ``zako.pure.ledger.ResourceLedger``); this module only
adds the lock, the waits and the statistics. Every wait is a ledger ticket;
a wait that ends without a grant (timeout, task cancellation, an exception
in the waiting thread) cancels its ticket under the lock, so nothing of it
remains, and whatever that cancellation unblocks is granted at once.
"""

from __future__ import annotations

import asyncio
import math
import os
import threading
import time
from collections.abc import Iterable, Mapping
from typing import Any

from . import _impl
from .exceptions import ResourceError, UnknownResourceError

__all__ = [
    "DEFAULT_RESOURCES",
    "Grant",
    "ResourceError",
    "ResourceLedger",
    "ResourcePool",
    "Ticket",
    "UnknownResourceError",
    "cgroup_limits",
    "system_capacities",
]

_ledger = _impl.kernel("ledger")
ResourceLedger = _ledger.ResourceLedger
Grant = _ledger.Grant
Ticket = _ledger.Ticket
DEFAULT_RESOURCES: tuple[str, ...] = _ledger.DEFAULT_RESOURCES

Request = Mapping[str, "int | tuple[int, int | None]"]


# --- waiters ---------------------------------------------------------------------


class _ThreadWaiter:
    """A blocked thread: it sleeps on a lock that the granting thread releases."""

    __slots__ = ("lock",)

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.lock.acquire()

    def wake(self) -> None:
        self.lock.release()


def _resolve(future: asyncio.Future) -> None:
    if not future.done():
        future.set_result(None)


class _AsyncWaiter:
    """A waiting task: its future is resolved on its own loop's thread."""

    __slots__ = ("loop", "future", "thread")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.future = loop.create_future()
        self.thread = threading.get_ident()

    def wake(self) -> None:
        if threading.get_ident() == self.thread:
            _resolve(self.future)
        else:  # RuntimeError when the loop is closed: the caller takes the grant back
            self.loop.call_soon_threadsafe(_resolve, self.future)


# --- context managers -----------------------------------------------------------


class _Occupation:
    """``with pool.occupy(...) as grant``: waits on enter, releases on exit."""

    __slots__ = ("_pool", "_request", "_priority", "_timeout", "_grant")

    def __init__(self, pool: ResourcePool, request: Request, priority: int, timeout: float | None) -> None:
        self._pool = pool
        self._request = request
        self._priority = priority
        self._timeout = timeout
        self._grant = None

    def __enter__(self) -> Grant:
        if self._grant is not None:
            raise ResourceError(f"occupation of {dict(self._request)!r} is already entered")
        pool = self._pool
        grant = None
        if self._timeout is None:  # uncontended fast path, inlined: one lock round
            with pool._lock:
                grant = pool._ledger.try_acquire(self._request, self._priority)
                if grant is not None:
                    pool._granted += 1
        if grant is None:
            grant = pool.acquire(self._request, self._priority, self._timeout)
        self._grant = grant
        return grant

    def __exit__(self, *exc_info: object) -> None:
        grant, self._grant = self._grant, None
        if grant is not None:
            pool = self._pool
            with pool._lock:
                woken = pool._ledger.release(grant)
                if woken:
                    pool._dispatch(woken)


class _AsyncOccupation:
    """``async with pool.occupy_async(...) as grant``, or ``grant = await ...``
    (then give it back with ``pool.release(grant)``)."""

    __slots__ = ("_pool", "_request", "_priority", "_timeout", "_grant")

    def __init__(self, pool: ResourcePool, request: Request, priority: int, timeout: float | None) -> None:
        self._pool = pool
        self._request = request
        self._priority = priority
        self._timeout = timeout
        self._grant = None

    def __await__(self):
        return self._pool.acquire_async(self._request, self._priority, self._timeout).__await__()

    async def __aenter__(self) -> Grant:
        if self._grant is not None:
            raise ResourceError(f"occupation of {dict(self._request)!r} is already entered")
        self._grant = await self._pool.acquire_async(self._request, self._priority, self._timeout)
        return self._grant

    async def __aexit__(self, *exc_info: object) -> None:
        grant, self._grant = self._grant, None
        if grant is not None:
            self._pool.release(grant)


class _Held:
    """``with pool.try_occupy(...) as grant``: ``grant`` may be ``None``."""

    __slots__ = ("_pool", "_grant")

    def __init__(self, pool: ResourcePool, grant: Grant | None) -> None:
        self._pool = pool
        self._grant = grant

    def __enter__(self) -> Grant | None:
        return self._grant

    def __exit__(self, *exc_info: object) -> None:
        grant, self._grant = self._grant, None
        if grant is not None:
            self._pool.release(grant)


# --- the pool ---------------------------------------------------------------------


class ResourcePool:
    """A ``ResourceLedger`` shared by threads and asyncio tasks.

    ``ResourcePool(capacities, *, hard=(), max_overtakes=16)`` builds the
    ledger (same arguments, same errors). All methods are thread-safe; the
    lock is held only for bookkeeping, never while waiting. Request errors
    (unknown resource, bad amount, a hard request that could never run)
    are raised by the call that makes the request, before anything waits.
    """

    def __init__(self, capacities: Mapping[str, int] | None = None, *, hard: Iterable[str] = (), max_overtakes: int = 16) -> None:
        self._ledger = ResourceLedger(capacities, hard=hard, max_overtakes=max_overtakes)
        self._lock = threading.Lock()
        self._waiters: dict[Any, _ThreadWaiter | _AsyncWaiter] = {}
        self._granted = 0  # every grant handed out by this pool
        self._waited = 0  # of those, the ones that had to queue
        self._wait_total = 0.0
        self._wait_max = 0.0
        self._timeouts = 0
        self._cancelled = 0

    @classmethod
    def from_system(cls, *, hard: Iterable[str] = (), max_overtakes: int = 16, **overrides: int) -> ResourcePool:
        """A pool sized from this machine (see ``system_capacities``);
        ``overrides`` replace any figure or add resources: ``from_system(cpu=4)``."""
        capacities = system_capacities()
        capacities.update(overrides)
        return cls(capacities, hard=hard, max_overtakes=max_overtakes)

    @property
    def ledger(self) -> ResourceLedger:
        """The ledger behind the pool. Read it via ``snapshot``/``stats``;
        changing it directly would bypass the pool's waiters."""
        return self._ledger

    def register(self, name: str, total: int, hard: bool = False) -> None:
        """Add a resource (``ResourceLedger.register``)."""
        with self._lock:
            self._ledger.register(name, total, hard)

    def snapshot(self) -> dict:
        """The ledger's ``{"total", "in_use", "free", "waiting"}``."""
        with self._lock:
            return self._ledger.snapshot()

    def stats(self) -> dict:
        """Ledger snapshot plus counters. ``wait`` covers every grant this
        pool handed out: ``count``, how many ``waited`` in the queue, and the
        ``mean``/``max``/``total`` time from request to grant in seconds
        (0 for an immediate grant). ``timeouts`` and ``cancelled`` count
        waits that ended without a grant."""
        with self._lock:
            stats = self._ledger.snapshot()
            count = self._granted
            stats["wait"] = {
                "count": count,
                "waited": self._waited,
                "mean": self._wait_total / count if count else 0.0,
                "max": self._wait_max,
                "total": self._wait_total,
            }
            stats["timeouts"] = self._timeouts
            stats["cancelled"] = self._cancelled
            return stats

    # -- grants ---------------------------------------------------------------

    def try_acquire(self, request: Request, priority: int = 0) -> Grant | None:
        """A grant now or ``None``; never queues. Release with ``release``."""
        with self._lock:
            grant = self._ledger.try_acquire(request, priority)
            if grant is not None:
                self._granted += 1
            return grant

    def release(self, grant: Grant) -> None:
        """Give ``grant`` back and wake the waiters it unblocks. A second
        release raises ``ResourceError``."""
        with self._lock:
            self._dispatch(self._ledger.release(grant))

    def _dispatch(self, woken: list) -> None:
        """Hand granted tickets to their waiters (lock held)."""
        while woken:
            orphaned = []
            for ticket, grant in woken:
                waiter = self._waiters.pop(ticket, None)
                try:
                    if waiter is None:
                        raise RuntimeError("no waiter")
                    waiter.wake()
                except RuntimeError:  # its event loop is gone: nobody can take it
                    orphaned.append(grant)
            woken = [pair for grant in orphaned for pair in self._ledger.release(grant)]

    def _record_wait(self, started: float) -> None:
        waited = time.monotonic() - started
        with self._lock:
            self._granted += 1
            self._waited += 1
            self._wait_total += waited
            if waited > self._wait_max:
                self._wait_max = waited

    def _enqueue(self, request: Request, priority: int, timeout: float | None, make_waiter) -> tuple[Grant | None, Any, Any]:
        """Grant at once, or queue a ticket with a waiter (lock taken here)."""
        if timeout is not None and (timeout != timeout or timeout < 0):
            raise ValueError(f"timeout must be None or >= 0, got {timeout!r}")
        with self._lock:
            grant = self._ledger.try_acquire(request, priority)
            if grant is not None:
                self._granted += 1
                return grant, None, None
            if timeout is not None and timeout == 0:
                self._timeouts += 1
                raise TimeoutError(f"resources {dict(request)!r} are not free (timeout 0)")
            ticket = self._ledger.enqueue(request, priority)
            if ticket.grant is not None:  # cannot happen right after a refusal; be safe
                self._granted += 1
                return ticket.grant, None, None
            waiter = make_waiter()
            self._waiters[ticket] = waiter
            return None, ticket, waiter

    def _give_up(self, ticket: Any, timed_out: bool) -> Grant | None:
        """The wait for ``ticket`` ended without a wake-up. Cancel it and
        return ``None``, or, if it was granted meanwhile, return its grant."""
        with self._lock:
            if ticket.state == "waiting":
                self._waiters.pop(ticket, None)
                if timed_out:
                    self._timeouts += 1
                else:
                    self._cancelled += 1
                self._dispatch(self._ledger.cancel(ticket))
                return None
            grant = ticket.grant
            # Already released: its waiter's loop was gone when it was granted.
            return None if grant.released else grant

    def acquire(self, request: Request, priority: int = 0, timeout: float | None = None) -> Grant:
        """Block until ``request`` is granted; ``TimeoutError`` after ``timeout``
        seconds (the request is withdrawn). Release with ``release``."""
        grant, ticket, waiter = self._enqueue(request, priority, timeout, _ThreadWaiter)
        if grant is not None:
            return grant
        started = time.monotonic()
        try:
            woken = waiter.lock.acquire(timeout=-1 if timeout is None else timeout)
        except BaseException:  # e.g. KeyboardInterrupt: withdraw, and give back a late grant
            grant = self._give_up(ticket, False)
            if grant is not None:
                self.release(grant)
            raise
        if not woken and self._give_up(ticket, True) is None:
            raise TimeoutError(f"resources {dict(request)!r} not granted within {timeout} s")
        # else: granted just as the wait timed out -- keep it
        self._record_wait(started)
        return ticket.grant

    async def acquire_async(self, request: Request, priority: int = 0, timeout: float | None = None) -> Grant:
        """Await a grant of ``request`` (a task awaits; the loop keeps running).
        Cancelling the task or hitting ``timeout`` withdraws the request."""
        loop = asyncio.get_running_loop()
        grant, ticket, waiter = self._enqueue(request, priority, timeout, lambda: _AsyncWaiter(loop))
        if grant is not None:
            return grant
        started = time.monotonic()
        try:
            if timeout is None:
                await waiter.future
            else:
                await asyncio.wait_for(waiter.future, timeout)
        except BaseException as exc:
            timed_out = isinstance(exc, TimeoutError)
            grant = self._give_up(ticket, timed_out)
            if grant is None:
                if timed_out:
                    raise TimeoutError(f"resources {dict(request)!r} not granted within {timeout} s") from None
                raise
            if not timed_out:  # granted as the task was cancelled: give it back
                self.release(grant)
                raise
        self._record_wait(started)
        return ticket.grant

    # -- context managers ---------------------------------------------------------

    def occupy(self, request: Request, priority: int = 0, timeout: float | None = None) -> _Occupation:
        """``with pool.occupy(request) as grant:`` -- blocks until granted
        (``TimeoutError`` after ``timeout`` s), releases on exit."""
        return _Occupation(self, request, priority, timeout)

    def occupy_async(self, request: Request, priority: int = 0, timeout: float | None = None) -> _AsyncOccupation:
        """``async with pool.occupy_async(request) as grant:`` -- awaits the
        grant, releases on exit; ``await pool.occupy_async(request)`` returns
        the grant for a later ``pool.release``."""
        return _AsyncOccupation(self, request, priority, timeout)

    def try_occupy(self, request: Request, priority: int = 0) -> _Held:
        """``with pool.try_occupy(request) as grant:`` -- ``grant`` is ``None``
        when the request is not free now (nothing is queued)."""
        return _Held(self, self.try_acquire(request, priority))

    def __repr__(self) -> str:
        return f"<ResourcePool {self._ledger!r}>"


# --- sizing from the machine -------------------------------------------------------

# Heuristics for the resources the machine does not report directly.
# disk_io: concurrent jobs that stream large files; one per cpu, at least 2
#   (an SSD serves parallel reads well, and more would only queue in the kernel).
# network: concurrent transfers (remote cache, downloads); they mostly wait on
#   latency, so 4 per cpu, at least 8 and at most 64 connections.


def system_capacities(*, cgroup_root: str = "/sys/fs/cgroup", proc_cgroup: str = "/proc/self/cgroup") -> dict[str, int]:
    """``{"cpu", "memory", "disk_io", "network", "gpu"}`` of this machine.

    cpu: the cpus this process may run on (``os.sched_getaffinity``), capped
    by the cgroup cpu quota (v2 ``cpu.max``, or v1 ``cpu.cfs_quota_us``) rounded
    up. memory: physical memory (``os.sysconf``) capped by the cgroup limit
    (v2 ``memory.max`` of this process's cgroup and its ancestors, or v1
    ``memory.limit_in_bytes``) -- what a container may really use. disk_io,
    network: the heuristics above. gpu: 0 (register or override it).
    """
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    memory = _physical_memory()
    cpu_quota, memory_limit = cgroup_limits(cgroup_root=cgroup_root, proc_cgroup=proc_cgroup)
    if cpu_quota is not None:
        cpus = min(cpus, max(1, math.ceil(cpu_quota)))
    if memory_limit is not None:
        memory = min(memory, memory_limit) if memory else memory_limit
    cpus = max(1, cpus)
    return {
        "cpu": cpus,
        "memory": memory,
        "disk_io": max(2, cpus),
        "network": min(64, max(8, 4 * cpus)),
        "gpu": 0,
    }


def _physical_memory() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return 0


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="ascii") as f:
            return f.read().strip()
    except (OSError, UnicodeDecodeError):
        return None


def _cgroup_paths(proc_cgroup: str) -> dict[str, str]:
    """Controller -> cgroup path of this process; ``""`` is the v2 hierarchy."""
    paths: dict[str, str] = {}
    for line in (_read(proc_cgroup) or "").splitlines():
        parts = line.split(":", 2)
        if len(parts) == 3:
            for controller in parts[1].split(",") if parts[1] else [""]:
                paths[controller] = parts[2]
    return paths


def _levels(root: str, path: str) -> list[str]:
    """``root/path`` and each ancestor directory up to ``root``, innermost first."""
    parts = [p for p in path.split("/") if p and p not in (".", "..")]
    return [os.path.join(root, *parts[:i]) for i in range(len(parts), -1, -1)]


def _min(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else min(a, b)


def cgroup_limits(*, cgroup_root: str = "/sys/fs/cgroup", proc_cgroup: str = "/proc/self/cgroup") -> tuple[float | None, int | None]:
    """(cpu quota in cpus, memory limit in bytes) of this process's cgroup,
    the tightest over its ancestors; ``None`` where there is no limit.
    Reads cgroup v2 (``cpu.max``, ``memory.max``; also under ``unified/`` on
    hybrid hosts) and falls back to v1 (``cpu.cfs_quota_us``/``cpu.cfs_period_us``,
    ``memory.limit_in_bytes``). In a container with its own cgroup namespace
    the path is ``/`` and the files at the root are the container's limits."""
    paths = _cgroup_paths(proc_cgroup)
    cpu: float | None = None
    memory: float | None = None
    for v2_root in (cgroup_root, os.path.join(cgroup_root, "unified")):
        if _read(os.path.join(v2_root, "cgroup.controllers")) is None:
            continue
        for level in _levels(v2_root, paths.get("", "/")):
            fields = (_read(os.path.join(level, "cpu.max")) or "").split()
            if len(fields) == 2 and fields[0] != "max":
                try:
                    cpu = _min(cpu, int(fields[0]) / int(fields[1]))
                except (ValueError, ZeroDivisionError):
                    pass
            text = _read(os.path.join(level, "memory.max"))
            if text and text != "max" and text.isdigit():
                memory = _min(memory, int(text))
        break
    # cgroup v1: one hierarchy per controller.
    for controller, sub in (("cpu", "cpu"), ("memory", "memory")):
        base = os.path.join(cgroup_root, sub)
        if not os.path.isdir(base):
            continue
        for level in _levels(base, paths.get(controller, "/")):
            if controller == "cpu":
                quota = _read(os.path.join(level, "cpu.cfs_quota_us"))
                period = _read(os.path.join(level, "cpu.cfs_period_us"))
                try:
                    if quota is not None and period is not None and int(quota) > 0:
                        cpu = _min(cpu, int(quota) / int(period))
                except (ValueError, ZeroDivisionError):
                    pass
            else:
                text = _read(os.path.join(level, "memory.limit_in_bytes"))
                # v1 reports "no limit" as a huge page-aligned number.
                if text and text.isdigit() and int(text) < 2**62:
                    memory = _min(memory, int(text))
    return cpu, (None if memory is None else int(memory))
