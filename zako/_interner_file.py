"""The interner's save file format, shared by both kernel sets.

Both implementations export ``(id, max_keys, lengths, data)`` and this module
turns that into bytes, so a file saved by one loads in the other and the same
intern sequence always gives the same bytes. Format: ``docs/interner-format.md``.

Layout (all integers little-endian)::

    offset  size  field
    0       8     magic  b"ZAKOINT\\x00"
    8       4     version (u32) = 1
    12      4     flags (u32) = 0, reserved
    16      8     interner id (u64)
    24      8     max_keys (u64)
    32      8     count: number of strings (u64)
    40      8     data_len: total UTF-8 bytes (u64)
    48      4*count  lengths (u32 each), in key order (key 1 first)
    ...     data_len UTF-8 bytes of every string, concatenated in key order
    end-32  32    blake3 digest of every byte before it
"""

from __future__ import annotations

import os
import struct
import tempfile

import blake3
import numpy as np

from .exceptions import InternerFileError

MAGIC = b"ZAKOINT\x00"
VERSION = 1
HEADER = struct.Struct("<8sIIQQQQ")
CHECKSUM_BYTES = 32

__all__ = ["MAGIC", "VERSION", "write", "read"]


def _new_file_mode(path: str) -> int:
    """Mode for the saved file: an existing file's, else what ``open`` would
    give (mkstemp's 0600 would make saved interners unreadable to others)."""
    try:
        return os.stat(path).st_mode & 0o7777
    except OSError:
        umask = os.umask(0o022)
        os.umask(umask)
        return 0o666 & ~umask


def write(path: str | os.PathLike, interner_id: int, max_keys: int, lengths: np.ndarray, data: bytes) -> None:
    """Write atomically: a temporary file in the same directory, fsync, rename.

    An interruption at any point leaves the previous file (or none) and no
    temporary file; the directory is fsynced so the rename itself is durable.
    """
    path = os.fspath(path)
    lengths = np.ascontiguousarray(lengths, dtype="<u4")
    header = HEADER.pack(MAGIC, VERSION, 0, interner_id, max_keys, len(lengths), len(data))
    hasher = blake3.blake3()
    directory = os.path.dirname(os.path.abspath(path))
    mode = _new_file_mode(path)
    fd, tmp = tempfile.mkstemp(prefix=os.path.basename(path) + ".", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            if hasattr(os, "fchmod"):
                os.fchmod(f.fileno(), mode)
            for chunk in (header, lengths.tobytes(), data):
                hasher.update(chunk)
                f.write(chunk)
            f.write(hasher.digest())
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    _fsync_directory(directory)


def _fsync_directory(directory: str) -> None:
    try:
        dfd = os.open(directory, os.O_RDONLY)
    except OSError:  # e.g. Windows cannot open directories; the rename stands
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)


def read(path: str | os.PathLike) -> tuple[int, int, np.ndarray, bytes]:
    """Read and verify a file; returns ``(id, max_keys, lengths, data)``.

    Raises ``InternerFileError`` naming the path for any truncation, bad magic,
    unknown version, checksum mismatch or inconsistent sizes.
    """
    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            blob = f.read()
    except OSError as e:
        raise InternerFileError(f"cannot read interner file {path!r}: {e}") from e
    if len(blob) < HEADER.size + CHECKSUM_BYTES:
        raise InternerFileError(f"interner file {path!r} is truncated ({len(blob)} bytes)")
    magic, version, _flags, iid, max_keys, count, data_len = HEADER.unpack_from(blob, 0)
    if magic != MAGIC:
        raise InternerFileError(f"{path!r} is not a zako interner file (bad magic {magic!r})")
    if version != VERSION:
        raise InternerFileError(f"interner file {path!r} has unsupported version {version}")
    body, checksum = memoryview(blob)[:-CHECKSUM_BYTES], blob[-CHECKSUM_BYTES:]  # no copy of the body
    if blake3.blake3(body).digest() != checksum:
        raise InternerFileError(f"interner file {path!r} is corrupted (checksum mismatch)")
    expected = HEADER.size + 4 * count + data_len + CHECKSUM_BYTES
    if expected != len(blob):
        raise InternerFileError(
            f"interner file {path!r} is inconsistent: header promises {expected} bytes, file has {len(blob)}"
        )
    lengths = np.frombuffer(blob, dtype="<u4", count=count, offset=HEADER.size).astype(np.uint32)
    if int(lengths.sum(dtype=np.uint64)) != data_len:
        raise InternerFileError(f"interner file {path!r} is inconsistent: lengths do not add up to data size")
    if not 1 <= max_keys <= 2**32 - 2 or count > max_keys:
        raise InternerFileError(f"interner file {path!r} has invalid max_keys {max_keys} for {count} strings")
    start = HEADER.size + 4 * count
    return iid, max_keys, lengths, blob[start : start + data_len]
