"""Contract of the resource ledger kernel (DESIGN.md section 3), both kernels."""

from __future__ import annotations

import pytest

import zako.exceptions as exc
from zako import _impl


@pytest.fixture
def L(kernels):
    return kernels.ledger.ResourceLedger


def cpu_in_use(ledger):
    return ledger.snapshot()["in_use"]["cpu"]


# --- construction and registration -----------------------------------------------


def test_default_resources_registered_with_zero(L, kernels):
    snap = L({"cpu": 4}).snapshot()
    assert list(snap["total"]) == list(kernels.ledger.DEFAULT_RESOURCES)
    assert snap["total"] == {"cpu": 4, "memory": 0, "disk_io": 0, "network": 0, "gpu": 0}
    assert snap["in_use"] == dict.fromkeys(snap["total"], 0)
    assert snap["free"] == snap["total"]
    assert snap["waiting"] == 0


def test_extra_capacity_names_are_registered(L):
    ledger = L({"licenses": 3, "cpu": 2})
    snap = ledger.snapshot()
    assert snap["total"]["licenses"] == 3 and snap["total"]["cpu"] == 2
    assert ledger.try_acquire({"licenses": 3}).amounts == {"licenses": 3}


@pytest.mark.parametrize(
    "capacities, kwargs, error",
    [
        ({"cpu": -1}, {}, ValueError),
        ({"cpu": 1.5}, {}, TypeError),
        ({"cpu": True}, {}, TypeError),
        ({"cpu": 2**63}, {}, OverflowError),
        ({"": 1}, {}, ValueError),
        ({1: 1}, {}, TypeError),
        ([("cpu", 1)], {}, TypeError),
        ({}, {"hard": ["gpus"]}, exc.UnknownResourceError),
        ({}, {"max_overtakes": -1}, ValueError),
        ({}, {"max_overtakes": "3"}, TypeError),
    ],
)
def test_constructor_errors(L, capacities, kwargs, error):
    with pytest.raises(error):
        L(capacities, **kwargs)


def test_hard_accepts_a_single_name(L):
    assert L({"gpu": 1}, hard="gpu").hard == frozenset({"gpu"})
    assert L({"gpu": 1}, hard=("gpu", "cpu")).hard == frozenset({"gpu", "cpu"})


def test_register(L):
    ledger = L({"cpu": 1})
    ledger.register("licenses", 2)
    ledger.register("fpga", 1, hard=True)
    assert ledger.snapshot()["total"]["licenses"] == 2
    assert "fpga" in ledger.hard and "licenses" not in ledger.hard
    assert ledger.try_acquire({"licenses": 2}).amounts == {"licenses": 2}
    with pytest.raises(exc.ResourceError, match="fpga"):
        ledger.try_acquire({"fpga": 2})


@pytest.mark.parametrize(
    "args, error",
    [
        (("cpu", 8), exc.ResourceError),
        (("new", -1), ValueError),
        (("new", "1"), TypeError),
        (("", 1), ValueError),
        ((3, 1), TypeError),
    ],
)
def test_register_errors_leave_state_unchanged(L, args, error):
    ledger = L({"cpu": 1})
    before = ledger.snapshot()
    with pytest.raises(error):
        ledger.register(*args)
    assert ledger.snapshot() == before


# --- requests --------------------------------------------------------------------


def test_exact_request_all_or_nothing(L):
    ledger = L({"cpu": 4, "memory": 100})
    grant = ledger.try_acquire({"cpu": 3, "memory": 60})
    assert grant.amounts == {"cpu": 3, "memory": 60}
    before = ledger.snapshot()
    assert ledger.try_acquire({"cpu": 1, "memory": 41}) is None  # cpu fits, memory does not
    assert ledger.snapshot() == before
    assert ledger.try_acquire({"cpu": 1, "memory": 40}).amounts == {"cpu": 1, "memory": 40}
    assert ledger.snapshot()["free"]["cpu"] == 0


def test_range_request_takes_what_is_free_up_to_max(L):
    ledger = L({"cpu": 8})
    assert ledger.try_acquire({"cpu": (2, 3)}).amounts == {"cpu": 3}
    assert ledger.try_acquire({"cpu": (1, None)}).amounts == {"cpu": 5}
    assert ledger.try_acquire({"cpu": (1, 4)}) is None
    assert ledger.try_acquire({"cpu": (0, 4)}).amounts == {"cpu": 0}


def test_range_granted_at_least_min(L):
    ledger = L({"cpu": 8})
    ledger.try_acquire({"cpu": 6})
    assert ledger.try_acquire({"cpu": (3, None)}) is None
    assert ledger.try_acquire({"cpu": [2, 10]}).amounts == {"cpu": 2}


def test_empty_request_is_granted(L):
    ledger = L({})
    grant = ledger.try_acquire({})
    assert grant.amounts == {}
    assert ledger.release(grant) == []


def test_non_dict_mapping_request(L):
    from types import MappingProxyType

    ledger = L({"cpu": 2})
    assert ledger.try_acquire(MappingProxyType({"cpu": 1})).amounts == {"cpu": 1}


@pytest.mark.parametrize(
    "request_, error",
    [
        ({"cpus": 1}, exc.UnknownResourceError),
        ({"cpus": 1}, KeyError),
        ({1: 1}, exc.UnknownResourceError),
        ({"cpu": -1}, ValueError),
        ({"cpu": (-1, 2)}, ValueError),
        ({"cpu": (3, 2)}, ValueError),
        ({"cpu": (1, -2)}, ValueError),
        ({"cpu": (1, 2, 3)}, TypeError),
        ({"cpu": 1.0}, TypeError),
        ({"cpu": True}, TypeError),
        ({"cpu": "1"}, TypeError),
        ({"cpu": (None, 2)}, TypeError),
        ({"cpu": 2**63}, OverflowError),
        ({"cpu": -(2**70)}, ValueError),
        ([("cpu", 1)], TypeError),
    ],
)
@pytest.mark.parametrize("method", ["try_acquire", "enqueue"])
def test_request_errors_leave_state_unchanged(L, request_, error, method):
    ledger = L({"cpu": 4})
    held = ledger.try_acquire({"cpu": 1})
    before = ledger.snapshot()
    with pytest.raises(error):
        getattr(ledger, method)(request_)
    assert ledger.snapshot() == before
    # The grant counter did not move either.
    assert ledger.try_acquire({"cpu": 1}).id == held.id + 1


def test_unknown_resource_message_names_it(L):
    with pytest.raises(exc.UnknownResourceError, match="gpus"):
        L({}).try_acquire({"cpu": 0, "gpus": 1})


@pytest.mark.parametrize("priority, error", [(True, TypeError), (1.5, TypeError), (2**63, OverflowError)])
def test_priority_errors(L, priority, error):
    ledger = L({"cpu": 1})
    with pytest.raises(error):
        ledger.try_acquire({"cpu": 1}, priority)
    with pytest.raises(error):
        ledger.enqueue({"cpu": 1}, priority)
    assert ledger.snapshot()["waiting"] == 0 and cpu_in_use(ledger) == 0


# --- growth rule and hard resources ---------------------------------------------


def test_oversized_soft_request_grows_total_and_runs_alone(L):
    ledger = L({"cpu": 4})
    small = ledger.try_acquire({"cpu": 1})
    before = ledger.snapshot()
    assert ledger.try_acquire({"cpu": 8}) is None  # must run alone
    assert ledger.snapshot() == before  # a refusal grows nothing
    ticket = ledger.enqueue({"cpu": 8})
    assert ticket.state == "waiting"
    [(woken, grant)] = ledger.release(small)
    assert woken is ticket and grant.amounts == {"cpu": 8}
    snap = ledger.snapshot()
    assert snap["total"]["cpu"] == 8 and snap["in_use"]["cpu"] == 8
    ledger.release(grant)
    assert ledger.snapshot()["free"]["cpu"] == 8  # grown value kept


def test_range_min_above_soft_total_grows_to_min(L):
    ledger = L({"cpu": 2})
    assert ledger.try_acquire({"cpu": (3, None)}).amounts == {"cpu": 3}
    assert ledger.snapshot()["total"]["cpu"] == 3


def test_zero_total_soft_default_grows(L):
    ledger = L({"cpu": 1})
    assert ledger.try_acquire({"gpu": 1}).amounts == {"gpu": 1}
    assert ledger.snapshot()["total"]["gpu"] == 1


@pytest.mark.parametrize("request_", [{"gpu": 3}, {"gpu": (3, None)}, {"cpu": 1, "gpu": 2}])
@pytest.mark.parametrize("method", ["try_acquire", "enqueue"])
def test_hard_request_above_total_raises_at_once(L, request_, method):
    ledger = L({"cpu": 4, "gpu": 1}, hard=["gpu"])
    before = ledger.snapshot()
    with pytest.raises(exc.ResourceError, match="gpu"):
        getattr(ledger, method)(request_)
    assert ledger.snapshot() == before


def test_hard_range_max_above_total_is_fine(L):
    ledger = L({"gpu": 2}, hard=["gpu"])
    assert ledger.try_acquire({"gpu": (1, 5)}).amounts == {"gpu": 2}


# --- grants ------------------------------------------------------------------------


def test_grant_ids_unique_and_release_once(L):
    ledger = L({"cpu": 2})
    grants = [ledger.try_acquire({"cpu": 1}) for _ in range(2)]
    assert [g.id for g in grants] == [1, 2]
    ledger.release(grants[0])
    assert grants[0].released and not grants[1].released
    with pytest.raises(exc.ResourceError, match="already released"):
        ledger.release(grants[0])
    assert cpu_in_use(ledger) == 1
    assert ledger.try_acquire({"cpu": 1}).id == 3


def test_release_foreign_grant_or_wrong_type(L):
    a, b = L({"cpu": 1}), L({"cpu": 1})
    grant = a.try_acquire({"cpu": 1})
    with pytest.raises(exc.ResourceError):
        b.release(grant)
    with pytest.raises(TypeError):
        a.release("grant")
    assert cpu_in_use(a) == 1 and cpu_in_use(b) == 0


# --- queue ------------------------------------------------------------------------


def test_enqueue_grants_at_once_when_possible(L):
    ledger = L({"cpu": 1})
    ticket = ledger.enqueue({"cpu": 1})
    assert ticket.state == "granted" and ticket.grant.amounts == {"cpu": 1}
    assert ledger.snapshot()["waiting"] == 0
    assert hash(ticket) == hash(ticket) and {ticket: 1}[ticket] == 1


def test_release_grants_in_priority_then_arrival_order(L):
    ledger = L({"cpu": 3})
    held = ledger.try_acquire({"cpu": 3})
    t_a = ledger.enqueue({"cpu": 1}, priority=5)
    t_b = ledger.enqueue({"cpu": 1}, priority=1)
    t_c = ledger.enqueue({"cpu": 1}, priority=5)
    t_d = ledger.enqueue({"cpu": 1}, priority=-2)
    assert ledger.snapshot()["waiting"] == 4
    woken = ledger.release(held)
    assert [t for t, _ in woken] == [t_d, t_b, t_a]
    assert all(t.grant is g and t.state == "granted" for t, g in woken)
    assert t_c.state == "waiting" and t_c.grant is None
    assert ledger.snapshot()["waiting"] == 1


def test_waiting_grant_amounts_for_ranges(L):
    ledger = L({"cpu": 4})
    held = ledger.try_acquire({"cpu": 4})
    t = ledger.enqueue({"cpu": (2, None)})
    [(_, grant)] = ledger.release(held)
    assert grant is t.grant and grant.amounts == {"cpu": 4}


def test_cancel(L):
    ledger = L({"cpu": 1})
    held = ledger.try_acquire({"cpu": 1})
    t1 = ledger.enqueue({"cpu": 1})
    t2 = ledger.enqueue({"cpu": 1})
    assert ledger.cancel(t1) == []
    assert t1.state == "cancelled" and ledger.snapshot()["waiting"] == 1
    assert ledger.cancel(t1) == []  # idempotent
    assert [t for t, _ in ledger.release(held)] == [t2]
    with pytest.raises(exc.ResourceError, match="release the grant"):
        ledger.cancel(t2)
    with pytest.raises(exc.ResourceError):
        L({}).cancel(t2)
    with pytest.raises(TypeError):
        ledger.cancel(t2.grant)


def test_backfill_past_a_waiting_head(L):
    ledger = L({"cpu": 4}, max_overtakes=2)
    held = [ledger.try_acquire({"cpu": 1}) for _ in range(3)]
    head = ledger.enqueue({"cpu": 4})
    # One cpu is free: smaller later requests may pass the head, twice.
    first = ledger.enqueue({"cpu": 1})
    assert first.state == "granted" and head.overtaken == 1
    assert ledger.try_acquire({"cpu": 0}) is not None and head.overtaken == 2
    # Now the head is a barrier: nothing ordered after it is granted.
    assert ledger.try_acquire({"cpu": 0}) is None
    blocked = ledger.enqueue({"cpu": 1})
    ledger.release(first.grant)
    assert blocked.state == "waiting" and cpu_in_use(ledger) == 3
    # A better priority is ordered ahead of the head and is not an overtake.
    urgent = ledger.try_acquire({"cpu": 1}, priority=-1)
    assert urgent is not None and head.overtaken == 2
    woken = []
    for grant in [*held, urgent]:
        woken += ledger.release(grant)
    assert [t for t, _ in woken] == [head]
    assert [t for t, _ in ledger.release(head.grant)] == [blocked]


def test_cancelling_a_barrier_unblocks_the_rest(L):
    ledger = L({"cpu": 2}, max_overtakes=0)
    held = ledger.try_acquire({"cpu": 1})
    head = ledger.enqueue({"cpu": 2})
    behind = ledger.enqueue({"cpu": 1})
    assert behind.state == "waiting"  # max_overtakes=0: strict order
    assert [t for t, _ in ledger.cancel(head)] == [behind]
    assert cpu_in_use(ledger) == 2
    ledger.release(held)


@pytest.mark.parametrize("max_overtakes", [0, 1, 3, 16])
def test_starvation_guard_big_request_behind_stream_of_small(L, max_overtakes):
    """4 cpus; a request for all 4 waits while 1-cpu requests keep arriving."""
    ledger = L({"cpu": 4}, max_overtakes=max_overtakes)
    running = [ledger.try_acquire({"cpu": 1}) for _ in range(3)]
    head = ledger.enqueue({"cpu": 4})
    overtakes = 0
    rounds = 0
    while head.state == "waiting":
        rounds += 1
        assert rounds < 10 * (max_overtakes + 5), "head starved"
        # Keep the stream going: two new small requests per finished one.
        for _ in range(2):
            t = ledger.enqueue({"cpu": 1})
            if t.state == "granted":
                overtakes += 1
                running.append(t.grant)
        for t, g in ledger.release(running.pop(0)):
            if t is head:
                break
            overtakes += 1
            running.append(g)
        assert head.overtaken == overtakes <= max_overtakes
    assert head.grant.amounts == {"cpu": 4}
    assert overtakes <= max_overtakes
    assert head.overtaken == overtakes


def test_thousand_queued_release_wakes_one_in_order(L):
    ledger = L({"cpu": 4})
    held = [ledger.try_acquire({"cpu": 1}) for _ in range(4)]
    tickets = [ledger.enqueue({"cpu": 1}) for _ in range(1000)]
    assert ledger.snapshot()["waiting"] == 1000
    order = []
    queue = list(held)
    while queue:
        woken = ledger.release(queue.pop(0))
        assert len(woken) <= 1
        order += [t for t, _ in woken]
        queue += [g for _, g in woken]
    assert order == tickets
    snap = ledger.snapshot()
    assert snap["waiting"] == 0 and snap["in_use"]["cpu"] == 0


def test_distinct_shapes_are_served_in_order(L):
    ledger = L({"cpu": 4, "memory": 10})
    held = ledger.try_acquire({"cpu": 4, "memory": 10})
    a = ledger.enqueue({"cpu": 2, "memory": 6})
    b = ledger.enqueue({"memory": 5})
    c = ledger.enqueue({"cpu": 2})
    d = ledger.enqueue({"cpu": 1, "memory": 1})
    woken = ledger.release(held)
    # a first; b no longer fits (4 memory left); c fits; d needs a cpu that is gone.
    assert [t for t, _ in woken] == [a, c]
    assert b.overtaken == 1 and d.overtaken == 0


def test_release_everything_restores_totals(L):
    ledger = L({"cpu": 3, "memory": 50, "network": 2})
    start = ledger.snapshot()["total"]
    grants = [ledger.try_acquire(r) for r in ({"cpu": 2, "memory": 20}, {"network": (1, None)}, {"cpu": 1})]
    tickets = [ledger.enqueue({"cpu": 1, "memory": 10}) for _ in range(3)]
    pending = list(grants)
    while pending:
        pending += [g for _, g in ledger.release(pending.pop())]
    assert all(t.state == "granted" for t in tickets)
    snap = ledger.snapshot()
    assert snap["total"] == start and snap["free"] == start and snap["waiting"] == 0


# --- wiring --------------------------------------------------------------------------


def test_exceptions_are_shared(kernels):
    assert kernels.ledger.ResourceError is exc.ResourceError
    assert kernels.ledger.UnknownResourceError is exc.UnknownResourceError
    assert issubclass(exc.UnknownResourceError, KeyError)


def test_front_exposes_selected_kernel():
    import zako.resource

    assert zako.resource.ResourceLedger is _impl.kernel("ledger").ResourceLedger
    assert zako.resource.Grant is _impl.kernel("ledger").Grant
