"""``zako.cas.reapi.batcher.Batcher``: concurrent one-item requests leave
together, each caller gets its own answer (or the batch's error), and a
batch never exceeds its byte or item limit."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from zako.cas.reapi.batcher import Batcher


class Recorder:
    def __init__(self, delay: float = 0.0, fail_on=None) -> None:
        self.batches: list[list] = []
        self.delay = delay
        self.fail_on = fail_on
        self.lock = threading.Lock()

    def __call__(self, items):
        with self.lock:
            self.batches.append(list(items))
        time.sleep(self.delay)  # a call in flight, so others queue behind it
        if self.fail_on is not None and self.fail_on in items:
            raise RuntimeError(f"batch with {self.fail_on} failed")
        return [item * 10 for item in items]


def test_a_lone_request_is_one_call_with_one_item():
    rec = Recorder()
    b = Batcher(rec, max_bytes=100)
    assert b.submit(7, 1) == 70
    assert rec.batches == [[7]] and b.calls == 1


def test_concurrent_requests_share_calls_and_each_gets_its_answer():
    rec = Recorder(delay=0.02)
    b = Batcher(rec, max_bytes=1000, max_calls=2)
    with ThreadPoolExecutor(48) as pool:
        answers = list(pool.map(lambda i: b.submit(i, 10), range(200)))
    assert answers == [i * 10 for i in range(200)]
    assert sorted(x for batch in rec.batches for x in batch) == list(range(200))  # each sent once
    assert b.calls == len(rec.batches) < 200


@pytest.mark.parametrize("max_bytes, max_items", [(35, 1000), (10_000, 3)])
def test_batches_respect_their_limits(max_bytes, max_items):
    rec = Recorder(delay=0.01)
    b = Batcher(rec, max_bytes=max_bytes, max_items=max_items, max_calls=1)
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda i: b.submit(i, 10), range(60)))
    assert all(len(batch) * 10 <= max_bytes and len(batch) <= max_items for batch in rec.batches)


def test_an_item_over_the_byte_limit_goes_alone():
    rec = Recorder()
    b = Batcher(rec, max_bytes=10)
    assert b.submit(3, 50) == 30
    assert rec.batches == [[3]]


def test_a_failed_batch_raises_in_every_caller_of_that_batch_only():
    rec = Recorder(delay=0.02, fail_on=13)
    b = Batcher(rec, max_bytes=10_000, max_calls=1)

    def ask(i):
        try:
            return b.submit(i, 1)
        except RuntimeError as e:
            return str(e)

    with ThreadPoolExecutor(32) as pool:
        answers = dict(zip(range(100), pool.map(ask, range(100))))
    failed_batch = next(batch for batch in rec.batches if 13 in batch)
    for i, answer in answers.items():
        assert answer == ("batch with 13 failed" if i in failed_batch else i * 10)
