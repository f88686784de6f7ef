"""``TranspilerWorker``: the pool behaviour that turns TS/ESM sources into
the module form the V8 loader runs.

This is the role of Zako's Oxc worker: parsing happens here, on transpiler
threads, and lands in the digest-keyed transform cache the module loader
reads, so a V8 worker that later imports the file gets a cache hit and never
parses. A source that was transformed before (same text, same flags, same
transform version) costs one blake3 pass and no parse.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .cancel import CancelToken

__all__ = ["TranspileJob", "TranspilerWorker"]


@dataclass(frozen=True, slots=True)
class TranspileJob:
    """One module to transform.

    ``filename`` names the module in errors and decides TypeScript when
    ``typescript`` is None (``.ts``/``.mts``/``.cts``). Without ``source``
    the file at ``filename`` is read as UTF-8.
    """

    filename: str
    source: str | None = None
    typescript: bool | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.filename, str) or not self.filename:
            raise ValueError(f"TranspileJob.filename must be a non-empty str, got {self.filename!r}")
        if self.source is not None and not isinstance(self.source, str):
            raise TypeError(f"TranspileJob.source for {self.filename} must be str, got {type(self.source).__name__}")


class _State:
    __slots__ = ("transforms",)

    def __init__(self) -> None:
        self.transforms = 0


class TranspilerWorker:
    """Behaviour: ``process(state, TranspileJob, token) -> TransformResult``.

    ``cache`` is the transform cache to fill (``None``: the process-wide
    default the module loader also uses). Errors: ``TranspileError`` naming
    file:line:col for bad source, ``OSError`` for an unreadable file; both
    fail only that job. A job whose token fired before it started raises
    ``CancelledError`` (a running parse is short and is not interrupted).
    """

    def __init__(self, cache: Any = None) -> None:
        self.cache = cache
        # Parsing is CPU work in Python objects: a job needs one cpu slot.
        self.default_request = {"cpu": 1}

    def init(self, context: Any) -> _State:
        return _State()

    def process(self, state: _State, job: TranspileJob | tuple, cancel_token: CancelToken):
        from ..v8.transpile import cached_transform

        if isinstance(job, tuple):
            job = TranspileJob(*job)
        elif not isinstance(job, TranspileJob):
            raise TypeError(f"TranspilerWorker needs a TranspileJob, got {job!r}")
        cancel_token.raise_if_cancelled()
        source = job.source
        if source is None:
            with open(job.filename, encoding="utf-8") as f:
                source = f.read()
        cancel_token.raise_if_cancelled()
        result = cached_transform(source, filename=job.filename, typescript=job.typescript, cache=self.cache)
        state.transforms += 1
        return result

    def gc(self, state: _State) -> None:
        # Nothing per thread worth freeing: results live in the shared cache.
        pass

    def close(self, state: _State) -> None:
        pass

    def __repr__(self) -> str:
        return f"TranspilerWorker(cache={self.cache!r})"
