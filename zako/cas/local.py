"""The local, on-disk content-addressed store."""

from __future__ import annotations

import itertools
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import BinaryIO

from blake3 import blake3 as _Blake3

from .blob_range import BlobRange, check_range
from .digest import CHUNK_BYTES, Digest
from .errors import BlobNotFoundError, CorruptBlobError, DigestMismatchError
from .reader import BlobReader

__all__ = ["LocalCas"]

_TEMP_PREFIX = ".tmp-"
_TEMP_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
_SEQ = itertools.count()
_FULL = BlobRange()
#: Whole blobs up to this size are read in one go (see read_bytes).
_SMALL_BLOB = 1 << 20


def _require_digest(digest) -> Digest:
    if not isinstance(digest, Digest):
        raise TypeError(f"expected a Digest, got {type(digest).__name__} {digest!r}")
    return digest


def _load_sync_file_range():
    # Linux-only and not in the os module. Asking the kernel to start writing
    # each chunk back as soon as it is written overlaps the disk with the
    # hashing and copying, so the final fsync has little left to wait for.
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        fn = ctypes.CDLL(None, use_errno=True).sync_file_range
        fn.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
        fn.restype = ctypes.c_int
        return fn
    except (OSError, AttributeError, ImportError):
        return None


_sync_file_range = _load_sync_file_range()
_SYNC_FILE_RANGE_WRITE = 2


def _start_writeback(fd: int, offset: int, length: int) -> None:
    if _sync_file_range is not None:
        _sync_file_range(fd, offset, length, _SYNC_FILE_RANGE_WRITE)  # advisory: errors ignored


def _write_all(fd: int, view: memoryview, offset: int = 0, writeback: bool = False) -> None:
    """Write all of ``view`` at the file's position (which is ``offset``)."""
    while view:
        n = os.write(fd, view[:CHUNK_BYTES])
        if writeback:
            _start_writeback(fd, offset, n)
        offset += n
        view = view[n:]


class LocalCas:
    """Blobs as read-only files ``root/<first 2 hex>/<hex>``, named by blake3.

    Writes go to a temporary file (in the blob's directory, or ``root/tmp``
    when the digest is only known after streaming), are fsynced, then
    renamed over the final name: a crash or kill leaves at worst a stray
    ``.tmp-*`` file (see :meth:`remove_stale_temp_files`), never a partial
    blob under its final name. Concurrent writers of the same blob are safe:
    the bytes are identical and rename is atomic.

    Reads of a whole blob are verified while they stream; a blob whose file
    size or hash no longer matches raises :class:`CorruptBlobError` and the
    bad file is removed so that the next store of that digest repairs it.
    Stateless beyond the directory, so safe to share between threads and
    processes. ``fsync=False`` trades power-loss durability for speed.
    """

    def __init__(self, root: str | os.PathLike, *, fsync: bool = True) -> None:
        self.root = Path(root)
        self.fsync = fsync
        self._tmp_dir = self.root / "tmp"
        self._tmp_dir.mkdir(parents=True, exist_ok=True)
        self._root_str = os.fspath(self.root)
        self._known_dirs: set[str] = set()

    def __repr__(self) -> str:
        return f"LocalCas({self._root_str!r})"

    # --- paths ----------------------------------------------------------------

    def _path_str(self, digest: Digest) -> str:
        h = digest._hex
        return os.path.join(self._root_str, h[:2], h)

    def path_for(self, digest: Digest) -> Path:
        """Where ``digest`` lives (or would live); no I/O."""
        return Path(self._path_str(_require_digest(digest)))

    def local_path(self, digest: Digest) -> Path:
        """Path of the stored blob, for hard-linking or mapping. Do not write to it.

        Raises :class:`BlobNotFoundError` if the blob is not stored.
        """
        if self.check(digest) is None:
            raise BlobNotFoundError(f"blob {digest} is not in {self!r}", digest=digest)
        return self.path_for(digest)

    # --- queries --------------------------------------------------------------

    def check(self, digest: Digest) -> int | None:
        """Size of the stored blob, or ``None`` if absent. One ``stat``.

        A file whose size differs from the digest's counts as absent (it is
        corrupt; the next store replaces it).
        """
        try:
            st = os.stat(self._path_str(_require_digest(digest)))
        except FileNotFoundError:
            return None
        return st.st_size if st.st_size == digest.size_bytes else None

    def contains(self, digest: Digest) -> bool:
        """True if the blob is stored (see :meth:`check`)."""
        return self.check(digest) is not None

    __contains__ = contains

    # --- writes ---------------------------------------------------------------

    def store(self, digest: Digest, data: bytes | bytearray | memoryview) -> Digest:
        """Store ``data`` under ``digest``; returns ``digest``.

        Raises :class:`DigestMismatchError` (nothing written) if ``data``
        does not hash to ``digest``. Storing a blob already present is a
        cheap no-op. Cost: one hash pass, one write, one fsync.
        """
        _require_digest(digest)
        actual = Digest.of_bytes(data)
        if actual != digest:
            raise DigestMismatchError(
                f"data given for blob {digest} hashes to {actual}; not stored in {self!r}",
                expected=digest, actual=actual)
        self._store_verified(digest, memoryview(data).cast("B"))
        return digest

    def _store_verified(self, digest: Digest, view: memoryview, *, durable: bool = True) -> None:
        # Caller has hashed ``view`` to ``digest``. ``durable=False`` skips
        # the fsync (CasStore uses it for inlined blobs, whose bytes live in
        # their handles; a copy torn by power loss fails verification on read).
        final = self._path_str(digest)
        try:
            if os.stat(final).st_size == digest.size_bytes:
                return
        except FileNotFoundError:
            pass
        directory = os.path.dirname(final)
        fd, tmp = self._open_temp(directory)
        try:
            try:
                _write_all(fd, view, 0, durable and self.fsync)
                if durable and self.fsync:
                    os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, final)
        except BaseException:
            _unlink_quietly(tmp)
            raise

    def _open_temp(self, directory: str) -> tuple[int, str]:
        """A new, exclusively created read-only temp file in ``directory``."""
        # pid + thread + counter is unique among live writers and cheaper than
        # mkstemp's random names; a clash with a dead writer's leftover falls
        # back to mkstemp.
        name = f"{directory}{os.sep}{_TEMP_PREFIX}{os.getpid()}-{threading.get_ident()}-{next(_SEQ)}"
        for _attempt in (0, 1):
            if directory not in self._known_dirs:
                os.makedirs(directory, exist_ok=True)
                self._known_dirs.add(directory)
            try:
                return os.open(name, _TEMP_FLAGS, 0o444), name
            except FileExistsError:
                fd, name = tempfile.mkstemp(prefix=_TEMP_PREFIX, dir=directory)
                os.fchmod(fd, 0o444)
                return fd, name
            except FileNotFoundError:
                self._known_dirs.discard(directory)  # removed behind our back
        raise FileNotFoundError(f"cannot create a temp file in {directory!r} of {self!r}")

    def store_stream(self, stream: BinaryIO, expected: Digest | None = None) -> Digest:
        """Store everything left in ``stream``; returns its digest.

        Hashes while copying into a temporary file in ``root/tmp``, then
        renames it into place, so memory stays at one chunk whatever the
        size. With ``expected`` set, bytes hashing to anything else raise
        :class:`DigestMismatchError` and nothing is stored.
        """
        if expected is not None:
            _require_digest(expected)
        fd, tmp = self._open_temp(self._tmp_dir_str())
        try:
            try:
                digest = _copy_hashing(stream, fd, self.fsync)
                if expected is not None and digest != expected:
                    raise DigestMismatchError(
                        f"stream given for blob {expected} hashes to {digest}; "
                        f"not stored in {self!r}",
                        expected=expected, actual=digest)
                if self.check(digest) is not None:
                    # Already stored: drop the copy, skip the fsync.
                    os.close(fd)
                    fd = -1
                    _unlink_quietly(tmp)
                    return digest
                if self.fsync:
                    os.fsync(fd)
            finally:
                if fd >= 0:
                    os.close(fd)
            final = self._path_str(digest)
            directory = os.path.dirname(final)
            if directory not in self._known_dirs:
                os.makedirs(directory, exist_ok=True)
                self._known_dirs.add(directory)
            os.replace(tmp, final)
        except BaseException:
            _unlink_quietly(tmp)
            raise
        return digest

    def store_file(self, path: str | os.PathLike, expected: Digest | None = None) -> Digest:
        """Store a copy of the file at ``path`` (streamed); returns its digest.

        ``OSError`` if it cannot be read; see :meth:`store_stream` for ``expected``.
        """
        with open(path, "rb", buffering=0) as f:
            return self.store_stream(f, expected)

    def delete(self, digest: Digest) -> bool:
        """Remove the blob; True if it was there."""
        try:
            os.unlink(self._path_str(_require_digest(digest)))
            return True
        except FileNotFoundError:
            return False

    def remove_stale_temp_files(self, older_than_s: float = 3600.0) -> int:
        """Delete ``.tmp-*`` files left by killed writers; returns how many.

        Only files untouched for ``older_than_s`` seconds are removed, so
        writers still running in other processes are not disturbed.
        """
        cutoff = time.time() - older_than_s
        removed = 0
        dirs = [self._tmp_dir_str()]
        with os.scandir(self._root_str) as it:
            dirs.extend(e.path for e in it if e.is_dir() and len(e.name) == 2)
        for directory in dirs:
            try:
                entries = list(os.scandir(directory))
            except FileNotFoundError:
                continue
            for e in entries:
                if e.name.startswith(_TEMP_PREFIX):
                    try:
                        if e.stat().st_mtime <= cutoff:
                            os.unlink(e.path)
                            removed += 1
                    except FileNotFoundError:
                        pass
        return removed

    def _tmp_dir_str(self) -> str:
        return os.fspath(self._tmp_dir)

    # --- reads ----------------------------------------------------------------

    def fetch(self, digest: Digest, range: BlobRange = _FULL) -> BlobReader:
        """Binary file object positioned at ``range.start``, limited to the range.

        A read of the whole blob is verified as it streams (the read reaching
        the end raises :class:`CorruptBlobError` on a mismatch). Partial reads
        are not hashed, but the file size is checked. Raises
        :class:`RangeError` (before any I/O) if the range does not fit,
        :class:`BlobNotFoundError` if the blob is absent. Close the result.
        """
        start, stop = check_range(_require_digest(digest), range)
        path = self._path_str(digest)
        try:
            f = open(path, "rb", buffering=0)
        except FileNotFoundError:
            raise BlobNotFoundError(f"blob {digest} is not in {self!r}", digest=digest) from None
        try:
            st = os.fstat(f.fileno())
            if st.st_size != digest.size_bytes:
                raise self._corrupt(digest, path, f"file holds {st.st_size} bytes", st)
            if start:
                f.seek(start)
        except BaseException:
            f.close()
            raise
        verify = digest if range.covers_whole(digest.size_bytes) else None

        def fail(actual: Digest | None) -> BaseException:
            what = "ended early" if actual is None else f"hashes to {actual}"
            return self._corrupt(digest, path, what, st)

        return BlobReader(f, stop - start, verify=verify, fail=fail, name=path)

    def read_bytes(self, digest: Digest, range: BlobRange = _FULL) -> bytes:
        """The bytes of ``range``; whole-blob reads are verified before returning."""
        if (isinstance(digest, Digest) and digest.size_bytes <= _SMALL_BLOB and range.start == 0
                and range.covers_whole(digest.size_bytes)):
            return self._read_small(digest)
        with self.fetch(digest, range) as reader:
            return reader.read()

    def _read_small(self, digest: Digest) -> bytes:
        # A warm load reads one small result blob per package: a plain
        # descriptor and one hash cost a third of the streaming reader's set-up.
        _require_digest(digest)
        path = self._path_str(digest)
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            raise BlobNotFoundError(f"blob {digest} is not in {self!r}", digest=digest) from None
        try:
            st = os.fstat(fd)
            if st.st_size != digest.size_bytes:
                raise self._corrupt(digest, path, f"file holds {st.st_size} bytes", st)
            chunks = []
            got = 0
            while got < st.st_size:
                chunk = os.read(fd, st.st_size - got)
                if not chunk:
                    break
                chunks.append(chunk)
                got += len(chunk)
        finally:
            os.close(fd)
        data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        if len(data) != digest.size_bytes:
            raise self._corrupt(digest, path, "ended early", st)
        actual = _Blake3(data).hexdigest()
        if actual != digest.hex:
            raise self._corrupt(digest, path, f"hashes to {actual}/{len(data)}", st)
        return data

    def verify(self, digest: Digest) -> bool:
        """Hash the stored blob end to end; True if intact.

        Raises :class:`CorruptBlobError` (and removes the bad file) if not,
        :class:`BlobNotFoundError` if absent. Streams: memory stays at one chunk.
        """
        buf = bytearray(CHUNK_BYTES)
        with self.fetch(digest) as reader:
            while reader.readinto(buf):
                pass
        return True

    def _corrupt(self, digest: Digest, path: str, what: str, st: os.stat_result) -> CorruptBlobError:
        # Remove the bad file unless a writer has already replaced it, so the
        # next store of this digest repairs the store.
        try:
            now = os.stat(path)
            if (now.st_ino, now.st_dev) == (st.st_ino, st.st_dev):
                os.unlink(path)
        except OSError:
            pass
        return CorruptBlobError(
            f"blob {digest} in {self!r} is corrupt: {path} {what}; bad copy discarded",
            digest=digest, path=path)


def _copy_hashing(stream: BinaryIO, fd: int, writeback: bool) -> Digest:
    hasher = _Blake3()
    size = 0
    readinto = getattr(stream, "readinto", None)
    buf = bytearray(CHUNK_BYTES)
    view = memoryview(buf)
    while True:
        if readinto is not None:
            n = readinto(view)
            if not n:
                break
            chunk = view[:n]
        else:
            data = stream.read(CHUNK_BYTES)
            if not data:
                break
            chunk = memoryview(data)
            n = len(chunk)
        hasher.update(chunk)
        _write_all(fd, chunk, size, writeback)
        size += n
    return Digest._trusted(size, hasher.digest())


def _unlink_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
