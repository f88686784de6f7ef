"""Contract tests for the interner kernel (DESIGN.md section 1), both implementations."""

from __future__ import annotations

import re
import weakref

import numpy as np
import pytest

from zako.exceptions import (
    InternerEncodingError,
    InternerError,
    InternerFullError,
    InternerTypeError,
    UnknownKeyError,
)

TRICKY = ["", "a", "\x00", "a\x00b", "\x00" * 9, "é", "日本語", "😀", "a😀b" * 20, "x" * 1000, "\uffff", "\U0010ffff"]


@pytest.fixture
def Interner(kernels):
    return kernels.interner.Interner


def id_text(interner) -> str:
    return f"{interner.id:016x}"


def snapshot(interner, keys=None):
    """Everything observable: len and every key's string."""
    n = len(interner)
    return n, [interner.resolve(k) for k in range(1, n + 1)]


# -- construction -----------------------------------------------------------


def test_defaults(Interner, kernels):
    it = Interner()
    assert len(it) == 0
    assert it.max_keys == 2**32 - 2 == kernels.interner.MAX_KEYS
    assert isinstance(it.id, int) and 0 <= it.id < 2**64
    assert id_text(it) in repr(it)


def test_ids_are_random(Interner):
    assert len({Interner().id for _ in range(20)}) == 20


@pytest.mark.parametrize("hint", [0, 1, 5, 100_000])
def test_capacity_hint_does_not_change_behaviour(Interner, hint):
    it = Interner(hint)
    keys = [it.get_or_intern(f"s{i}") for i in range(300)]
    assert keys == list(range(1, 301))
    assert [it.resolve(k) for k in keys] == [f"s{i}" for i in range(300)]


@pytest.mark.parametrize("bad", [-1, -100])
def test_negative_capacity_hint(Interner, bad):
    with pytest.raises(ValueError, match="capacity_hint"):
        Interner(bad)


@pytest.mark.parametrize("bad", [0, -1, 2**32 - 1, 2**40])
def test_max_keys_out_of_range(Interner, bad):
    with pytest.raises(ValueError, match="max_keys"):
        Interner(max_keys=bad)


def test_max_keys_is_keyword_only(Interner):
    with pytest.raises(TypeError):
        Interner(16, 5)


def test_weakref(Interner):
    it = Interner()
    assert weakref.ref(it)() is it


# -- get_or_intern / get / in / len ---------------------------------------


def test_keys_in_first_intern_order(Interner):
    it = Interner()
    assert [it.get_or_intern(s) for s in ["b", "a", "b", "c", "a"]] == [1, 2, 1, 3, 2]
    assert len(it) == 3
    assert all(type(k) is int for k in [it.get_or_intern("a"), it.get("a")])


def test_get_or_intern_static_is_the_same(Interner):
    it = Interner()
    assert it.get_or_intern_static("x") == 1
    assert it.get_or_intern("x") == 1
    assert it.get_or_intern_static("y") == it.get("y") == 2


@pytest.mark.parametrize("s", TRICKY)
def test_round_trip_of_any_encodable_string(Interner, s):
    it = Interner()
    it.get_or_intern("filler")
    k = it.get_or_intern(s)
    assert k == 2
    assert it.resolve(k) == s
    assert it.get(s) == k
    assert s in it
    assert it.get_or_intern(s) == k


def test_tricky_strings_are_all_distinct(Interner):
    it = Interner()
    keys = [it.get_or_intern(s) for s in TRICKY]
    assert keys == list(range(1, len(TRICKY) + 1))
    assert it.resolve_many(keys) == TRICKY


def test_strings_sharing_prefixes_and_lengths(Interner):
    # Same length, same hash-word prefix: only a full comparison tells them apart.
    it = Interner()
    strings = [f"{'p' * n}{c}" for n in range(0, 20) for c in "abc"]
    keys = [it.get_or_intern(s) for s in strings]
    assert keys == list(range(1, len(strings) + 1))
    assert [it.get(s) for s in strings] == keys


def test_get_never_inserts(Interner):
    it = Interner()
    assert it.get("x") is None
    assert "x" not in it
    assert len(it) == 0


def test_str_subclass_is_interned_by_value(Interner):
    class Weird(str):
        def __hash__(self):
            return 0

        def __eq__(self, other):
            return False

    it = Interner()
    k = it.get_or_intern("abc")
    w = Weird("abc")
    assert it.get_or_intern(w) == k
    assert it.get(w) == k and w in it
    assert type(it.resolve(k)) is str


@pytest.mark.parametrize("bad", [b"bytes", 1, None, 1.5, ["a"], object()])
def test_non_str_is_a_type_error(Interner, bad):
    it = Interner()
    it.get_or_intern("a")
    for call in (it.get_or_intern, it.get_or_intern_static, it.get):
        with pytest.raises(InternerTypeError, match=id_text(it)) as info:
            call(bad)
        assert isinstance(info.value, TypeError) and isinstance(info.value, InternerError)
        assert type(bad).__name__ in str(info.value)
    assert bad not in it
    assert snapshot(it) == (1, ["a"])


@pytest.mark.parametrize("bad", ["\ud800", "a\udfffb", "ok" * 50 + "\ud83d"])
def test_lone_surrogate_is_an_encoding_error(Interner, bad):
    it = Interner()
    it.get_or_intern("a")
    with pytest.raises(InternerEncodingError, match=id_text(it)) as info:
        it.get_or_intern(bad)
    assert isinstance(info.value, ValueError)
    assert "surrogate" in str(info.value)
    # It cannot have been interned, so lookups simply miss.
    assert it.get(bad) is None
    assert bad not in it
    assert snapshot(it) == (1, ["a"])


def test_max_keys_exhausted(Interner):
    it = Interner(max_keys=3)
    assert [it.get_or_intern(s) for s in "abc"] == [1, 2, 3]
    with pytest.raises(InternerFullError, match=id_text(it)) as info:
        it.get_or_intern("d")
    assert isinstance(info.value, OverflowError)
    assert "'d'" in str(info.value)
    assert it.get_or_intern("b") == 2  # hits still work when full
    assert snapshot(it) == (3, ["a", "b", "c"])
    assert it.get("d") is None


def test_encoding_error_wins_over_full(Interner):
    it = Interner(max_keys=1)
    it.get_or_intern("a")
    with pytest.raises(InternerEncodingError):
        it.get_or_intern("\ud800")


# -- resolve -------------------------------------------------------------


@pytest.mark.parametrize("key", [0, -1, 3, 2**32, 2**64, -(2**70), False])
def test_resolve_unknown_key(Interner, key):
    it = Interner()
    it.get_or_intern("a")
    it.get_or_intern("b")
    with pytest.raises(UnknownKeyError, match=id_text(it)) as info:
        it.resolve(key)
    assert isinstance(info.value, KeyError)
    assert f"unknown key {int(key)}" in str(info.value)
    assert snapshot(it) == (2, ["a", "b"])


def test_resolve_accepts_index_types(Interner):
    it = Interner()
    it.get_or_intern("a")
    assert it.resolve(np.uint32(1)) == it.resolve(np.int64(1)) == it.resolve(True) == "a"


@pytest.mark.parametrize("key", ["1", 1.0, None, [1]])
def test_resolve_non_int_is_a_type_error(Interner, key):
    it = Interner()
    it.get_or_intern("a")
    with pytest.raises(InternerTypeError, match=id_text(it)):
        it.resolve(key)


def test_resolve_on_empty_interner(Interner):
    with pytest.raises(UnknownKeyError):
        Interner().resolve(1)


# -- batches ---------------------------------------------------------------


def test_intern_many_returns_uint32_in_order(Interner):
    it = Interner()
    it.get_or_intern("b")
    keys = it.intern_many(["a", "b", "c", "a", ""])
    assert isinstance(keys, np.ndarray) and keys.dtype == np.uint32 and keys.shape == (5,)
    assert keys.tolist() == [2, 1, 3, 2, 4]
    assert len(it) == 4


@pytest.mark.parametrize(
    "make, expect",
    [
        (list, [1, 2, 1]),
        (tuple, [1, 2, 1]),
        (iter, [1, 2, 1]),
        (lambda xs: (x for x in xs), [1, 2, 1]),
        (dict.fromkeys, [1, 2]),
    ],
)
def test_intern_many_accepts_any_iterable(Interner, make, expect):
    it = Interner()
    assert it.intern_many(make(["x", "y", "x"])).tolist() == expect


def test_intern_many_empty(Interner):
    keys = Interner().intern_many([])
    assert keys.dtype == np.uint32 and keys.shape == (0,)


def test_intern_many_large_batch_matches_one_by_one(Interner):
    rng = np.random.default_rng(7)
    strings = [f"dir{a}/file{b}.ts" for a, b in rng.integers(0, 60, (20_000, 2)).tolist()]
    a, b = Interner(), Interner()
    many = a.intern_many(strings).tolist()
    assert many == [b.get_or_intern(s) for s in strings]
    assert len(a) == len(b) == len(set(strings))
    assert a.resolve_many(many) == strings


@pytest.mark.parametrize(
    "bad, exc",
    [
        ([5], InternerTypeError),
        (["\ud800"], InternerEncodingError),
        ([b"x"], InternerTypeError),
    ],
)
@pytest.mark.parametrize("where", [0, 1, 5000])
def test_intern_many_is_all_or_nothing(Interner, bad, exc, where):
    it = Interner()
    it.intern_many(["keep1", "keep2"])
    before = snapshot(it)
    batch = [f"new{i}" for i in range(where)] + ["keep2"] + bad + ["after"]
    with pytest.raises(exc, match=id_text(it)):
        it.intern_many(batch)
    assert snapshot(it) == before
    for s in batch[:where]:
        assert it.get(s) is None and s not in it
    # The keys the failed batch had staged are handed out again, in order.
    assert it.get_or_intern("other") == 3
    assert it.intern_many(["new0", "other"]).tolist() == [4, 3]
    assert it.resolve(4) == "new0"


def test_intern_many_full_rolls_back(Interner):
    it = Interner(max_keys=4)
    it.get_or_intern("a")
    with pytest.raises(InternerFullError):
        it.intern_many(["b", "c", "a", "d", "e"])
    assert snapshot(it) == (1, ["a"])
    assert it.intern_many(["b", "c", "a", "d"]).tolist() == [2, 3, 1, 4]


def test_intern_many_failure_after_table_growth(Interner):
    # The failed batch grew every structure (arena chunks, entry pages, table);
    # what was there before must still be found, the rest must be gone.
    it = Interner(4)
    base = [f"base{i}" for i in range(50)]
    it.intern_many(base)
    batch = [f"grow/{i}/{'x' * (i % 300)}" for i in range(40_000)] + [None]
    with pytest.raises(InternerTypeError):
        it.intern_many(batch)
    assert len(it) == 50
    assert [it.get(s) for s in base] == list(range(1, 51))
    assert all(it.get(s) is None for s in batch[:-1:997])
    assert it.intern_many(batch[:-1]).tolist() == list(range(51, 51 + 40_000))


def test_intern_many_error_raised_by_the_iterable(Interner):
    def gen():
        yield "a"
        yield "b"
        raise RuntimeError("boom")

    it = Interner()
    with pytest.raises(RuntimeError, match="boom"):
        it.intern_many(gen())
    assert len(it) == 0


@pytest.mark.parametrize("bad", ["abc", 5, None])
def test_intern_many_rejects_non_iterables_and_bare_str(Interner, bad):
    it = Interner()
    with pytest.raises(InternerTypeError, match=id_text(it)):
        it.intern_many(bad)
    assert len(it) == 0


def test_resolve_many(Interner):
    it = Interner()
    it.intern_many(["a", "b", "c"])
    expect = ["c", "a", "c"]
    assert it.resolve_many([3, 1, 3]) == expect
    assert it.resolve_many(np.array([3, 1, 3], dtype=np.uint32)) == expect
    assert it.resolve_many(np.array([3, 1, 3], dtype=np.int64)) == expect
    assert it.resolve_many(np.array([3, 1, 3], dtype=np.uint32)[::-1][::-1]) == expect
    assert it.resolve_many(x for x in [3, 1, 3]) == expect
    assert it.resolve_many([]) == []
    assert it.resolve_many(np.array([], dtype=np.uint32)) == []


@pytest.mark.parametrize(
    "keys, exc",
    [
        ([1, 0], UnknownKeyError),
        ([1, 4], UnknownKeyError),
        (np.array([1, 9], dtype=np.uint32), UnknownKeyError),
        (np.array([1, 2**32 + 1], dtype=np.int64), UnknownKeyError),
        (np.array([1.0]), InternerTypeError),
        ([1, "2"], InternerTypeError),
        (5, InternerTypeError),
        (np.uint32(1), InternerTypeError),
    ],
)
def test_resolve_many_errors(Interner, keys, exc):
    it = Interner()
    it.intern_many(["a", "b", "c"])
    with pytest.raises(exc, match=id_text(it)):
        it.resolve_many(keys)


# -- memory accounting ------------------------------------------------------


def test_memory_usage(Interner):
    it = Interner()
    empty = it.memory_usage()
    for key in ("strings", "arena_bytes", "arena_used_bytes", "entry_bytes", "index_bytes", "total_bytes"):
        assert isinstance(empty[key], int) and empty[key] >= 0, key
    assert empty["strings"] == 0
    strings = [f"some/path/number/{i:08d}.txt" for i in range(50_000)]
    it.intern_many(strings)
    mu = it.memory_usage()
    assert mu["strings"] == 50_000
    payload = sum(len(s) for s in strings)
    assert payload <= mu["arena_used_bytes"] <= mu["arena_bytes"]
    assert mu["total_bytes"] >= mu["arena_bytes"] + mu["entry_bytes"] + mu["index_bytes"]
    assert mu["total_bytes"] > empty["total_bytes"]


def test_compiled_kernel_memory_goal(cython_kernels):
    # Issue goal: at most average UTF-8 length + 24 bytes per unique string.
    it = cython_kernels.interner.Interner()
    strings = [f"src/pkg{i % 97}/module_{i:07d}.ts" for i in range(200_000)]
    it.intern_many(strings)
    avg = sum(len(s) for s in strings) / len(strings)
    per_string = it.memory_usage()["total_bytes"] / len(strings)
    assert per_string <= avg + 24, (per_string, avg)


def test_error_messages_name_the_interner(Interner):
    it = Interner()
    for call, arg in [(it.get_or_intern, 1), (it.resolve, 5), (it.get_or_intern, "\udc00")]:
        with pytest.raises(InternerError) as info:
            call(arg)
        assert re.search(f"interner {id_text(it)}", str(info.value))


# -- zako.intern: the front, InternedString and the protocols ----------------


def test_front_exports_the_selected_kernel():
    import zako
    from zako import _impl, intern

    assert intern.Interner is _impl.kernel("interner").Interner is zako.Interner


def test_interned_string(Interner):
    from zako.intern import InternedString, Resolvable, Uninternable

    it = Interner()
    a = InternedString.new("a/b", it)
    assert isinstance(a, int) and a == 1 and hash(a) == hash(1)
    assert repr(a) == "InternedString(1)"
    assert a.resolve(it) == a.unintern(it) == "a/b"
    assert InternedString.new("a/b", it) == a
    assert InternedString.get("a/b", it) == a and type(InternedString.get("a/b", it)) is InternedString
    assert InternedString.get("zz", it) is None and len(it) == 1
    assert isinstance(a, Resolvable) and isinstance(a, Uninternable)
    assert np.array([a, InternedString.new("c", it)], dtype=np.uint32).tolist() == [1, 2]


@pytest.mark.parametrize("bad", [0, -5])
def test_interned_string_is_nonzero(bad):
    from zako.intern import InternedString

    with pytest.raises(ValueError):
        InternedString(bad)


def test_interned_string_errors_come_from_the_kernel(Interner):
    from zako.intern import InternedString

    it = Interner()
    with pytest.raises(UnknownKeyError):
        InternedString(3).resolve(it)
    with pytest.raises(InternerEncodingError):
        InternedString.new("\ud800", it)
    assert len(it) == 0


def test_protocols_are_structural(Interner):
    from zako.intern import Internable, Resolvable, Uninternable

    class Label:
        def __init__(self, text):
            self.text = text

        def intern(self, interner):
            return InternedLabel(interner.get_or_intern(self.text))

    class InternedLabel(int):
        def resolve(self, interner):
            return interner.resolve(int(self))

        def unintern(self, interner):
            return Label(self.resolve(interner))

    it = Interner()
    label = Label("//pkg:name")
    assert isinstance(label, Internable) and not isinstance(label, Resolvable)
    key = label.intern(it)
    assert isinstance(key, Resolvable) and isinstance(key, Uninternable) and not isinstance(key, Internable)
    assert key.unintern(it).text == "//pkg:name"
    assert not isinstance("text", Internable) and not isinstance(5, Resolvable)


# -- rollback of failed batches, at random ----------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=80, deadline=None)
@given(
    before=st.lists(st.text(alphabet="abcd", max_size=5), max_size=60),
    batch=st.lists(st.text(alphabet="abcde", max_size=5), max_size=120),
    hint=st.integers(0, 8),
)
def test_failed_batch_restores_every_lookup(kernels, before, batch, hint):
    # Small tables wrap around and grow mid-batch; removing the staged keys
    # must leave every earlier string findable and every new one gone.
    it = kernels.interner.Interner(hint)
    keys = {s: k for s, k in zip(before, it.intern_many(before).tolist())}
    with pytest.raises(InternerTypeError):
        it.intern_many(batch + [0])
    assert len(it) == len(keys)
    for s in set(before) | set(batch):
        assert it.get(s) == keys.get(s), s
    # ...and the table still works for inserts afterwards.
    again = it.intern_many(batch).tolist()
    assert it.resolve_many(again) == batch


# -- no caller code under the lock ------------------------------------------


def test_error_messages_are_built_outside_the_lock(Interner):
    # Building an error message runs the caller's __repr__; if that ran while
    # the write lock is held, an intern from inside it would deadlock.
    it = Interner()

    class Sneaky:
        def __repr__(self):
            it.get_or_intern("from repr")
            return "Sneaky()"

    with pytest.raises(InternerTypeError, match=r"Sneaky\(\)"):
        it.intern_many(["a", Sneaky()])
    assert it.get("a") is None
    assert it.get("from repr") == 1

    class Loud(str):
        def __repr__(self):
            it.get_or_intern("from repr")
            return "Loud!"

    full = Interner(max_keys=1)
    it = full
    it.get_or_intern("from repr")
    with pytest.raises(InternerFullError, match="Loud!"):
        it.get_or_intern(Loud("new"))
    with pytest.raises(InternerFullError, match="Loud!"):
        it.intern_many(["from repr", Loud("new")])
    with pytest.raises(InternerEncodingError, match="Loud!"):
        it.intern_many([Loud("\ud800")])
    assert snapshot(it) == (1, ["from repr"])


def test_long_strings_and_length_boundaries(Interner):
    # Lengths around the one-byte length header, and strings longer than an
    # arena chunk (256 KiB), mixed with short ones.
    strings = [
        "a" * 254, "b" * 255, "c" * 256, "é" * 127, "é" * 128,
        "big1" + "x" * 300_000, "s1", "big2" + "😀" * 200_000, "s2", "z" * 262_144, "s3",
    ]
    it = Interner(0)
    keys = [it.get_or_intern(s) for s in strings]
    assert keys == list(range(1, len(strings) + 1))
    assert it.resolve_many(keys) == strings
    assert [it.get(s) for s in strings] == keys
    assert it.get("big1" + "x" * 299_999) is None
    batch = Interner(0)
    assert batch.intern_many(strings + strings[::-1]).tolist() == keys + keys[::-1]
    mu = it.memory_usage()
    assert mu["arena_used_bytes"] >= sum(len(s.encode()) for s in strings)
