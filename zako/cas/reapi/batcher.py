"""Coalesce concurrent one-blob requests into REAPI batch calls.

A load asks for blobs one at a time from many threads (64 lookups, 32
uploads), but ``BatchReadBlobs``/``BatchUpdateBlobs`` take many blobs per
call, and on a Python server (buildgrid) each call costs far more than
each blob in it. No thread waits to fill a batch: a caller that finds
fewer than ``max_calls`` batches in flight sends at once whatever is queued
(its own request at least); one that finds them all busy queues its request,
and a sender takes everything queued before it lets go of its turn. So a
lone request costs one call, and under load requests pile up behind the
calls in flight and leave together.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["Batcher"]


class _Slot:
    __slots__ = ("item", "size", "done", "result", "error")

    def __init__(self, item: Any, size: int) -> None:
        self.item, self.size = item, size
        self.done = threading.Event()
        self.result: Any = None
        self.error: BaseException | None = None


class Batcher:
    """``submit(item, size)`` returns ``send([items])[i]`` for its item, or
    raises what ``send`` raised for the batch. A batch holds at most
    ``max_bytes`` of item sizes (an item over it goes alone) and at most
    ``max_items`` items. Thread-safe."""

    def __init__(self, send: Callable[[Sequence[Any]], Sequence[Any]], *, max_bytes: int,
                 max_items: int = 1000, max_calls: int = 4) -> None:
        self._send = send
        self.max_bytes = max_bytes
        self.max_items = max_items
        self.max_calls = max_calls
        self._queue: list[_Slot] = []
        self._active = 0
        self._lock = threading.Lock()
        self.calls = 0  # batch calls made (figures for tests and benchmarks)

    def submit(self, item: Any, size: int) -> Any:
        slot = _Slot(item, size)
        with self._lock:
            self._queue.append(slot)
            lead = self._active < self.max_calls
            if lead:
                self._active += 1
        if lead:
            self._drain()
        slot.done.wait()
        if slot.error is not None:
            raise slot.error
        return slot.result

    def _take(self) -> list[_Slot]:
        # Under the lock. Deciding to stop and giving up the turn happen under
        # the lock that queueing takes, so no request is ever left behind.
        batch: list[_Slot] = []
        total = 0
        queue = self._queue
        while queue and len(batch) < self.max_items:
            size = queue[0].size
            if batch and total + size > self.max_bytes:
                break
            batch.append(queue.pop(0))
            total += size
        if not batch:
            self._active -= 1
        return batch

    def _drain(self) -> None:
        while True:
            with self._lock:
                batch = self._take()
                if batch:
                    self.calls += 1
            if not batch:
                return
            try:
                results = self._send([s.item for s in batch])
                for slot, result in zip(batch, results, strict=True):
                    slot.result = result
            except BaseException as e:  # noqa: BLE001 - each caller gets the batch's error
                for slot in batch:
                    slot.error = e
            for slot in batch:
                slot.done.set()
