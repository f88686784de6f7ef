"""Thread safety: one key per string, no key handed out twice, under contention."""

from __future__ import annotations

import sys
import threading

import numpy as np
import pytest

from zako.exceptions import InternerTypeError

THREADS = 4


@pytest.fixture(autouse=True)
def _switch_often():
    # Force frequent GIL hand-offs so the threads really interleave.
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(old)


def _run(workers):
    errors = []
    barrier = threading.Barrier(len(workers))

    def wrap(fn):
        def run():
            barrier.wait()
            try:
                fn()
            except BaseException as e:  # noqa: BLE001 - reported below
                errors.append(e)

        return run

    threads = [threading.Thread(target=wrap(w)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors


def _check_consistent(it, seen):
    """Every string maps to one key, keys are 1..len, and each resolves back."""
    by_string = {}
    for s, k in seen:
        assert by_string.setdefault(s, k) == k, f"{s!r} got keys {by_string[s]} and {k}"
    assert sorted(by_string.values()) == list(range(1, len(it) + 1))
    for s, k in by_string.items():
        assert it.resolve(k) == s
        assert it.get(s) == k


def test_same_strings_from_many_threads(kernels):
    it = kernels.interner.Interner(0)  # tiny: every structure grows while contended
    strings = [f"shared/{i % 3000}/{'x' * (i % 7)}" for i in range(6000)]
    results = [[] for _ in range(THREADS)]

    def worker(n):
        order = strings[n::1] if n % 2 else strings[::-1]
        out = results[n]
        for s in order:
            k = it.get_or_intern(s)
            out.append((s, k))
            assert it.resolve(k) == s  # a key resolves the moment it is seen

    _run([lambda n=n: worker(n) for n in range(THREADS)])
    _check_consistent(it, [pair for r in results for pair in r])
    assert len(it) == len(set(strings))


def test_batches_and_single_calls_mixed(kernels):
    it = kernels.interner.Interner(0)
    rng = np.random.default_rng(1)
    pool = [f"p{i}" for i in range(4000)]
    seen = []
    lock = threading.Lock()

    def batcher(seed):
        r = np.random.default_rng(seed)
        for _ in range(30):
            batch = [pool[i] for i in r.integers(0, len(pool), 300)]
            keys = it.intern_many(batch).tolist()
            with lock:
                seen.extend(zip(batch, keys))

    def single(seed):
        r = np.random.default_rng(seed)
        local = []
        for i in r.integers(0, len(pool), 6000).tolist():
            local.append((pool[i], it.get_or_intern(pool[i])))
        with lock:
            seen.extend(local)

    _run([lambda: batcher(2), lambda: batcher(3), lambda: single(4), lambda: single(5)])
    _check_consistent(it, seen)
    del rng


def test_failing_batches_never_leak_keys(kernels):
    # Batches that fail midway roll back while other threads intern and read:
    # a key another thread received must never change its string.
    it = kernels.interner.Interner(0)
    seen = []
    lock = threading.Lock()

    def failing(seed):
        for round_ in range(40):
            batch = [f"fail/{seed}/{round_}/{i}" for i in range(200)] + [None]
            try:
                it.intern_many(batch)
            except InternerTypeError:
                pass
            else:  # pragma: no cover - would be a bug
                raise AssertionError("batch with None succeeded")

    def steady(seed):
        local = []
        for i in range(3000):
            s = f"ok/{(i * 7 + seed) % 1500}"
            local.append((s, it.get_or_intern(s)))
        with lock:
            seen.extend(local)

    _run([lambda: failing(1), lambda: failing(2), lambda: steady(3), lambda: steady(4)])
    _check_consistent(it, seen)
    assert all(not s.startswith("fail/") for s in it.resolve_many(range(1, len(it) + 1)))


def test_readers_during_growth(kernels):
    # Readers hammer get/resolve/in while one writer grows every structure.
    it = kernels.interner.Interner(0)
    it.intern_many([f"base{i}" for i in range(100)])
    stop = threading.Event()

    def writer():
        try:
            for chunk in range(20):
                it.intern_many([f"grow{chunk}/{i}/{'y' * (i % 50)}" for i in range(2000)])
        finally:
            stop.set()

    def reader():
        while not stop.is_set():
            for i in range(0, 100, 7):
                assert it.get(f"base{i}") == i + 1
                assert f"base{i}" in it
                assert it.resolve(i + 1) == f"base{i}"
            n = len(it)
            if n > 100:
                assert it.resolve(n).startswith("grow")

    _run([writer, reader, reader])
    assert len(it) == 100 + 20 * 2000
