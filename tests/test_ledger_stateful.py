"""Differential state machine: pure and compiled ledgers fed the same operations.

Every step runs on both ledgers and must give the same result (grant ids and
amounts, ticket states, woken lists) or raise the same exception class. After
every step the invariants of DESIGN.md section 3 are checked against a small
model: use never exceeds totals, nothing is negative, use equals what the
unreleased grants hold, totals only grow, woken tickets come in (priority,
arrival) order, and the queue is settled -- a waiting ticket that would fit
waits only behind a ticket that has used up its overtakes.

With ``ZAKO_PURE=1`` the compiled kernel is deliberately not loaded; the
machine then drives two pure ledgers, which still checks the invariants.
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from zako import _impl
from zako.exceptions import ResourceError, UnknownResourceError

PURE = _impl.load_kernels("pure")["ledger"]
OTHER = PURE if _impl.PURE_REQUESTED else _impl.load_kernels("cython")["ledger"]

NAMES = ["cpu", "memory", "gpu", "lic", "bogus"]  # "lic" is registered later; "bogus" never

amounts = st.one_of(
    st.integers(0, 6),
    st.integers(0, 6),
    st.integers(-1, 9),
    st.tuples(st.integers(0, 5), st.one_of(st.none(), st.integers(0, 8))),
)
requests = st.dictionaries(st.sampled_from(NAMES), amounts, max_size=3)
# Small cpu/memory requests keep a stream of candidates for backfill.
small_requests = st.dictionaries(st.sampled_from(["cpu", "memory"]), st.integers(0, 2), min_size=1)
priorities = st.integers(-2, 2)


def _grant(g):
    return None if g is None else ("grant", g.id, g.amounts, g.released)


def _ticket(t):
    return ("ticket", t.id, t.priority, t.state, _grant(t.grant), t.overtaken)


def _woken(pairs):
    return [(_ticket(t), _grant(g)) for t, g in pairs]


class LedgerPair(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.a = self.b = None
        self.grants = []  # (grant in a, grant in b), released ones included
        self.tickets = []  # (ticket in a, ticket in b)
        self.needs = {}  # ticket id -> {name: minimum}

    @initialize(
        cpu=st.integers(1, 6),
        memory=st.integers(0, 20),
        gpu=st.integers(0, 2),
        gpu_hard=st.booleans(),
        max_overtakes=st.sampled_from([0, 1, 2, 16]),
    )
    def build(self, cpu, memory, gpu, gpu_hard, max_overtakes):
        caps = {"cpu": cpu, "memory": memory, "gpu": gpu}
        hard = ["gpu"] if gpu_hard else []
        self.a = PURE.ResourceLedger(caps, hard=hard, max_overtakes=max_overtakes)
        self.b = OTHER.ResourceLedger(caps, hard=hard, max_overtakes=max_overtakes)
        self.max_overtakes = max_overtakes
        self.start_total = self.a.snapshot()["total"]
        self.last_total = dict(self.start_total)

    # -- running one operation on both ----------------------------------------

    def both(self, method, *args_a, args_b=None):
        args_b = args_a if args_b is None else args_b
        before = self.a.snapshot()
        outcome = []
        for ledger, args in ((self.a, args_a), (self.b, args_b)):
            try:
                outcome.append(("ok", getattr(ledger, method)(*args)))
            except (ResourceError, UnknownResourceError, ValueError, TypeError, OverflowError) as e:
                outcome.append(("error", type(e)))
        (kind_a, res_a), (kind_b, res_b) = outcome
        assert kind_a == kind_b, (method, args_a, outcome)
        if kind_a == "error":
            assert res_a is res_b, (method, args_a, outcome)
            assert self.a.snapshot() == before == self.b.snapshot()  # a failing call changes nothing
            return None
        return res_a, res_b

    def woke(self, pair):
        woken_a, woken_b = pair
        assert _woken(woken_a) == _woken(woken_b)
        orders = [(t.priority, t.id) for t, _ in woken_a]
        assert orders == sorted(orders), "woken out of (priority, arrival) order"
        for (ta, ga), (tb, gb) in zip(woken_a, woken_b):
            assert ta.grant is ga and ta.state == "granted"
            self.grants.append((ga, gb))

    # -- rules --------------------------------------------------------------

    @precondition(lambda self: self.a is not None)
    @rule(total=st.integers(-1, 5), hard=st.booleans(), name=st.sampled_from(["lic", "cpu"]))
    def register(self, name, total, hard):
        self.both("register", name, total, hard)

    @precondition(lambda self: self.a is not None)
    @rule(request=requests, priority=priorities)
    def try_acquire(self, request, priority):
        res = self.both("try_acquire", request, priority)
        if res is not None:
            ga, gb = res
            assert _grant(ga) == _grant(gb)
            if ga is not None:
                self.grants.append((ga, gb))

    @precondition(lambda self: self.a is not None)
    @rule(request=requests, priority=priorities)
    def enqueue(self, request, priority):
        res = self.both("enqueue", request, priority)
        if res is not None:
            ta, tb = res
            assert _ticket(ta) == _ticket(tb)
            self.tickets.append((ta, tb))
            self.needs[ta.id] = {k: (v[0] if isinstance(v, tuple) else v) for k, v in request.items()}
            if ta.grant is not None:
                self.grants.append((ta.grant, tb.grant))

    @precondition(lambda self: self.a is not None)
    @rule(request=small_requests, priority=priorities)
    def enqueue_small(self, request, priority):
        self.enqueue(request, priority)

    @precondition(lambda self: self.tickets)
    @rule(index=st.integers(0, 10**6))
    def cancel(self, index):
        ta, tb = self.tickets[index % len(self.tickets)]
        res = self.both("cancel", ta, args_b=(tb,))
        if res is not None:
            self.woke(res)
            assert ta.state == tb.state == "cancelled"

    @precondition(lambda self: self.grants)
    @rule(index=st.integers(0, 10**6))
    def release(self, index):
        ga, gb = self.grants[index % len(self.grants)]
        res = self.both("release", ga, args_b=(gb,))
        if res is not None:
            self.woke(res)

    @precondition(lambda self: self.a is not None)
    @rule()
    def release_everything(self):
        for ta, tb in self.tickets:
            if ta.state == "waiting":
                self.woke(self.both("cancel", ta, args_b=(tb,)))
        while any(not ga.released for ga, _ in self.grants):
            for ga, gb in list(self.grants):
                if not ga.released:
                    self.woke(self.both("release", ga, args_b=(gb,)))
        snap = self.a.snapshot()
        assert snap["waiting"] == 0
        assert all(v == 0 for v in snap["in_use"].values())
        assert snap["free"] == snap["total"]
        for name, total in self.start_total.items():
            assert snap["total"][name] >= total

    # -- invariants ------------------------------------------------------------

    @invariant()
    def same_state_and_sound(self):
        if self.a is None:
            return
        snap = self.a.snapshot()
        assert snap == self.b.snapshot()
        held = {}
        for ga, _ in self.grants:
            if not ga.released:
                for name, amount in ga.amounts.items():
                    held[name] = held.get(name, 0) + amount
        for name, total in snap["total"].items():
            used = snap["in_use"][name]
            assert 0 <= used <= total
            assert snap["free"][name] == total - used
            assert used == held.get(name, 0)
            assert total >= self.last_total.get(name, 0)  # totals only grow
        self.last_total = dict(snap["total"])
        for ta, tb in self.tickets:
            assert _ticket(ta) == _ticket(tb)
        waiting = [ta for ta, _ in self.tickets if ta.state == "waiting"]
        assert snap["waiting"] == len(waiting)
        assert all(t.overtaken <= self.max_overtakes for t in waiting)

    @invariant()
    def queue_is_settled(self):
        if self.a is None:
            return
        snap = self.a.snapshot()
        waiting = sorted((ta for ta, _ in self.tickets if ta.state == "waiting"), key=lambda t: (t.priority, t.id))
        barrier_seen = False
        for t in waiting:
            if not barrier_seen:
                assert not self.fits(self.needs[t.id], snap), f"{t} fits but was left waiting"
            barrier_seen = barrier_seen or t.overtaken >= self.max_overtakes

    @staticmethod
    def fits(needs, snap):
        for name, low in needs.items():
            total, used = snap["total"][name], snap["in_use"][name]
            if low > total:
                if used:
                    return False
            elif low > total - used:
                return False
        return True


LedgerPair.TestCase.settings = settings(
    max_examples=150,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestLedgerPair = LedgerPair.TestCase


# --- one call, any value: same result or same exception class ---------------------

from hypothesis import given  # noqa: E402

_scalars = st.one_of(
    st.integers(-(2**70), 2**70),
    st.integers(-1, 8),
    st.booleans(),
    st.floats(allow_nan=False),
    st.none(),
    st.text(max_size=2),
)
wild_values = st.one_of(_scalars, st.tuples(_scalars, _scalars), st.lists(_scalars, max_size=3))
wild_requests = st.dictionaries(st.one_of(st.sampled_from(NAMES), st.integers(0, 2)), wild_values, max_size=3)


def _outcome(fn):
    try:
        result = fn()
    except Exception as e:  # noqa: BLE001 - the class is what is compared
        return ("error", type(e))
    if result is None or isinstance(result, (PURE.Grant, OTHER.Grant)):
        return ("ok", _grant(result))
    return ("ok", _ticket(result))


@settings(max_examples=300, deadline=None)
@given(request=wild_requests, priority=st.one_of(st.integers(-(2**64), 2**64), st.booleans(), st.floats()))
def test_any_request_same_outcome(request, priority):
    for method in ("try_acquire", "enqueue"):
        a = PURE.ResourceLedger({"cpu": 4, "memory": 2**40}, hard=["gpu"])
        b = OTHER.ResourceLedger({"cpu": 4, "memory": 2**40}, hard=["gpu"])
        out_a = _outcome(lambda: getattr(a, method)(request, priority))
        out_b = _outcome(lambda: getattr(b, method)(request, priority))
        assert out_a == out_b, (method, request, priority)
        assert a.snapshot() == b.snapshot()
