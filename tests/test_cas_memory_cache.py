"""MemoryCache: weight-bounded LRU, TTL/TTI with an injected clock, counters, threads."""

from __future__ import annotations

import threading

import pytest

from zako.cas import MemoryCache


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, s: float) -> None:
        self.now += s


def test_hit_miss_counters():
    c = MemoryCache(100)
    assert c.get("a") is None
    assert c.put("a", b"12345")
    assert c.get("a") == b"12345"
    assert (c.hits, c.misses, c.evictions) == (1, 1, 0)
    assert c.current_bytes == 5 and len(c) == 1
    s = c.stats()
    assert (s.hits, s.misses, s.entries, s.current_bytes, s.max_bytes) == (1, 1, 1, 5, 100)


def test_eviction_by_weight_is_lru():
    c = MemoryCache(100)
    c.put("a", b"a" * 40)
    c.put("b", b"b" * 40)
    assert c.get("a") is not None  # a is now more recent than b
    c.put("c", b"c" * 40)          # 120 > 100: evict least recently used (b)
    assert "b" not in c and "a" in c and "c" in c
    assert c.evictions == 1 and c.current_bytes == 80
    c.put("d", b"d" * 90)          # needs both remaining entries gone
    assert len(c) == 1 and "d" in c and c.evictions == 3 and c.current_bytes == 90


def test_many_small_entries_evicted_for_one_big():
    c = MemoryCache(1000)
    for i in range(100):
        c.put(i, b"x" * 10)
    assert c.current_bytes == 1000 and c.evictions == 0
    c.put("big", b"y" * 995)
    assert c.current_bytes == 995 + 0 and c.evictions == 100 and len(c) == 1


def test_oversized_entry_not_stored_and_nothing_evicted():
    c = MemoryCache(10)
    c.put("a", b"12345")
    assert c.put("big", b"x" * 11) is False
    assert "big" not in c and "a" in c and c.evictions == 0


def test_replacing_entry_updates_weight():
    c = MemoryCache(100)
    c.put("a", b"x" * 60)
    c.put("a", b"y" * 30)
    assert c.current_bytes == 30 and c.get("a") == b"y" * 30 and c.evictions == 0


def test_ttl_expires_since_insertion_even_when_read():
    clock = FakeClock()
    c = MemoryCache(100, ttl_s=10, clock=clock)
    c.put("a", b"1")
    clock.advance(6)
    assert c.get("a") == b"1"
    clock.advance(3.9)
    assert c.get("a") == b"1"
    clock.advance(0.1)  # 10 s after put: reads do not extend a TTL
    assert c.get("a") is None
    assert c.expirations == 1 and c.misses == 1 and c.current_bytes == 0 and len(c) == 0


def test_tti_expires_after_idle_and_reads_refresh():
    clock = FakeClock()
    c = MemoryCache(100, tti_s=5, clock=clock)
    c.put("a", b"1")
    for _ in range(4):
        clock.advance(4)
        assert c.get("a") == b"1"  # each read restarts the idle timer
    clock.advance(5)
    assert "a" not in c
    assert c.get("a") is None and c.expirations == 1


def test_contains_does_not_refresh_or_count():
    clock = FakeClock()
    c = MemoryCache(100, tti_s=5, clock=clock)
    c.put("a", b"1")
    clock.advance(4)
    assert "a" in c
    clock.advance(1)
    assert "a" not in c
    assert (c.hits, c.misses) == (0, 0)


def test_ttl_and_tti_together():
    clock = FakeClock()
    c = MemoryCache(100, ttl_s=10, tti_s=3, clock=clock)
    c.put("a", b"1")
    c.put("b", b"2")
    for _ in range(4):
        clock.advance(2)
        assert c.get("a") == b"1"
    # b idled out; a is kept alive by reads until its TTL
    assert c.get("b") is None
    clock.advance(2)  # t = 10
    assert c.get("a") is None


def test_expired_entries_go_before_live_ones_on_pressure():
    clock = FakeClock()
    c = MemoryCache(100, ttl_s=10, clock=clock)
    c.put("old", b"o" * 50)
    clock.advance(5)
    c.put("live", b"l" * 40)
    clock.advance(6)  # old expired, live not
    c.put("new", b"n" * 50)
    assert "live" in c and "new" in c and "old" not in c
    assert c.evictions == 0 and c.expirations == 1
    assert c.purge_expired() == 0


def test_remove_and_clear():
    c = MemoryCache(100)
    c.put("a", b"12")
    c.put("b", b"345")
    assert c.remove("a") and not c.remove("a")
    assert c.current_bytes == 3
    c.clear()
    assert c.current_bytes == 0 and len(c) == 0


@pytest.mark.parametrize("kwargs", [dict(max_bytes=-1), dict(max_bytes=1.5), dict(max_bytes=10, ttl_s=0),
                                    dict(max_bytes=10, tti_s=-1)])
def test_rejects_bad_configuration(kwargs):
    with pytest.raises(ValueError):
        MemoryCache(**kwargs)


def test_thread_safety_keeps_weight_consistent():
    c = MemoryCache(10_000)
    def work(t):
        for i in range(2000):
            key = (t * 7 + i) % 300
            c.put(key, bytes(key % 97 + 1))
            c.get((key * 13) % 300)
            if i % 50 == 0:
                c.remove(key)
    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with c._lock:
        assert c.current_bytes == sum(len(e[0]) for e in c._entries.values())
    assert c.current_bytes <= 10_000
    assert c.hits + c.misses == 8000
