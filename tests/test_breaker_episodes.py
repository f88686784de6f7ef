"""A load's remote warning is printed once, even when one of its requests
fails after the load ended (in flight when the flush stopped waiting for a
failing remote): the late failure is not a new episode with a second warning."""

from __future__ import annotations

import logging

from zako.cas import CacheHealth


def warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


def test_late_failure_and_skip_after_end_load_do_not_warn_again(caplog):
    health = CacheHealth("remote cache X")
    with caplog.at_level("DEBUG", logger="zako.cache"):
        assert health.acquire()
        health.failure("GET /ac/1 answered HTTP 400")
        health.end_load()
        # the probe still in flight fails, the closing flush drops an upload
        assert health.failure("PUT /cas/2 answered HTTP 400") is False
        health.skipped("blob write (flush deadline)")
        health.end_load()  # GlobalState.close flushes again
    assert warnings(caplog) == [
        "remote cache X: 1 request failed (each a cache miss), the first: GET /ac/1 answered HTTP 400"]
    assert "remote failure after its load ended: PUT /cas/2 answered HTTP 400" in caplog.text
    # the quoted reason stays readable after the load
    assert health.summary() is not None and "GET /ac/1" in health.summary()


def test_the_next_load_starts_a_fresh_episode(caplog):
    health = CacheHealth("remote cache X", max_failures=2)
    with caplog.at_level("WARNING", logger="zako.cache"):
        for load in (1, 2):
            assert health.acquire()  # a new load's first request
            health.failure(f"load {load} first")
            assert health.acquire()
            assert health.failure(f"load {load} second") is True  # opened the breaker
            health.end_load()
    assert warnings(caplog) == [
        f"remote cache X switched off for the rest of this load: 2 requests in a row failed, the first: load {n} first"
        for n in (1, 2)]
