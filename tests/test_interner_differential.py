"""Differential tests: any operation sequence gives the same answers on both kernels.

Same keys, same ``resolve``, same exception class *and message* (after the
interner ids are made equal), same ``len``, and byte-identical save files that
load in the other kernel.
"""

from __future__ import annotations

import os
import tempfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.usefixtures("cython_kernels")

# Small alphabets make collisions (repeats) likely; full text covers the rest.
# st.text never yields lone surrogates, so they are spliced in explicitly.
short = st.text(alphabet="ab/\x00é😀", max_size=6)
anything = st.text(max_size=40)
surrogate = st.tuples(short, st.integers(0xD800, 0xDFFF), short).map(lambda t: t[0] + chr(t[1]) + t[2])


class Tagged(str):
    """A str subclass: interned by value, but shown by its own repr in errors."""

    def __repr__(self):
        return f"Tagged({str.__repr__(self)})"


strings = st.one_of(short, short, anything, surrogate, st.one_of(short, surrogate).map(Tagged))
not_str = st.one_of(st.integers(-3, 3), st.none(), st.binary(max_size=3), st.floats(allow_nan=False))
keys = st.one_of(st.integers(-2, 40), st.integers(2**32 - 2, 2**65), st.booleans(), not_str, st.text(max_size=2))
key_batches = st.one_of(
    st.lists(st.integers(-1, 30), max_size=8),
    st.lists(st.integers(0, 30), max_size=8).map(lambda ks: np.array(ks, dtype=np.uint32)),
    st.lists(st.integers(0, 30), max_size=8).map(lambda ks: np.array(ks, dtype=np.int64)),
    st.lists(keys, max_size=4),
    not_str,
)

ops = st.one_of(
    st.tuples(st.just("get_or_intern"), st.one_of(strings, not_str)),
    st.tuples(st.just("get_or_intern_static"), strings),
    st.tuples(st.just("get"), st.one_of(strings, not_str)),
    st.tuples(st.just("contains"), st.one_of(strings, not_str)),
    st.tuples(st.just("resolve"), keys),
    st.tuples(st.just("intern_many"), st.lists(st.one_of(strings, strings, not_str), max_size=12)),
    st.tuples(st.just("intern_many"), st.lists(short, max_size=30).map(tuple)),
    st.tuples(st.just("resolve_many"), key_batches),
    st.tuples(st.just("len"), st.none()),
)


def _apply(interner, op, arg):
    """Outcome of one operation: ('ok', value) or ('err', class, message)."""
    try:
        if op == "contains":
            value = arg in interner
        elif op == "len":
            value = len(interner)
        else:
            value = getattr(interner, op)(arg)
        if isinstance(value, np.ndarray):
            value = ("array", str(value.dtype), value.tolist())
        return ("ok", value)
    except Exception as e:  # noqa: BLE001 - the class is what is compared
        return ("err", type(e), str(e))


def _twins(cython_kernels, pure_kernels, max_keys):
    """A cython and a pure interner with the same id (via a saved empty file)."""
    c = cython_kernels.interner.Interner(max_keys=max_keys)
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "seed.zki")
        c.save(path)
        p = pure_kernels.interner.Interner.load(path)
    assert p.id == c.id
    return c, p


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sequence=st.lists(ops, max_size=25), max_keys=st.sampled_from([3, 10, 2**32 - 2]))
def test_same_outcomes(cython_kernels, pure_kernels, sequence, max_keys):
    c, p = _twins(cython_kernels, pure_kernels, max_keys)
    for op, arg in sequence:
        assert _apply(c, op, arg) == _apply(p, op, arg), (op, arg)
    assert len(c) == len(p)
    assert c.resolve_many(range(1, len(c) + 1)) == p.resolve_many(range(1, len(p) + 1))
    # Byte-identical save files, and each loads in the other kernel.
    with tempfile.TemporaryDirectory() as d:
        cp, pp = os.path.join(d, "c.zki"), os.path.join(d, "p.zki")
        c.save(cp)
        p.save(pp)
        with open(cp, "rb") as f1, open(pp, "rb") as f2:
            assert f1.read() == f2.read()
        from_c = pure_kernels.interner.Interner.load(cp)
        from_p = cython_kernels.interner.Interner.load(pp)
    for loaded in (from_c, from_p):
        assert loaded.id == c.id and len(loaded) == len(c)
        assert loaded.resolve_many(range(1, len(c) + 1)) == c.resolve_many(range(1, len(c) + 1))
    probe = [s for op, s in sequence if isinstance(s, str)]
    assert [from_p.get(s) for s in probe] == [from_c.get(s) for s in probe] == [p.get(s) for s in probe]


@settings(max_examples=60, deadline=None)
@given(batch=st.lists(strings, max_size=200))
def test_intern_many_equals_one_by_one(cython_kernels, pure_kernels, batch):
    c, p = cython_kernels.interner.Interner(0), pure_kernels.interner.Interner(0)
    expect = []
    for s in batch:
        try:
            expect.append(p.get_or_intern(s))
        except Exception as e:  # noqa: BLE001
            expect = type(e)
            break
    if isinstance(expect, list):
        assert c.intern_many(batch).tolist() == expect
    else:
        with pytest.raises(expect):
            c.intern_many(batch)
        assert len(c) == 0


@settings(max_examples=40, deadline=None)
@given(data=st.binary(max_size=64))
def test_arbitrary_file_bytes_fail_the_same_way(cython_kernels, pure_kernels, data):
    # Random bytes (and a valid header glued to them) are rejected identically.
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "x.zki")
        for blob in (data, b"ZAKOINT\x00\x01\x00\x00\x00" + data):
            with open(path, "wb") as f:
                f.write(blob)
            outcomes = []
            for k in (cython_kernels, pure_kernels):
                try:
                    outcomes.append(("ok", len(k.interner.Interner.load(path))))
                except Exception as e:  # noqa: BLE001
                    outcomes.append(("err", type(e), str(e)))
            assert outcomes[0] == outcomes[1]
