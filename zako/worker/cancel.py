"""Cooperative cancellation: a ``CancelSource`` fires, its ``CancelToken`` tells.

The split follows .NET's CancellationTokenSource: whoever may cancel holds the
source; code that only needs to *observe* cancellation gets the token. The
engine accepts any object with ``.cancelled`` and ``add_callback(fn)`` /
``remove_callback(fn)``, so a token can be handed straight to
``Engine.evaluate(..., cancel_token=token)`` to terminate running JavaScript.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import CancelledError
from typing import Callable

__all__ = ["CancelSource", "CancelToken"]

_log = logging.getLogger(__name__)

Callback = Callable[[], object]


class CancelToken:
    """Tells whether an operation was cancelled, and calls back when it is.

    ``CancelToken()`` makes a token with its own ``cancel()``; a
    ``CancelSource`` makes one and keeps the right to fire it. Thread-safe.

    Callbacks take no arguments and run at most once: on the thread that
    calls ``cancel()`` (in the order they were added), or at once on the
    adding thread if the token is already cancelled. A callback that raises
    is logged and does not stop the others.
    """

    __slots__ = ("_lock", "_cancelled", "_reason", "_callbacks", "__weakref__")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cancelled = False
        self._reason: str | None = None
        # dict keeps insertion order and gives O(1) removal by identity key.
        self._callbacks: dict[int, list[Callback]] = {}

    @property
    def cancelled(self) -> bool:
        """True once ``cancel()`` ran; never goes back to False."""
        return self._cancelled

    @property
    def reason(self) -> str | None:
        """The reason given to the first ``cancel()``, if any."""
        return self._reason

    def raise_if_cancelled(self) -> None:
        """Raise ``concurrent.futures.CancelledError`` if cancelled."""
        if self._cancelled:
            raise CancelledError(self._reason or "operation was cancelled")

    def cancel(self, reason: str | None = None) -> bool:
        """Cancel and run the callbacks. Returns False if already cancelled."""
        with self._lock:
            if self._cancelled:
                return False
            self._cancelled = True
            self._reason = reason
            callbacks = [fn for fns in self._callbacks.values() for fn in fns]
            self._callbacks.clear()
        for fn in callbacks:
            _run_callback(fn)
        return True

    def add_callback(self, fn: Callback) -> None:
        """Call ``fn()`` once on cancellation (at once if already cancelled)."""
        if not callable(fn):
            raise TypeError(f"cancel callback must be callable, got {fn!r}")
        with self._lock:
            if not self._cancelled:
                self._callbacks.setdefault(id(fn), []).append(fn)
                return
        _run_callback(fn)

    def remove_callback(self, fn: Callback) -> bool:
        """Forget one registration of ``fn``; False if it was not registered
        (or has already run)."""
        with self._lock:
            fns = self._callbacks.get(id(fn))
            if not fns:
                return False
            for i, other in enumerate(fns):
                if other is fn:
                    del fns[i]
                    break
            else:
                return False
            if not fns:
                del self._callbacks[id(fn)]
            return True

    def __repr__(self) -> str:
        return f"<CancelToken {'cancelled' if self._cancelled else 'active'} at {id(self):#x}>"


def _run_callback(fn: Callback) -> None:
    try:
        fn()
    except Exception:  # one broken listener must not stop the others
        _log.exception("cancel callback %r raised", fn)


class CancelSource:
    """Owns a ``CancelToken`` and is the one place that fires it.

    ``CancelSource(*parents)`` links the new token to parent tokens: when
    any parent is cancelled, so is this one (not the other way round).
    """

    __slots__ = ("_token", "_parents", "_on_parent")

    def __init__(self, *parents: CancelToken) -> None:
        self._token = CancelToken()
        self._parents = parents
        self._on_parent = self._parent_cancelled  # one bound method, to remove it later
        for parent in parents:
            parent.add_callback(self._on_parent)

    def _parent_cancelled(self) -> None:
        reason = next((p.reason for p in self._parents if p.cancelled), None)
        self._token.cancel(reason)

    @property
    def token(self) -> CancelToken:
        return self._token

    @property
    def cancelled(self) -> bool:
        return self._token.cancelled

    def cancel(self, reason: str | None = None) -> bool:
        """Cancel the token; False if it was already cancelled."""
        return self._token.cancel(reason)

    def close(self) -> None:
        """Unlink from the parents, so a long-lived parent keeps no reference."""
        for parent in self._parents:
            parent.remove_callback(self._on_parent)
        self._parents = ()

    def __repr__(self) -> str:
        return f"<CancelSource {self._token!r}>"
