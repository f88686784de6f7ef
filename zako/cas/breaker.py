"""How healthy the caches were during one load: the remote's circuit breaker
and the count of corrupt local entries that were repaired.

A remote cache is an optimisation: a slow, dead or hostile one must cost a
load a bounded amount of time and never its result. Every remote request
asks :meth:`CacheHealth.acquire` first and reports :meth:`success` or
:meth:`failure`. After a failure the remote is *suspect*: one request at a
time goes through as a probe and the others are skipped at once, so a
black hole costs one deadline per probe instead of one per waiting lookup
(a lookup skipped is a miss: the package is evaluated locally meanwhile).
A success makes it healthy again; after ``max_failures`` failures in a row (timeouts,
refused connections, 5xx/403 answers, bodies that do not match their
digest) the breaker opens and the remote is off — reads and writes, CAS
and action cache — until the load ends. Requests refused while open are
counted (:meth:`skipped`) so the one warning can say what the remote did
not get.

A load ends at :meth:`end_load` (``CasStore.flush`` calls it): it logs at
most one WARNING about the remote (why it was switched off, or how many
requests failed, and what was skipped) and at most one INFO line with the
number of corrupt local entries found and repaired, then starts a fresh
episode (the next load tries the remote again).
"""

from __future__ import annotations

import logging
import threading
import time

from .redact import redact_text

__all__ = ["CacheHealth", "DEFAULT_MAX_FAILURES"]

_log = logging.getLogger("zako.cache")

DEFAULT_MAX_FAILURES = 3


def _counted(n: int, kind: str) -> str:
    # "18 blob writes (flush deadline)": the plural goes before any qualifier.
    base, paren, rest = kind.partition(" (")
    return f"{n} {base}{'s' if n != 1 else ''}{paren}{rest}"


class CacheHealth:
    """Thread-safe counters for one load; see the module doc.

    ``name`` (the remote's URL) appears in messages, credentials masked. ``reason`` is the first
    failure that opened the breaker (None while closed); it stays readable
    after :meth:`end_load` until the next request starts a new episode, so a
    load's summary can quote it.
    """

    def __init__(self, name: str = "remote cache", *, max_failures: int = DEFAULT_MAX_FAILURES,
                 logger: logging.Logger | None = None) -> None:
        if max_failures < 1:
            raise ValueError(f"max_failures must be >= 1, got {max_failures}")
        # Messages quote the name and each failure's text: both are
        # redacted on the way in, so no summary can carry a credential.
        self.name = redact_text(name)
        self.max_failures = max_failures
        self._log = logger or _log
        self._lock = threading.Lock()
        self._reset()
        self.reason: str | None = None
        self._ended = False

    def _reset(self) -> None:
        self._streak = 0
        self._streak_first: str | None = None
        self.first_failure: str | None = None
        self._probe_until = 0.0
        self.failures = 0
        self.last_failure: str | None = None
        self.open = False
        self.reason = None
        self.skipped_counts: dict[str, int] = {}
        self.corrupt_counts: dict[str, int] = {}

    # --- the breaker ------------------------------------------------------------

    def _new_episode_if_ended(self) -> None:
        if self._ended:
            self._ended = False
            self._reset()

    def allow(self) -> bool:
        """Is the remote worth queueing work for? False once the breaker is open."""
        with self._lock:
            self._new_episode_if_ended()
            return not self.open

    @property
    def failing(self) -> bool:
        """Open, or suspect (the last request failed)."""
        return self.open or self._streak > 0

    def acquire(self, probe_s: float = 5.0) -> bool:
        """May a request be sent now? False when open, or when suspect and
        another request is already probing (its turn lapses after ``probe_s``
        seconds, in case its outcome is never reported). Report the outcome
        with :meth:`success` or :meth:`failure`."""
        with self._lock:
            self._new_episode_if_ended()
            if self.open:
                return False
            if self._streak:
                now = time.monotonic()
                if now < self._probe_until:
                    return False
                self._probe_until = now + probe_s
            return True

    def success(self) -> None:
        with self._lock:
            self._streak = 0
            self._probe_until = 0.0

    def failure(self, what: str) -> bool:
        """Record a failed request (``what`` says which and why); True if this
        one opened the breaker.

        A failure reported after :meth:`end_load` and before the next
        :meth:`acquire`/:meth:`allow` belongs to a request of the load that
        ended (still in flight when its flush stopped waiting): that load's
        warning is already out, so it is logged at DEBUG only instead of
        starting an episode whose warning would follow the first one."""
        what = redact_text(what)
        with self._lock:
            late = self._ended
            opened = False if late else self._record_failure(what)
        if late:
            self._log.debug("remote failure after its load ended: %s", what)
            return False
        return opened

    def _record_failure(self, what: str) -> bool:
        self.failures += 1
        self.last_failure = what
        if self.first_failure is None:
            self.first_failure = what
        self._probe_until = 0.0
        if self.open:
            return False
        if not self._streak:
            self._streak_first = what
        self._streak += 1
        if self._streak >= self.max_failures:
            self.open = True
            # The first of the run names the cause; later ones are often
            # its echo (a closed connection after a cut-short body).
            self.reason = f"{self._streak} requests in a row failed, the first: {self._streak_first}"
            return True
        return False

    def skipped(self, kind: str, n: int = 1) -> None:
        """Count ``n`` remote operations of ``kind`` (e.g. ``"cas upload"``) not
        made. Like a late :meth:`failure`, a skip reported after
        :meth:`end_load` (an upload its flush dropped while closing) belongs to
        the load that ended and is not counted."""
        with self._lock:
            if self._ended:
                return
            self.skipped_counts[kind] = self.skipped_counts.get(kind, 0) + n

    # --- local repairs ----------------------------------------------------------

    def corrupt(self, kind: str) -> None:
        """A local entry of ``kind`` (``"blob"``, ``"action-cache entry"``) failed
        verification and was dropped (it is recomputed or fetched again)."""
        with self._lock:
            self._new_episode_if_ended()
            self.corrupt_counts[kind] = self.corrupt_counts.get(kind, 0) + 1

    # --- end of a load ----------------------------------------------------------

    def summary(self) -> str | None:
        """The warning :meth:`end_load` would log now, or None."""
        with self._lock:
            return self._summary_locked()

    def _summary_locked(self) -> str | None:
        if not self.failures and not self.skipped_counts:
            return None
        skipped = ", ".join(_counted(n, kind) for kind, n in sorted(self.skipped_counts.items()))
        if self.open:
            text = f"{self.name} switched off for the rest of this load: {self.reason}"
        elif self.failures:
            text = (f"{self.name}: {self.failures} request{'s' if self.failures != 1 else ''} failed "
                    f"(each a cache miss), the first: {self.first_failure}")
        else:
            text = f"{self.name}: not every upload was sent"
        if skipped:
            text += f"; skipped{' while it was failing' if self.failures and not self.open else ''}: {skipped}"
        return text

    def end_load(self) -> None:
        """Log this load's warning and repair count (each at most once), then
        let the next request start a fresh episode."""
        with self._lock:
            if self._ended:
                return
            warning = self._summary_locked()
            corrupt = dict(self.corrupt_counts)
            self._ended = True
        if warning:
            self._log.warning("%s", warning)
        if corrupt:
            total = sum(corrupt.values())
            parts = ", ".join(_counted(n, kind) for kind, n in sorted(corrupt.items()))
            self._log.info("repaired %d corrupt local cache entr%s (%s): each was dropped and "
                           "treated as a miss", total, "y" if total == 1 else "ies", parts)
