# cython: language_level=3
"""Resource ledger, compiled kernel.

Same contract as ``zako.pure.ledger`` (the readable reference, see its
docstrings): totals and use live in C arrays indexed by resource id, requests
are parsed into small C arrays, and the uncontended ``try_acquire`` +
``release`` path touches no Python object but the request dict, the grant and
its ``amounts`` dict.
"""

cimport cython
from cpython.dict cimport PyDict_Next
from cpython.long cimport PyLong_AsLongLongAndOverflow
from cpython.object cimport PyObject
from libc.stdint cimport int64_t
from libc.stdlib cimport free, malloc, realloc

import operator
from collections.abc import Mapping

from ..exceptions import ResourceError, UnknownResourceError

__all__ = [
    "DEFAULT_RESOURCES",
    "Grant",
    "ResourceError",
    "ResourceLedger",
    "Ticket",
    "UnknownResourceError",
]

DEFAULT_RESOURCES = ("cpu", "memory", "disk_io", "network", "gpu")

cdef int64_t I64_MAX = 0x7FFFFFFFFFFFFFFF

# Requests of up to this many resources are parsed into a stack buffer and
# granted without a heap allocation for the grant's own record.
DEF INLINE = 4

cdef enum:
    WAITING = 0
    GRANTED = 1
    CANCELLED = 2

cdef struct Entry:
    Py_ssize_t rid
    int64_t low
    int64_t high


cdef int64_t _to_int64(object value, object name, str kind, int64_t minimum) except? -1:
    """``value`` as int64 >= ``minimum``; same errors as the pure ``_int64``."""
    cdef int overflow = 0
    cdef long long number
    what = kind if name is None else f"{kind} of resource {name!r}"
    if type(value) is not int:
        if type(value) is bool:
            raise TypeError(f"{what} must be an int, got {value!r}")
        try:
            value = operator.index(value)
        except TypeError:
            raise TypeError(f"{what} must be an int, got {value!r}") from None
    number = PyLong_AsLongLongAndOverflow(value, &overflow)
    if overflow < 0 or (overflow == 0 and number < minimum):
        raise ValueError(f"{what} must be >= {minimum}, got {value}")
    if overflow > 0:
        raise OverflowError(f"{what} must be <= {I64_MAX}, got {value}")
    return number


cdef inline int64_t _fast_amount(object value, object name, str kind) except? -1:
    # The common case, a small non-negative exact int, without building a message.
    cdef int overflow = 0
    cdef long long number
    if type(value) is int:
        number = PyLong_AsLongLongAndOverflow(value, &overflow)
        if overflow == 0 and number >= 0:
            return number
    return _to_int64(value, name, kind, 0)


cdef int64_t _priority(object value) except? -1:
    if type(value) is bool:
        raise TypeError(f"priority must be an int, got {value!r}")
    if type(value) is not int:
        try:
            value = operator.index(value)
        except TypeError:
            raise TypeError(f"priority must be an int, got {value!r}") from None
    cdef int overflow = 0
    cdef long long number = PyLong_AsLongLongAndOverflow(value, &overflow)
    if overflow:
        raise OverflowError(f"priority must fit in 64 bits, got {value}")
    return number


cdef void _check_name(object name) except *:
    if not isinstance(name, str):
        raise TypeError(f"a resource name must be a str, got {name!r}")
    if not name:
        raise ValueError("a resource name must not be empty")


@cython.final
@cython.freelist(64)
cdef class Grant:
    """Resources handed out by one ``ResourceLedger``; release it exactly once.

    ``id`` is unique within its ledger (1, 2, 3, ... in grant order) and
    ``amounts`` maps every requested resource name to the amount actually
    granted. Treat ``amounts`` as read-only.
    """

    cdef readonly int64_t id
    cdef readonly dict amounts
    cdef readonly bint released
    cdef ResourceLedger _ledger
    cdef Py_ssize_t _n
    cdef Entry* _entries  # (rid, amount in .low); points at _inline or the heap
    cdef Entry _inline[INLINE]

    def __cinit__(self):
        self._entries = self._inline
        self._n = 0

    def __dealloc__(self):
        if self._entries != self._inline:
            free(self._entries)

    def __repr__(self):
        state = " released" if self.released else ""
        return f"<Grant id={self.id} {self.amounts!r}{state}>"


@cython.final
cdef class Ticket:
    """A queued request of one ``ResourceLedger``; opaque, hashable by identity.

    ``state`` is ``"waiting"``, ``"granted"`` (then ``grant`` is its
    ``Grant``) or ``"cancelled"``. ``overtaken`` counts the requests ordered
    after this ticket that were granted while it waited.
    """

    cdef readonly int64_t id
    cdef readonly int64_t priority
    cdef readonly object grant
    cdef readonly int64_t overtaken
    cdef int _state
    cdef bint _barrier
    cdef tuple _shape
    cdef ResourceLedger _ledger
    cdef Py_ssize_t _n
    cdef Entry* _entries

    def __cinit__(self):
        self._entries = NULL
        self.grant = None

    def __dealloc__(self):
        free(self._entries)

    @property
    def state(self):
        return ("waiting", "granted", "cancelled")[self._state]

    def __repr__(self):
        return f"<Ticket id={self.id} priority={self.priority} {self.state}>"


cdef inline bint _before(Ticket a, int64_t priority, int64_t tid):
    """Is ``a`` ordered before (priority, tid)?"""
    return a.priority < priority or (a.priority == priority and a.id < tid)


cdef class ResourceLedger:
    """Totals, use and a waiting queue of named resources (bookkeeping only).

    Contract identical to ``zako.pure.ledger.ResourceLedger``: default names
    ``cpu``, ``memory``, ``disk_io``, ``network``, ``gpu`` (total 0 unless
    given); exact or ``(min, max)`` / ``(min, None)`` requests, all or
    nothing; a minimum above a soft total is granted once nothing of that
    resource is in use and grows the total for good, above a hard total it
    raises ``ResourceError``. Waiting tickets are served in (priority,
    arrival) order, lower number first; a later request may be granted ahead
    of a waiting ticket (backfill), each time counting one overtake of every
    ticket ahead of it; a ticket overtaken ``max_overtakes`` times becomes a
    barrier that nothing ordered after it passes until it is granted or
    cancelled. ``try_acquire`` and ``enqueue`` are ordered as a request
    arriving now.
    """

    cdef int64_t* _total
    cdef int64_t* _in_use
    cdef unsigned char* _hard
    cdef Py_ssize_t _n
    cdef Py_ssize_t _cap
    cdef list _names
    cdef dict _ids
    cdef dict _shapes          # shape -> list[Ticket] sorted by (priority, id)
    cdef Py_ssize_t _waiting
    cdef set _barriers
    cdef bint _has_barrier
    cdef int64_t _bar_priority
    cdef int64_t _bar_id
    cdef int64_t _next_grant
    cdef int64_t _next_ticket
    cdef int64_t _max_overtakes

    def __cinit__(self, *args, **kwargs):
        self._cap = 16
        self._total = <int64_t*>malloc(self._cap * sizeof(int64_t))
        self._in_use = <int64_t*>malloc(self._cap * sizeof(int64_t))
        self._hard = <unsigned char*>malloc(self._cap)
        if self._total == NULL or self._in_use == NULL or self._hard == NULL:
            raise MemoryError()
        self._n = 0

    def __dealloc__(self):
        free(self._total)
        free(self._in_use)
        free(self._hard)

    def __init__(self, capacities=None, *, hard=(), max_overtakes=16):
        if capacities is None:
            capacities = {}
        if not isinstance(capacities, Mapping):
            raise TypeError(f"capacities must be a mapping of name -> total, got {capacities!r}")
        self._max_overtakes = _to_int64(max_overtakes, None, "max_overtakes", 0)
        self._names = []
        self._ids = {}
        self._n = 0
        totals = {name: 0 for name in DEFAULT_RESOURCES}
        for name, total in capacities.items():
            _check_name(name)
            totals[name] = _to_int64(total, name, "total", 0)
        for name, total in totals.items():
            self._add(name, total, False)
        if isinstance(hard, str):
            hard = (hard,)
        for name in hard:
            rid = self._ids.get(name) if isinstance(name, str) else None
            if rid is None:
                raise UnknownResourceError(
                    f"hard resource {name!r} is not registered (known: {', '.join(self._names)})"
                )
            self._hard[<Py_ssize_t>rid] = 1
        self._shapes = {}
        self._waiting = 0
        self._barriers = set()
        self._has_barrier = False
        self._next_grant = 1
        self._next_ticket = 1

    # -- resources -------------------------------------------------------------

    cdef int _add(self, str name, int64_t total, bint hard) except -1:
        cdef Py_ssize_t cap
        if self._n == self._cap:
            cap = self._cap * 2
            total_p = <int64_t*>realloc(self._total, cap * sizeof(int64_t))
            if total_p == NULL:
                raise MemoryError()
            self._total = total_p
            in_use_p = <int64_t*>realloc(self._in_use, cap * sizeof(int64_t))
            if in_use_p == NULL:
                raise MemoryError()
            self._in_use = in_use_p
            hard_p = <unsigned char*>realloc(self._hard, cap)
            if hard_p == NULL:
                raise MemoryError()
            self._hard = hard_p
            self._cap = cap
        self._ids[name] = self._n
        self._names.append(name)
        self._total[self._n] = total
        self._in_use[self._n] = 0
        self._hard[self._n] = hard
        self._n += 1
        return 0

    def register(self, name, total, hard=False):
        """Add resource ``name`` with ``total``; ``ResourceError`` if it exists."""
        _check_name(name)
        cdef int64_t t = _to_int64(total, name, "total", 0)
        if name in self._ids:
            raise ResourceError(
                f"resource {name!r} is already registered (total {self._total[<Py_ssize_t>self._ids[name]]})"
            )
        self._add(name, t, bool(hard))

    @property
    def max_overtakes(self):
        return self._max_overtakes

    @property
    def hard(self):
        """Names of the hard resources."""
        return frozenset(self._names[i] for i in range(self._n) if self._hard[i])

    # -- requests --------------------------------------------------------------

    cdef Py_ssize_t _parse(self, object request, Entry* out) except -1:
        """Fill ``out`` (room for len(request) entries) and return the count."""
        cdef Py_ssize_t pos = 0, n = 0, rid
        cdef PyObject* k
        cdef PyObject* v
        cdef int64_t low, high
        cdef object name, value, idobj
        while PyDict_Next(request, &pos, &k, &v):
            name = <object>k
            value = <object>v
            idobj = self._ids.get(name) if type(name) is str or isinstance(name, str) else None
            if idobj is None:
                raise UnknownResourceError(
                    f"unknown resource {name!r} in request {dict(request)!r} (known: {', '.join(self._names)})"
                )
            rid = <Py_ssize_t>idobj
            if type(value) is tuple or type(value) is list or isinstance(value, (tuple, list)):
                if len(value) != 2:
                    raise TypeError(f"range for resource {name!r} must be (min, max), got {value!r}")
                low = _fast_amount(value[0], name, "minimum")
                if value[1] is None:
                    high = I64_MAX
                else:
                    high = _fast_amount(value[1], name, "maximum")
                if high < low:
                    raise ValueError(f"range for resource {name!r} has max < min: {value!r}")
            else:
                low = high = _fast_amount(value, name, "amount")
            if low > self._total[rid] and self._hard[rid]:
                raise ResourceError(
                    f"request for {low} of hard resource {name!r} exceeds its total "
                    f"{self._total[rid]}: it could never run"
                )
            out[n].rid = rid
            out[n].low = low
            out[n].high = high
            n += 1
        return n

    @cython.boundscheck(False)
    cdef inline bint _fits(self, const Entry* e, Py_ssize_t n) noexcept:
        cdef Py_ssize_t i, rid
        for i in range(n):
            rid = e[i].rid
            if e[i].low > self._total[rid]:
                if self._in_use[rid] != 0:  # growth: the oversized job runs alone
                    return False
            elif e[i].low > self._total[rid] - self._in_use[rid]:
                return False
        return True

    @cython.boundscheck(False)
    @cython.wraparound(False)
    cdef Grant _take(self, const Entry* e, Py_ssize_t n):
        cdef Grant grant = Grant.__new__(Grant)
        cdef Py_ssize_t i, rid
        cdef int64_t amount
        cdef dict amounts = {}
        if n > INLINE:
            grant._entries = <Entry*>malloc(n * sizeof(Entry))
            if grant._entries == NULL:
                raise MemoryError()
        for i in range(n):
            rid = e[i].rid
            if e[i].low > self._total[rid]:
                self._total[rid] = e[i].low
            amount = self._total[rid] - self._in_use[rid]
            if e[i].high < amount:
                amount = e[i].high
            amounts[self._names[rid]] = amount
            grant._entries[i].rid = rid
            grant._entries[i].low = amount
        # Only now, after the last possible Python error, commit the amounts.
        for i in range(n):
            self._in_use[grant._entries[i].rid] += grant._entries[i].low
        grant._n = n
        grant._ledger = self
        grant.amounts = amounts
        grant.id = self._next_grant
        self._next_grant += 1
        return grant

    cdef inline bint _blocked(self, int64_t priority, int64_t tid) noexcept:
        return self._has_barrier and (
            self._bar_priority < priority or (self._bar_priority == priority and self._bar_id < tid)
        )

    cdef int _overtake(self, int64_t priority, int64_t tid) except -1:
        """Count one overtake for every waiting ticket ordered before (priority, tid)."""
        cdef list queue
        cdef Ticket t
        for queue in self._shapes.values():
            for t in queue:
                if not _before(t, priority, tid):
                    break
                t.overtaken += 1
                if t.overtaken == self._max_overtakes:
                    self._add_barrier(t)
        return 0

    cdef int _add_barrier(self, Ticket t) except -1:
        self._barriers.add(t)
        t._barrier = True
        if not self._has_barrier or _before(t, self._bar_priority, self._bar_id):
            self._has_barrier = True
            self._bar_priority = t.priority
            self._bar_id = t.id
        return 0

    cdef int _drop_barrier(self, Ticket t) except -1:
        cdef Ticket b
        self._barriers.discard(t)
        t._barrier = False
        self._has_barrier = False
        for b in self._barriers:
            if not self._has_barrier or _before(b, self._bar_priority, self._bar_id):
                self._has_barrier = True
                self._bar_priority = b.priority
                self._bar_id = b.id
        return 0

    def try_acquire(self, request, priority=0):
        """Grant ``request`` now, or return ``None`` and change nothing."""
        cdef Entry stack[INLINE]
        cdef Entry* e = stack
        cdef Py_ssize_t n, size
        cdef int64_t prio
        if type(request) is not dict:
            if not isinstance(request, Mapping):
                raise TypeError(f"a request must be a mapping of name -> amount, got {request!r}")
            request = dict(request)
        size = len(request)
        if size > INLINE:
            e = <Entry*>malloc(size * sizeof(Entry))
            if e == NULL:
                raise MemoryError()
        try:
            n = self._parse(request, e)
            prio = _priority(priority) if type(priority) is not int else priority
            if self._blocked(prio, self._next_ticket) or not self._fits(e, n):
                return None
            if self._waiting:
                self._overtake(prio, self._next_ticket)
            return self._take(e, n)
        finally:
            if e != stack:
                free(e)

    def enqueue(self, request, priority=0):
        """Queue ``request``; the ticket is granted at once when possible.

        Check ``ticket.state`` / ``ticket.grant``: a ticket granted here is not
        reported again by ``release``/``cancel``.
        """
        cdef Ticket t
        cdef Py_ssize_t size
        if type(request) is not dict:
            if not isinstance(request, Mapping):
                raise TypeError(f"a request must be a mapping of name -> amount, got {request!r}")
            request = dict(request)
        size = len(request)
        t = Ticket.__new__(Ticket)
        t._entries = <Entry*>malloc((size if size else 1) * sizeof(Entry))
        if t._entries == NULL:
            raise MemoryError()
        t._n = self._parse(request, t._entries)
        t.priority = _priority(priority)
        t._ledger = self
        t.id = self._next_ticket
        self._next_ticket += 1
        if not self._blocked(t.priority, t.id) and self._fits(t._entries, t._n):
            if self._waiting:
                self._overtake(t.priority, t.id)
            t.grant = self._take(t._entries, t._n)
            t._state = GRANTED
            return t
        t._shape = tuple(sorted([(t._entries[i].rid, t._entries[i].low) for i in range(t._n) if t._entries[i].low > 0]))
        queue = self._shapes.get(t._shape)
        if queue is None:
            self._shapes[t._shape] = [t]
        else:
            (<list>queue).insert(self._position(<list>queue, t.priority, t.id), t)
        self._waiting += 1
        t._state = WAITING
        if t.overtaken >= self._max_overtakes:
            self._add_barrier(t)
        return t

    cdef Py_ssize_t _position(self, list queue, int64_t priority, int64_t tid) except -1:
        """First index in ``queue`` not ordered before (priority, tid)."""
        cdef Py_ssize_t lo = 0, hi = len(queue), mid
        # Same-priority arrivals go last: check the tail first.
        if hi and _before(<Ticket>queue[hi - 1], priority, tid):
            return hi
        while lo < hi:
            mid = (lo + hi) >> 1
            if _before(<Ticket>queue[mid], priority, tid):
                lo = mid + 1
            else:
                hi = mid
        return lo

    def cancel(self, ticket):
        """Withdraw a waiting ticket; returns the tickets granted as a result.

        Cancelling a cancelled ticket returns ``[]``; cancelling a granted
        ticket raises ``ResourceError`` (release its grant instead).
        """
        if not isinstance(ticket, Ticket):
            raise TypeError(f"expected a Ticket, got {ticket!r}")
        cdef Ticket t = <Ticket>ticket
        if t._ledger is not self:
            raise ResourceError(f"ticket {t.id} belongs to another ledger")
        if t._state == CANCELLED:
            return []
        if t._state == GRANTED:
            raise ResourceError(
                f"ticket {t.id} was already granted as grant {(<Grant>t.grant).id}: release the grant instead"
            )
        cdef list queue = self._shapes[t._shape]
        del queue[self._position(queue, t.priority, t.id)]
        if not queue:
            del self._shapes[t._shape]
        self._waiting -= 1
        t._state = CANCELLED
        if t._barrier:
            self._drop_barrier(t)
        return self._schedule()

    def release(self, grant):
        """Give back ``grant``; returns the waiting tickets granted as a result,
        in (priority, arrival) order. A second release raises ``ResourceError``.
        """
        if type(grant) is not Grant:
            raise TypeError(f"expected a Grant, got {grant!r}")
        cdef Grant g = <Grant>grant
        cdef Py_ssize_t i
        if g._ledger is not self:
            raise ResourceError(f"grant {g.id} belongs to another ledger")
        if g.released:
            raise ResourceError(f"grant {g.id} {g.amounts!r} was already released")
        g.released = True
        for i in range(g._n):
            self._in_use[g._entries[i].rid] -= g._entries[i].low
        if not self._waiting:
            return []
        return self._schedule()

    cdef list _schedule(self):
        """Grant waiting tickets, first in order among those that fit, until none can."""
        cdef list granted = []
        cdef list queue
        cdef Ticket best, front
        while self._waiting:
            best = None
            for queue in self._shapes.values():
                front = <Ticket>queue[0]  # the rest of its shape fits iff it does
                if self._blocked(front.priority, front.id):
                    continue
                if best is not None and not _before(front, best.priority, best.id):
                    continue
                if self._fits(front._entries, front._n):
                    best = front
            if best is None:
                break
            queue = self._shapes[best._shape]
            del queue[0]
            if not queue:
                del self._shapes[best._shape]
            self._waiting -= 1
            if best._barrier:
                self._drop_barrier(best)
            self._overtake(best.priority, best.id)
            best.grant = self._take(best._entries, best._n)
            best._state = GRANTED
            granted.append((best, best.grant))
        return granted

    # -- inspection ------------------------------------------------------------

    def snapshot(self):
        """``{"total": {...}, "in_use": {...}, "free": {...}, "waiting": int}``."""
        cdef Py_ssize_t i
        total, in_use, free_ = {}, {}, {}
        for i in range(self._n):
            name = self._names[i]
            total[name] = self._total[i]
            in_use[name] = self._in_use[i]
            free_[name] = self._total[i] - self._in_use[i]
        return {"total": total, "in_use": in_use, "free": free_, "waiting": self._waiting}

    def __repr__(self):
        used = ", ".join(
            f"{self._names[i]}={self._in_use[i]}/{self._total[i]}"
            for i in range(self._n)
            if self._total[i] or self._in_use[i]
        )
        return f"<ResourceLedger {used} waiting={self._waiting}>"
