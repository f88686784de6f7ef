"""A read-limited, optionally verifying view of a blob's bytes."""

from __future__ import annotations

import io
from typing import Callable

from blake3 import blake3 as _Blake3

from .digest import Digest

__all__ = ["BlobReader"]


class BlobReader(io.RawIOBase):
    """Binary file object over exactly ``length`` bytes of ``raw``.

    ``raw`` is positioned at the first byte of the range already. Reads never
    go past ``length``. With ``verify`` set (a digest, for reads of a whole
    blob) every byte is hashed on the way through, and the read that
    reaches the end raises ``fail(actual_digest)`` instead of returning if the
    bytes do not match — so ``reader.read()`` never hands back bad data, and a
    streaming consumer learns of it at the end, like a checksummed archive.
    A source that ends early is reported through ``fail(None)``.
    ``on_close`` runs once when the reader is closed (connection reuse).
    """

    def __init__(
        self,
        raw,
        length: int,
        *,
        verify: Digest | None = None,
        fail: Callable[[Digest | None], BaseException] | None = None,
        on_close: Callable[[bool], None] | None = None,
        name: str | None = None,
    ) -> None:
        super().__init__()
        self._raw = raw
        self._remaining = length
        self._length = length
        self._expected = verify
        self._hasher = _Blake3() if verify is not None else None
        self._fail = fail
        self._on_close = on_close
        self.name = name
        if length == 0:
            try:
                self._finish()
            except BaseException:
                raw.close()
                raise

    @property
    def length(self) -> int:
        return self._length

    def readable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._length - self._remaining

    def _truncated(self) -> BaseException:
        if self._fail is not None:
            return self._fail(None)
        return OSError(f"{self.name or 'blob'} ended {self._remaining} bytes early")

    def _finish(self) -> None:
        hasher, self._hasher = self._hasher, None
        if hasher is not None:
            actual = Digest._trusted(self._length, hasher.digest())
            if actual != self._expected:
                raise (self._fail(actual) if self._fail is not None else OSError(
                    f"{self.name or 'blob'} hashes to {actual}, expected {self._expected}"))

    def read(self, size: int | None = -1) -> bytes:
        if self.closed:
            raise ValueError("read from a closed BlobReader")
        remaining = self._remaining
        if size is None or size < 0 or size > remaining:
            size = remaining
        if size == 0:
            return b""
        data = self._raw.read(size)
        if data is None:
            return None  # type: ignore[return-value]  # non-blocking raw
        if len(data) < size and size == remaining:
            # Whole-rest reads are expected to be complete; gather the tail.
            parts = [data]
            got = len(data)
            while got < size:
                more = self._raw.read(size - got)
                if not more:
                    break
                parts.append(more)
                got += len(more)
            data = b"".join(parts)
        if not data:
            raise self._truncated()
        self._consume(data)
        return data

    def readall(self) -> bytes:
        return self.read(-1)

    def readinto(self, buffer) -> int:
        if self.closed:
            raise ValueError("read from a closed BlobReader")
        view = memoryview(buffer).cast("B")
        want = min(len(view), self._remaining)
        if want == 0:
            return 0
        n = self._raw.readinto(view[:want])
        if not n:
            raise self._truncated()
        self._consume(view[:n])
        return n

    def _consume(self, chunk) -> None:
        if self._hasher is not None:
            self._hasher.update(chunk)
        self._remaining -= len(chunk)
        if self._remaining == 0:
            self._finish()

    def close(self) -> None:
        if self.closed:
            return
        try:
            self._raw.close()
        finally:
            callback, self._on_close = self._on_close, None
            super().close()
            if callback is not None:
                callback(self._remaining == 0)
