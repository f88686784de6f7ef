"""Background uploads to a remote cache, shared by the CAS and the action cache.

A remote round trip costs far more than the local write that precedes it,
so uploads never run on the thread that produced the data: they queue
here and run on up to ``workers`` threads (each keeping its own keep-alive
connection busy, so a 50 ms remote still takes hundreds of uploads a
second). The queue is bounded (``max_pending``): past it an upload is
dropped and counted, so a remote slower than the load never makes memory
grow without limit. :meth:`flush` waits with its own deadline; what has not
started by then is dropped and counted too.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any, Callable

from .breaker import CacheHealth

__all__ = ["UploadQueue"]


class UploadQueue:
    """Run ``fn(*args)`` jobs on background threads; see the module doc.

    ``health`` receives the counts of dropped jobs (``skipped(kind)``).
    A job's exception is kept (the first ``keep_errors`` of them) for
    :meth:`flush` to hand back. Threads start on first use and exit when
    idle for ``idle_s``.
    """

    def __init__(self, workers: int = 32, *, max_pending: int = 20_000, health: CacheHealth | None = None,
                 idle_s: float = 2.0, keep_errors: int = 16) -> None:
        if workers < 1:
            raise ValueError(f"UploadQueue workers must be >= 1, got {workers}")
        self.workers = workers
        self.max_pending = max_pending
        self.health = health
        self.idle_s = idle_s
        self._jobs: deque[tuple[str, Callable[..., Any], tuple]] = deque()
        self._cond = threading.Condition()
        self._threads = 0
        self._idle = 0
        self._running = 0
        self._errors: list[BaseException] = []
        self._keep_errors = keep_errors
        self._closed = False
        self.done = 0

    def submit(self, kind: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> bool:
        """Queue a job; False (and counted as skipped) when the queue is full or closed."""
        with self._cond:
            if self._closed or len(self._jobs) >= self.max_pending:
                dropped = True
            else:
                dropped = False
                self._jobs.append((kind, (lambda: fn(*args, **kwargs)) if kwargs else fn, () if kwargs else args))
                if self._idle:
                    self._cond.notify()
                elif self._threads < self.workers:
                    self._threads += 1
                    threading.Thread(target=self._work, name="zako-upload", daemon=True).start()
        if dropped and self.health is not None:
            self.health.skipped(kind)
        return not dropped

    def _work(self) -> None:
        cond = self._cond
        while True:
            with cond:
                while not self._jobs:
                    if self._closed:
                        self._threads -= 1
                        cond.notify_all()
                        return
                    self._idle += 1
                    woke = cond.wait(self.idle_s)
                    self._idle -= 1
                    if not woke and not self._jobs:
                        self._threads -= 1
                        cond.notify_all()
                        return
                kind, fn, args = self._jobs.popleft()
                self._running += 1
            try:
                fn(*args)
            except BaseException as exc:  # noqa: BLE001 - kept for flush()
                with cond:
                    if len(self._errors) < self._keep_errors:
                        self._errors.append(exc)
            finally:
                with cond:
                    self._running -= 1
                    self.done += 1
                    cond.notify_all()

    @property
    def pending(self) -> int:
        """Jobs queued or running."""
        with self._cond:
            return len(self._jobs) + self._running

    def flush(self, timeout: float | None = None, give_up: Callable[[], bool] | None = None) -> list[BaseException]:
        """Wait until every job has run, at most ``timeout`` seconds, and only
        while ``give_up()`` is false (checked every 50 ms: e.g. "the remote
        is failing", when waiting cannot pay off); jobs not started by then
        are dropped (counted as skipped). Returns the errors of the jobs run
        since the last flush (and forgets them)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        dropped: dict[str, int] = {}
        with self._cond:
            while self._jobs or self._running:
                left = None if deadline is None else deadline - time.monotonic()
                if (left is not None and left <= 0) or (give_up is not None and give_up()):
                    for kind, _fn, _args in self._jobs:
                        dropped[kind] = dropped.get(kind, 0) + 1
                    self._jobs.clear()
                    # Running jobs are bounded by their own request deadline; not waited for.
                    break
                self._cond.wait(0.05 if give_up is not None and (left is None or left > 0.05) else left)
            errors, self._errors = self._errors, []
        if self.health is not None:
            for kind, n in dropped.items():
                self.health.skipped(f"{kind} (flush deadline)", n)
        return errors

    def close(self, timeout: float | None = None) -> list[BaseException]:
        """Flush (bounded by ``timeout``), then refuse new jobs and let the threads exit."""
        errors = self.flush(timeout)
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        return errors
