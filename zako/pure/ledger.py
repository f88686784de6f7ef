"""Resource ledger, pure-Python reference kernel.

Pure bookkeeping of named resources -- no threads, no waiting, no clock.
``zako.resource.ResourcePool`` adds the locking and the blocking/asyncio
waits on top. This module is the readable statement of the contract in
DESIGN.md section 3; ``zako._core.ledger`` must agree with it on every
sequence of operations, errors included.
"""

from __future__ import annotations

import bisect
import operator
from collections.abc import Iterable, Mapping

from ..exceptions import ResourceError, UnknownResourceError

__all__ = [
    "DEFAULT_RESOURCES",
    "Grant",
    "ResourceError",
    "ResourceLedger",
    "Ticket",
    "UnknownResourceError",
]

# Registered by every ledger, in this order, with total 0 unless given.
DEFAULT_RESOURCES = ("cpu", "memory", "disk_io", "network", "gpu")

# Amounts and priorities are stored as signed 64-bit integers by the compiled
# kernel; the pure one enforces the same range so both raise alike.
_I64_MAX = 2**63 - 1
_I64_MIN = -(2**63)

_WAITING, _GRANTED, _CANCELLED = "waiting", "granted", "cancelled"


def _int64(value: object, what: str, *, minimum: int = 0) -> int:
    """``value`` as an int in ``minimum .. 2**63-1``; ``bool`` is refused."""
    if isinstance(value, bool):
        raise TypeError(f"{what} must be an int, got {value!r}")
    try:
        number = operator.index(value)
    except TypeError:
        raise TypeError(f"{what} must be an int, got {value!r}") from None
    if number < minimum:
        raise ValueError(f"{what} must be >= {minimum}, got {number}")
    if number > _I64_MAX:
        raise OverflowError(f"{what} must be <= {_I64_MAX}, got {number}")
    return number


def _priority(value: object) -> int:
    if isinstance(value, bool):
        raise TypeError(f"priority must be an int, got {value!r}")
    try:
        number = operator.index(value)
    except TypeError:
        raise TypeError(f"priority must be an int, got {value!r}") from None
    if not _I64_MIN <= number <= _I64_MAX:
        raise OverflowError(f"priority must fit in 64 bits, got {number}")
    return number


class Grant:
    """Resources handed out by one ``ResourceLedger``; release it exactly once.

    ``id`` is unique within its ledger (1, 2, 3, ... in grant order) and
    ``amounts`` maps every requested resource name to the amount actually
    granted (for a range request: what was free, up to its max). Treat
    ``amounts`` as read-only; releasing uses the ledger's own record.
    """

    __slots__ = ("_id", "_amounts", "_entries", "_ledger", "_released")

    def __init__(self, ledger: ResourceLedger, grant_id: int, amounts: dict[str, int], entries: list[tuple[int, int]]) -> None:
        self._ledger = ledger
        self._id = grant_id
        self._amounts = amounts
        self._entries = entries  # (resource id, amount)
        self._released = False

    @property
    def id(self) -> int:
        return self._id

    @property
    def amounts(self) -> dict[str, int]:
        return self._amounts

    @property
    def released(self) -> bool:
        return self._released

    def __repr__(self) -> str:
        state = " released" if self._released else ""
        return f"<Grant id={self._id} {self._amounts!r}{state}>"


class Ticket:
    """A queued request of one ``ResourceLedger``; opaque, hashable by identity.

    ``state`` is ``"waiting"``, ``"granted"`` (then ``grant`` is its
    ``Grant``) or ``"cancelled"``. ``overtaken`` counts the requests ordered
    after this ticket that were granted while it waited.
    """

    __slots__ = ("_id", "_priority", "_entries", "_shape", "_state", "_grant", "_overtaken", "_ledger")

    def __init__(self, ledger: ResourceLedger, ticket_id: int, priority: int, entries: list[tuple[int, int, int]]) -> None:
        self._ledger = ledger
        self._id = ticket_id
        self._priority = priority
        self._entries = entries  # (resource id, min, max)
        # Tickets whose minimum needs are equal fit or fail together, so the
        # ledger queues them together and tests one per shape.
        self._shape = tuple(sorted((rid, low) for rid, low, _ in entries if low > 0))
        self._state = _WAITING
        self._grant: Grant | None = None
        self._overtaken = 0

    @property
    def id(self) -> int:
        return self._id

    @property
    def priority(self) -> int:
        return self._priority

    @property
    def state(self) -> str:
        return self._state

    @property
    def grant(self) -> Grant | None:
        return self._grant

    @property
    def overtaken(self) -> int:
        return self._overtaken

    def __repr__(self) -> str:
        return f"<Ticket id={self._id} priority={self._priority} {self._state}>"


def _order(ticket: Ticket) -> tuple[int, int]:
    return (ticket._priority, ticket._id)


class ResourceLedger:
    """Totals, use and a waiting queue of named resources (bookkeeping only).

    ``capacities`` maps resource names to totals (non-negative ints). The
    names in ``DEFAULT_RESOURCES`` (``cpu``, ``memory`` in bytes, ``disk_io``,
    ``network``, ``gpu``) are always registered, with total 0 unless given;
    any other name in ``capacities`` is registered too. Names in ``hard``
    are hard resources.

    Requests map registered names to an exact amount ``n`` or a range
    ``(min, max)``; ``(min, None)`` means as much as is free. A range grants
    as much as is free up to ``max`` and at least ``min``. Requests are all
    or nothing. Errors, raised before anything changes: an unregistered name
    -> ``UnknownResourceError``; a non-int amount -> ``TypeError``; a
    negative amount or ``max < min`` -> ``ValueError``; beyond 64 bits ->
    ``OverflowError``.

    Growth rule: a (minimum) amount above a *soft* resource's total is
    granted only once nothing of that resource is in use, and the total
    then grows to that amount for good -- an oversized job still runs, alone.
    On a *hard* resource such a request raises ``ResourceError`` at once:
    it could never run.

    Order and starvation guard: waiting tickets are served in (priority,
    arrival) order, lower priority number first. A request ordered after a
    waiting ticket may still be granted first (backfill) when it fits and
    the ticket does not; each such grant counts as one overtake of every
    ticket ahead of it. A ticket overtaken ``max_overtakes`` times (default
    16; 0 = strict order) becomes a barrier: nothing ordered after it is
    granted until it is granted or cancelled. ``try_acquire`` and
    ``enqueue`` obey the same rule, ordered as a request arriving now.

    Cost: a request of k resources costs O(k) when nobody waits. With
    waiting tickets a release or cancel costs O(s) per granted ticket, s
    being the number of distinct waiting request shapes (minimum needs),
    plus the overtake counting, at most ``max_overtakes`` per ticket overall.
    """

    def __init__(self, capacities: Mapping[str, int] | None = None, *, hard: Iterable[str] = (), max_overtakes: int = 16) -> None:
        if capacities is None:
            capacities = {}
        if not isinstance(capacities, Mapping):
            raise TypeError(f"capacities must be a mapping of name -> total, got {capacities!r}")
        self._max_overtakes = _int64(max_overtakes, "max_overtakes")
        self._names: list[str] = []
        self._ids: dict[str, int] = {}
        self._total: list[int] = []
        self._in_use: list[int] = []
        self._hard: list[bool] = []
        totals = {name: 0 for name in DEFAULT_RESOURCES}
        for name, total in capacities.items():
            _check_name(name)
            totals[name] = _int64(total, f"total of resource {name!r}")
        for name, total in totals.items():
            self._add(name, total, False)
        if isinstance(hard, str):
            hard = (hard,)
        for name in hard:
            rid = self._ids.get(name) if isinstance(name, str) else None
            if rid is None:
                raise UnknownResourceError(f"hard resource {name!r} is not registered (known: {', '.join(self._names)})")
            self._hard[rid] = True
        # Waiting tickets grouped by shape, each list sorted by (priority, id).
        self._shapes: dict[tuple, list[Ticket]] = {}
        self._waiting = 0
        self._barriers: set[Ticket] = set()
        self._barrier_min: tuple[int, int] | None = None
        self._next_grant = 1
        self._next_ticket = 1

    # -- resources -------------------------------------------------------------

    def _add(self, name: str, total: int, hard: bool) -> None:
        self._ids[name] = len(self._names)
        self._names.append(name)
        self._total.append(total)
        self._in_use.append(0)
        self._hard.append(hard)

    def register(self, name: str, total: int, hard: bool = False) -> None:
        """Add resource ``name`` with ``total``; ``ResourceError`` if it exists."""
        _check_name(name)
        total = _int64(total, f"total of resource {name!r}")
        if name in self._ids:
            raise ResourceError(f"resource {name!r} is already registered (total {self._total[self._ids[name]]})")
        self._add(name, total, bool(hard))

    @property
    def max_overtakes(self) -> int:
        return self._max_overtakes

    @property
    def hard(self) -> frozenset[str]:
        """Names of the hard resources."""
        return frozenset(n for n, h in zip(self._names, self._hard) if h)

    # -- requests --------------------------------------------------------------

    def _parse(self, request: Mapping[str, object]) -> list[tuple[int, int, int]]:
        if not isinstance(request, Mapping):
            raise TypeError(f"a request must be a mapping of name -> amount, got {request!r}")
        entries = []
        for name, value in request.items():
            rid = self._ids.get(name) if isinstance(name, str) else None
            if rid is None:
                raise UnknownResourceError(f"unknown resource {name!r} in request {dict(request)!r} (known: {', '.join(self._names)})")
            if isinstance(value, (tuple, list)):
                if len(value) != 2:
                    raise TypeError(f"range for resource {name!r} must be (min, max), got {value!r}")
                low = _int64(value[0], f"minimum of resource {name!r}")
                high = _I64_MAX if value[1] is None else _int64(value[1], f"maximum of resource {name!r}")
                if high < low:
                    raise ValueError(f"range for resource {name!r} has max < min: {value!r}")
            else:
                low = high = _int64(value, f"amount of resource {name!r}")
            if low > self._total[rid] and self._hard[rid]:
                raise ResourceError(
                    f"request for {low} of hard resource {name!r} exceeds its total {self._total[rid]}: it could never run"
                )
            entries.append((rid, low, high))
        return entries

    def _fits(self, entries: list[tuple[int, int, int]]) -> bool:
        total, in_use = self._total, self._in_use
        for rid, low, _ in entries:
            if low > total[rid]:
                if in_use[rid]:  # growth: the oversized job runs alone
                    return False
            elif low > total[rid] - in_use[rid]:
                return False
        return True

    def _take(self, entries: list[tuple[int, int, int]]) -> Grant:
        total, in_use = self._total, self._in_use
        amounts: dict[str, int] = {}
        taken: list[tuple[int, int]] = []
        for rid, low, high in entries:
            if low > total[rid]:
                total[rid] = low
            amount = min(high, total[rid] - in_use[rid])
            in_use[rid] += amount
            amounts[self._names[rid]] = amount
            taken.append((rid, amount))
        grant = Grant(self, self._next_grant, amounts, taken)
        self._next_grant += 1
        return grant

    def _blocked(self, order: tuple[int, int]) -> bool:
        return self._barrier_min is not None and self._barrier_min < order

    def _overtake(self, order: tuple[int, int]) -> None:
        """Count one overtake for every waiting ticket ordered before ``order``."""
        for queue in self._shapes.values():
            for ticket in queue:
                if _order(ticket) >= order:
                    break
                ticket._overtaken += 1
                if ticket._overtaken == self._max_overtakes:
                    self._add_barrier(ticket)

    def _add_barrier(self, ticket: Ticket) -> None:
        self._barriers.add(ticket)
        if self._barrier_min is None or _order(ticket) < self._barrier_min:
            self._barrier_min = _order(ticket)

    def _drop_barrier(self, ticket: Ticket) -> None:
        self._barriers.discard(ticket)
        self._barrier_min = min(map(_order, self._barriers), default=None)

    def try_acquire(self, request: Mapping[str, object], priority: int = 0) -> Grant | None:
        """Grant ``request`` now, or return ``None`` and change nothing.

        Refused when it does not fit or when a waiting ticket ordered before
        it is a barrier (see the class docstring).
        """
        entries = self._parse(request)
        priority = _priority(priority)
        order = (priority, self._next_ticket)  # as if it arrived now
        if self._blocked(order) or not self._fits(entries):
            return None
        if self._waiting:
            self._overtake(order)
        return self._take(entries)

    def enqueue(self, request: Mapping[str, object], priority: int = 0) -> Ticket:
        """Queue ``request``; the ticket is granted at once when possible.

        Check ``ticket.state`` / ``ticket.grant``: a ticket granted here is
        not reported again by ``release``/``cancel``. Otherwise it waits and
        appears in the list returned by the ``release`` or ``cancel`` that
        grants it.
        """
        entries = self._parse(request)
        priority = _priority(priority)
        ticket = Ticket(self, self._next_ticket, priority, entries)
        self._next_ticket += 1
        order = _order(ticket)
        if not self._blocked(order) and self._fits(entries):
            if self._waiting:
                self._overtake(order)
            ticket._grant = self._take(entries)
            ticket._state = _GRANTED
            return ticket
        bisect.insort(self._shapes.setdefault(ticket._shape, []), ticket, key=_order)
        self._waiting += 1
        if ticket._overtaken >= self._max_overtakes:
            self._add_barrier(ticket)
        return ticket

    def cancel(self, ticket: Ticket) -> list[tuple[Ticket, Grant]]:
        """Withdraw a waiting ticket; returns the tickets granted as a result.

        Cancelling a cancelled ticket returns ``[]``; cancelling a granted
        ticket raises ``ResourceError`` (release its grant instead).
        """
        self._own(ticket, "ticket")
        if ticket._state == _CANCELLED:
            return []
        if ticket._state == _GRANTED:
            raise ResourceError(f"ticket {ticket._id} was already granted as grant {ticket._grant._id}: release the grant instead")
        queue = self._shapes[ticket._shape]
        del queue[bisect.bisect_left(queue, _order(ticket), key=_order)]
        if not queue:
            del self._shapes[ticket._shape]
        self._waiting -= 1
        ticket._state = _CANCELLED
        if ticket in self._barriers:
            self._drop_barrier(ticket)
        return self._schedule()

    def release(self, grant: Grant) -> list[tuple[Ticket, Grant]]:
        """Give back ``grant``; returns the waiting tickets granted as a result,
        in (priority, arrival) order. A second release raises ``ResourceError``.
        """
        self._own(grant, "grant")
        if grant._released:
            raise ResourceError(f"grant {grant._id} {grant._amounts!r} was already released")
        grant._released = True
        for rid, amount in grant._entries:
            self._in_use[rid] -= amount
        if not self._waiting:
            return []
        return self._schedule()

    def _own(self, obj: object, what: str) -> None:
        cls = Grant if what == "grant" else Ticket
        if not isinstance(obj, cls):
            raise TypeError(f"expected a {cls.__name__}, got {obj!r}")
        if obj._ledger is not self:
            raise ResourceError(f"{what} {obj._id} belongs to another ledger")

    def _schedule(self) -> list[tuple[Ticket, Grant]]:
        """Grant waiting tickets, first in order among those that fit, until none can."""
        granted: list[tuple[Ticket, Grant]] = []
        while self._waiting:
            best: Ticket | None = None
            for queue in self._shapes.values():
                front = queue[0]  # the rest of its shape fits iff it does
                order = _order(front)
                if self._blocked(order) or (best is not None and order > _order(best)):
                    continue
                if self._fits(front._entries):
                    best = front
            if best is None:
                break
            queue = self._shapes[best._shape]
            del queue[0]
            if not queue:
                del self._shapes[best._shape]
            self._waiting -= 1
            if best in self._barriers:
                self._drop_barrier(best)
            self._overtake(_order(best))
            best._grant = self._take(best._entries)
            best._state = _GRANTED
            granted.append((best, best._grant))
        return granted

    # -- inspection ------------------------------------------------------------

    def snapshot(self) -> dict:
        """``{"total": {...}, "in_use": {...}, "free": {...}, "waiting": int}``."""
        names = self._names
        return {
            "total": dict(zip(names, self._total)),
            "in_use": dict(zip(names, self._in_use)),
            "free": {n: t - u for n, t, u in zip(names, self._total, self._in_use)},
            "waiting": self._waiting,
        }

    def __repr__(self) -> str:
        used = ", ".join(f"{n}={u}/{t}" for n, t, u in zip(self._names, self._total, self._in_use) if t or u)
        return f"<ResourceLedger {used} waiting={self._waiting}>"


def _check_name(name: object) -> None:
    if not isinstance(name, str):
        raise TypeError(f"a resource name must be a str, got {name!r}")
    if not name:
        raise ValueError("a resource name must not be empty")
