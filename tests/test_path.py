"""NeutralPath, InternedNeutralPath, InternedAbsolutePath (DESIGN.md section 2).

The front runs on whichever kernel set ``zako._impl`` selected; the suite
runs once per set (default and ``ZAKO_PURE=1``).
"""

from __future__ import annotations

import copy
import os
import pathlib
import pickle
import posixpath

import pytest

from zako.exceptions import (
    EmptyPathError,
    InvalidCharacterError,
    InvalidFormatError,
    PathError,
    PathIsAbsoluteError,
    UnknownKeyError,
)
from zako.intern import Interner
from zako.path import InternedAbsolutePath, InternedNeutralPath, NeutralPath, is_absolute_path

P = NeutralPath


def test_construction_normalizes_and_validates():
    assert str(P("a\\b//./c/..")) == "a/b"
    assert str(P("./")) == "."
    for text, cls in [("", EmptyPathError), ("/a", PathIsAbsoluteError), ("C:\\a", PathIsAbsoluteError),
                      ("\\\\srv\\share", PathIsAbsoluteError), ("a*b", InvalidCharacterError),
                      ("a/b.", InvalidFormatError), ("Lpt3.log", InvalidFormatError)]:
        with pytest.raises(cls):
            P(text)
    with pytest.raises(TypeError):
        P(3)


def test_error_message_names_part_and_input():
    with pytest.raises(InvalidCharacterError) as info:
        P("src/we?rd/x.ts")
    assert "'we?rd'" in str(info.value) and "'src/we?rd/x.ts'" in str(info.value)


def test_from_path():
    assert P.from_path("a\\b\\c.txt") == P("a/b/c.txt")
    assert P.from_path(pathlib.PurePosixPath("x/y")) == P("x/y")
    assert P.from_path(pathlib.PureWindowsPath("x\\y")) == P("x/y")
    with pytest.raises(PathIsAbsoluteError):
        P.from_path(pathlib.PurePosixPath("/abs"))
    with pytest.raises(TypeError):
        P.from_path(b"a/b")


def test_value_semantics():
    a, a2, b = P("a/b"), P("a//b"), P("a/c")
    assert a == a2 and hash(a) == hash(a2) and a != b
    assert len({a, a2, b}) == 2
    assert P(a) is a
    # Equal only to another NeutralPath: never to its text.
    assert a != "a/b" and not (a == "a/b") and "a/b" != a
    assert {a: 1}.get("a/b") is None
    with pytest.raises(TypeError):
        a < "b"  # noqa: B015
    with pytest.raises(AttributeError):
        a._text = "x"
    with pytest.raises(AttributeError):
        a.other = 1
    with pytest.raises(AttributeError):
        del a._text
    assert str(a) == "a/b" and repr(a) == "NeutralPath('a/b')"
    assert pickle.loads(pickle.dumps(a)) == a and copy.deepcopy(a) == a


def test_ordering_follows_text():
    texts = ["b", "a/b", "a", "a-b", "..", ".", "../a", "é", "A"]
    paths = [P(t) for t in texts]
    assert [str(p) for p in sorted(paths)] == sorted(texts)
    assert P("a") < P("b") <= P("b") and P("b") > P("a") >= P("a")


def test_dot_is_shared():
    assert P.dot() is P.dot()
    assert str(P.dot()) == "." and P.dot() == P("a/..")
    assert P("a").parent() is P.dot()


@pytest.mark.parametrize(
    "text, parent",
    [("a", "."), ("a/b", "a"), ("a/b/c", "a/b"), (".", ".."), ("..", "../.."), ("../..", "../../.."),
     ("../a", ".."), ("..foo", "."), ("..foo/x", "..foo")],
)
def test_parent(text, parent):
    assert P(text).parent() == P(parent)


@pytest.mark.parametrize(
    "text, name, ext",
    [("a", "a", None), ("a/b.txt", "b.txt", "txt"), ("x/archive.tar.gz", "archive.tar.gz", "gz"),
     (".bashrc", ".bashrc", None), ("d/.bashrc", ".bashrc", None), (".bashrc.bak", ".bashrc.bak", "bak"),
     ("..foo", "..foo", "foo"), ("../x.c", "x.c", "c"), (".", None, None), ("..", None, None),
     ("../..", None, None), ("日本/データ.json", "データ.json", "json")],
)
def test_filename_and_extname(text, name, ext):
    p = P(text)
    assert p.filename() == name
    assert p.extname() == ext


@pytest.mark.parametrize(
    "base, part, expected",
    [("a/b", "../../../c", "../c"), ("a/b", "c", "a/b/c"), (".", "x", "x"), ("x", ".", "x"),
     ("a", "..", "."), ("..", "..", "../.."), ("a", "..foo", "a/..foo"), ("a", "b\\c//d", "a/b/c/d"),
     ("..", "../x", "../../x"), ("a/b", "../c", "a/c"), ("é", "ü/..", "é")],
)
def test_join(base, part, expected):
    assert P(base).join(part) == P(expected)
    assert P(base).join(P(part)) == P(expected)
    assert P(base) / part == P(expected)
    assert str(P(base).join(part)) == posixpath.normpath(f"{base}/{part}".replace("\\", "/"))


def test_join_refuses_absolute_and_invalid_parts():
    a = P("a")
    for part, cls in [("/x", PathIsAbsoluteError), ("\\x", PathIsAbsoluteError), ("D:x", PathIsAbsoluteError),
                      ("\\\\s\\h", PathIsAbsoluteError), ("", EmptyPathError), ("b|c", InvalidCharacterError),
                      ("nul", InvalidFormatError)]:
        with pytest.raises(cls) as info:
            a.join(part)
        assert repr(part) in str(info.value)


def test_join_all():
    assert P("a").join_all(["b", "..", "c\\d", P("e")]) == P("a/c/d/e")
    assert P("a").join_all([]) == P("a")
    assert P(".").join_all(iter(["..", "..", "x"])) == P("../../x")
    with pytest.raises(InvalidFormatError):
        P("a").join_all(["b", "c.", "d"])


@pytest.mark.parametrize(
    "base, other, expected",
    [(".", "a", "a"), ("a", ".", ".."), ("a", "a", "."), ("a", "a/b/c", "b/c"), ("a/b", "a/c", "../c"),
     ("x/y", "z", "../../z"), ("..", "../q", "q"), ("a", "../b", "../../b"), ("..foo", "..foo/x", "x")],
)
def test_relative_to(base, other, expected):
    rel = P(base).relative_to(P(other))
    assert rel == P(expected)
    assert P(base).join(rel) == P(other)
    assert P(base).relative_to(other) == rel  # text is accepted too


@pytest.mark.parametrize("base, other", [("../a", "b"), ("..", "a"), ("../..", "..")])
def test_relative_to_inexpressible(base, other):
    assert P(base).relative_to(P(other)) is None


def test_relative_to_like_relpath():
    for base, other in [("a/b/c", "a/d/e"), ("a", "b"), ("p/q", "p/q/r/s")]:
        assert str(P(base).relative_to(P(other))) == posixpath.relpath(other, base)


@pytest.mark.parametrize(
    "path, dir_, inside",
    [("a", "a", True), ("a/b", "a", True), ("ab", "a", False), ("a", "a/b", False), ("a", ".", True),
     (".", ".", True), ("..", ".", False), ("..foo", ".", True), ("..foo", "..", False), ("../a", "..", True),
     ("..foo/bar", "..foo", True), ("..foobar", "..foo", False)],
)
def test_is_in_dir(path, dir_, inside):
    assert P(path).is_in_dir(P(dir_)) is inside
    assert P(path).is_in_dir(dir_) is inside


def test_parts():
    assert P(".").parts == ()
    assert P("../a/b").parts == ("..", "a", "b")


# -- interned paths -------------------------------------------------------------


def test_intern_roundtrip():
    interner = Interner()
    p = P("src\\lib/../main.ts")
    key = p.intern(interner)
    assert isinstance(key, InternedNeutralPath) and isinstance(key, int) and key >= 1
    assert key.resolve(interner) == "src/main.ts"
    assert interner.resolve(int(key)) == "src/main.ts"
    back = key.unintern(interner)
    assert isinstance(back, NeutralPath) and back == p
    assert P("src/main.ts").intern(interner) == key  # same text, same key
    assert InternedNeutralPath.new("src//main.ts", interner) == key
    assert hash(key) == hash(int(key)) and repr(key) == f"InternedNeutralPath({int(key)})"


def test_interned_neutral_path_refuses_bad_keys():
    with pytest.raises(ValueError):
        InternedNeutralPath(0)
    with pytest.raises(TypeError):
        InternedNeutralPath("1")
    interner = Interner()
    with pytest.raises(UnknownKeyError):
        InternedNeutralPath(99).resolve(interner)
    # A key of a string that is not a normalized neutral path does not unintern.
    for text in ["a//b", "/abs", "con"]:
        key = InternedNeutralPath(interner.get_or_intern(text))
        with pytest.raises(PathError) as info:
            key.unintern(interner)
        assert repr(text) in str(info.value)


@pytest.mark.parametrize(
    "text",
    ["/", "/usr/lib", "//net/x", "C:\\", "c:\\Windows\\x", "D:/data", "\\\\server\\share", "\\\\server\\share\\dir",
     "\\\\?\\C:\\long", "/ünïcode/日本"],
)
def test_interned_absolute_path_accepts_absolute(text):
    interner = Interner()
    assert is_absolute_path(text)
    key = InternedAbsolutePath.new(text, interner)
    assert isinstance(key, InternedAbsolutePath) and isinstance(key, int)
    assert key.resolve(interner) == text and key.unintern(interner) == text
    assert InternedAbsolutePath.from_interned(int(key), interner) == key
    assert type(InternedAbsolutePath.from_interned(int(key), interner)) is InternedAbsolutePath


@pytest.mark.parametrize("text", ["rel", "a/b", ".", "..", "C:", "C:rel", "\\rooted", "\\\\server", "\\\\server\\"])
def test_interned_absolute_path_refuses_relative(text):
    interner = Interner()
    assert not is_absolute_path(text)
    with pytest.raises(PathError) as info:
        InternedAbsolutePath.new(text, interner)
    assert repr(text) in str(info.value)
    assert text not in interner  # a failed call interns nothing
    key = interner.get_or_intern(text)
    assert InternedAbsolutePath.from_interned(key, interner) is None


def test_interned_absolute_path_misc():
    interner = Interner()
    with pytest.raises(EmptyPathError):
        InternedAbsolutePath.new("", interner)
    with pytest.raises(TypeError):
        InternedAbsolutePath.new(b"/x", interner)
    key = InternedAbsolutePath.new(pathlib.PurePosixPath("/x/y"), interner)
    assert key.resolve(interner) == "/x/y"
    here = os.path.abspath(".")
    assert InternedAbsolutePath.new(here, interner).resolve(interner) == here
    with pytest.raises(UnknownKeyError):
        InternedAbsolutePath.from_interned(12345, interner)
    with pytest.raises(ValueError):
        InternedAbsolutePath(0)
