"""Errors of the worker pool."""

from __future__ import annotations

from ..exceptions import ZakoError

__all__ = ["WorkerPoolError"]


class WorkerPoolError(ZakoError):
    """The pool cannot do what was asked in its current state.

    Raised for a second ``start``, a ``submit`` before ``start`` or after
    ``shutdown``, and a backpressure wait interrupted by ``shutdown``. The
    message names the pool. A failing *job* never raises this: its own error
    goes to its own future.
    """
