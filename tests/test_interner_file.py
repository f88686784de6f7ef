"""Interner save/load: format, atomic writes, corrupted and truncated files."""

from __future__ import annotations

import os
import struct

import blake3
import numpy as np
import pytest

from zako import _interner_file
from zako.exceptions import InternerError, InternerFileError

STRINGS = ["", "a", "src/lib/x.ts", "\x00nul", "日本語", "😀", "a" * 5000]


@pytest.fixture
def Interner(kernels):
    return kernels.interner.Interner


@pytest.fixture
def saved(Interner, tmp_path):
    it = Interner(max_keys=1000)
    it.intern_many(STRINGS)
    path = tmp_path / "strings.zki"
    it.save(path)
    return it, path


def test_round_trip(Interner, saved):
    it, path = saved
    back = Interner.load(path)
    assert type(back) is Interner
    assert back.id == it.id
    assert back.max_keys == 1000
    assert len(back) == len(STRINGS)
    assert back.resolve_many(range(1, len(STRINGS) + 1)) == STRINGS
    assert [back.get(s) for s in STRINGS] == list(range(1, len(STRINGS) + 1))
    # A loaded interner keeps growing from where it was.
    assert back.get_or_intern("new") == len(STRINGS) + 1


def test_round_trip_str_path_and_empty(Interner, tmp_path):
    it = Interner()
    path = str(tmp_path / "empty.zki")
    it.save(path)
    back = Interner.load(path)
    assert len(back) == 0 and back.id == it.id


def test_layout_is_the_documented_one(saved):
    it, path = saved
    blob = path.read_bytes()
    magic, version, flags, iid, max_keys, count, data_len = struct.unpack_from("<8sIIQQQQ", blob)
    assert (magic, version, flags) == (b"ZAKOINT\x00", 1, 0)
    assert (iid, max_keys, count) == (it.id, 1000, len(STRINGS))
    encoded = [s.encode() for s in STRINGS]
    assert data_len == sum(map(len, encoded))
    lengths = np.frombuffer(blob, "<u4", count=count, offset=48)
    assert lengths.tolist() == [len(e) for e in encoded]
    body_end = 48 + 4 * count + data_len
    assert blob[48 + 4 * count : body_end] == b"".join(encoded)
    assert blob[body_end:] == blake3.blake3(blob[:body_end]).digest()
    assert len(blob) == body_end + 32


def test_save_overwrites_atomically_and_leaves_no_temp(saved, Interner):
    it, path = saved
    it.get_or_intern("later")
    it.save(path)
    assert len(Interner.load(path)) == len(STRINGS) + 1
    assert os.listdir(path.parent) == [path.name]


@pytest.mark.parametrize("fail_at", [0, 1, 2])
def test_interrupted_save_keeps_the_previous_file(saved, monkeypatch, fail_at):
    it, path = saved
    before = path.read_bytes()
    it.get_or_intern("not saved")

    real_fdopen = os.fdopen
    calls = {"n": 0}

    class Dying:
        def __init__(self, f):
            self.f = f

        def write(self, data):
            if calls["n"] == fail_at:
                # Half of this chunk reaches the disk, then the "crash".
                self.f.write(bytes(data)[: len(data) // 2])
                raise OSError("disk on fire")
            calls["n"] += 1
            return self.f.write(data)

        def __getattr__(self, name):
            return getattr(self.f, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return self.f.__exit__(*exc)

    monkeypatch.setattr(_interner_file.os, "fdopen", lambda *a, **k: Dying(real_fdopen(*a, **k)))
    with pytest.raises(OSError, match="disk on fire"):
        it.save(path)
    assert path.read_bytes() == before
    assert os.listdir(path.parent) == [path.name]


def test_interrupted_rename_keeps_the_previous_file(saved, monkeypatch):
    it, path = saved
    before = path.read_bytes()

    def boom(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(_interner_file.os, "replace", boom)
    with pytest.raises(KeyboardInterrupt):
        it.save(path)
    assert path.read_bytes() == before
    assert os.listdir(path.parent) == [path.name]


def _rewrite(path, mutate, fix_checksum):
    blob = bytearray(path.read_bytes())
    body = bytearray(blob[:-32])
    mutate(body)
    tail = blake3.blake3(bytes(body)).digest() if fix_checksum else blob[-32:]
    path.write_bytes(bytes(body) + tail)


def _set_u64(off, value):
    return lambda b: struct.pack_into("<Q", b, off, value)


@pytest.mark.parametrize(
    "mutate, fix_checksum, match",
    [
        (lambda b: b.__setitem__(0, ord("X")), True, "magic"),
        (lambda b: struct.pack_into("<I", b, 8, 2), True, "version"),
        (lambda b: b.__setitem__(len(b) - 1, b[-1] ^ 1), False, "checksum"),
        (lambda b: b.__setitem__(20, b[20] ^ 1), False, "checksum"),
        (_set_u64(32, 6), True, "inconsistent"),  # count
        (_set_u64(40, 1), True, "inconsistent"),  # data_len
        (lambda b: struct.pack_into("<II", b, 48 + 4, 2, 0), True, "lengths|inconsistent"),
        (_set_u64(24, 0), True, "max_keys"),
        (_set_u64(24, 3), True, "max_keys"),
    ],
    ids=["magic", "version", "checksum-tail", "checksum-body", "count", "data-len", "lengths", "max0", "max-small"],
)
def test_corrupted_file(Interner, saved, mutate, fix_checksum, match):
    _, path = saved
    _rewrite(path, mutate, fix_checksum)
    with pytest.raises(InternerFileError, match=match) as info:
        Interner.load(path)
    assert str(path) in str(info.value)
    assert isinstance(info.value, InternerError) and isinstance(info.value, ValueError)


def _handmade(path, strings_bytes, max_keys=100):
    _interner_file.write(path, 7, max_keys, np.array([len(b) for b in strings_bytes], np.uint32), b"".join(strings_bytes))


@pytest.mark.parametrize(
    "items, match",
    [
        ([b"ok", b"\xff"], "invalid UTF-8"),
        ([b"\xed\xa0\x80"], "invalid UTF-8"),  # an encoded surrogate
        ([b"ok", b"\xe6\x97"], "invalid UTF-8"),  # truncated sequence
        ([b"a", b"b", b"a"], "twice"),
        ([b"", b""], "twice"),
    ],
)
def test_valid_checksum_but_bad_content(Interner, tmp_path, items, match):
    path = tmp_path / "hand.zki"
    _handmade(path, items)
    with pytest.raises(InternerFileError, match=match) as info:
        Interner.load(path)
    assert str(path) in str(info.value)


def test_handmade_file_loads(Interner, tmp_path):
    path = tmp_path / "hand.zki"
    _handmade(path, [b"x", "é".encode(), b""])
    it = Interner.load(path)
    assert it.id == 7 and it.resolve_many([1, 2, 3]) == ["x", "é", ""]


@pytest.mark.parametrize("cut", [0, 1, 47, 48, 60, -33, -1])
def test_truncated_file(Interner, saved, cut):
    _, path = saved
    blob = path.read_bytes()
    path.write_bytes(blob[:cut] if cut >= 0 else blob[:cut])
    with pytest.raises(InternerFileError) as info:
        Interner.load(path)
    assert str(path) in str(info.value)


def test_missing_file_and_directory(Interner, tmp_path):
    with pytest.raises(InternerFileError, match="cannot read") as info:
        Interner.load(tmp_path / "nope.zki")
    assert "nope.zki" in str(info.value)
    with pytest.raises(InternerFileError):
        Interner.load(tmp_path)


def test_same_sequence_same_bytes_and_cross_loading(cython_kernels, pure_kernels, tmp_path):
    strings = STRINGS + [f"p/{i}" for i in range(3000)]
    c, p = cython_kernels.interner.Interner(), pure_kernels.interner.Interner()
    c.intern_many(strings)
    for s in strings:
        p.get_or_intern(s)
    # Ids are random per interner; make them equal by a round trip through a file.
    c.save(tmp_path / "c.zki")
    p2 = pure_kernels.interner.Interner.load(tmp_path / "c.zki")
    p2.save(tmp_path / "p.zki")
    assert (tmp_path / "c.zki").read_bytes() == (tmp_path / "p.zki").read_bytes()
    c2 = cython_kernels.interner.Interner.load(tmp_path / "p.zki")
    assert c2.id == c.id and c2.resolve_many(range(1, len(c2) + 1)) == c.resolve_many(range(1, len(c) + 1))
    assert p._export()[0].tolist() == c._export()[0].tolist()
    assert p._export()[1] == c._export()[1]


@pytest.mark.skipif(not hasattr(os, "fchmod"), reason="POSIX permissions")
def test_saved_file_gets_ordinary_permissions(Interner, tmp_path):
    # Not mkstemp's private 0600: a new file follows the umask, and an
    # overwritten file keeps its mode.
    umask = os.umask(0o022)
    os.umask(umask)
    path = tmp_path / "perm.zki"
    Interner().save(path)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask
    os.chmod(path, 0o640)
    Interner().save(path)
    assert path.stat().st_mode & 0o777 == 0o640
