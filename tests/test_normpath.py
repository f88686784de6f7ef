"""Contract tests of the normpath kernel (DESIGN.md section 2), on both implementations."""

from __future__ import annotations

import posixpath

import pytest

from zako.exceptions import (
    EmptyPathError,
    InvalidCharacterError,
    InvalidFormatError,
    PathError,
    PathIsAbsoluteError,
)


@pytest.fixture
def np_(kernels):
    return kernels.normpath


@pytest.mark.parametrize(
    "text, expected",
    [
        ("a", "a"),
        ("a/b", "a/b"),
        ("a\\b", "a/b"),
        ("a\\b/c\\d", "a/b/c/d"),
        ("a//b", "a/b"),
        ("a/b/", "a/b"),
        ("a\\\\b\\", "a/b"),
        ("./a", "a"),
        ("a/./b/.", "a/b"),
        (".", "."),
        ("./", "."),
        ("./.\\.", "."),
        ("a/..", "."),
        ("a/b/..", "a"),
        ("..", ".."),
        ("../..", "../.."),
        ("..\\..\\a", "../../a"),
        ("a/../..", ".."),
        ("a/../../b", "../b"),
        ("a/b/../../../c", "../c"),
        ("../a/../..", "../.."),
        ("..foo", "..foo"),
        ("..foo/..", "."),
        ("a/..foo", "a/..foo"),
        (".bashrc", ".bashrc"),
        ("x/.bashrc/..", "x"),
        ("é/ü", "é/ü"),
        ("日本語/テスト\\ファイル.ts", "日本語/テスト/ファイル.ts"),
        ("é/../x", "x"),
        ("😀/./a", "😀/a"),
        ("a b/c d", "a b/c d"),
        ("CONSOLE/COM10/LPT0/comx/con_", "CONSOLE/COM10/LPT0/comx/con_"),
        ("aux1", "aux1"),
        ("x.con", "x.con"),
        ("ÇON", "ÇON"),
        ("a\x7fb", "a\x7fb"),
        ("a\x80b", "a\x80b"),
    ],
)
def test_normalize(np_, text, expected):
    assert np_.normalize(text) == expected
    assert np_.normalize(text, check=False) == expected


def test_result_is_a_canonical_str(np_):
    # A result that dropped every non-ASCII part must equal and hash like an ASCII literal.
    out = np_.normalize("日本/../abc")
    assert type(out) is str and out == "abc" and hash(out) == hash("abc") and out.isascii()
    assert np_.normalize("a\\x") + "" == "a/x"


@pytest.mark.parametrize("bad", [None, 1, b"a/b", ["a"]])
def test_non_str_is_type_error(np_, bad):
    with pytest.raises(TypeError):
        np_.normalize(bad)


def test_str_subclass_is_accepted_as_its_text(np_):
    class S(str):
        def __str__(self):
            return "other"

    out = np_.normalize(S("a//b"))
    assert out == "a/b" and type(out) is str
    assert type(np_.normalize(S("a/b"))) is str


def test_empty(np_):
    with pytest.raises(EmptyPathError):
        np_.normalize("")
    with pytest.raises(EmptyPathError):
        np_.normalize("", check=False)


@pytest.mark.parametrize(
    "text", ["/", "/a", "\\a", "\\\\server\\share", "//server/share", "C:", "c:\\x", "C:/x", "C:x", "z:", "Z:a/b"]
)
def test_absolute(np_, text):
    with pytest.raises(PathIsAbsoluteError) as info:
        np_.normalize(text)
    assert repr(text) in str(info.value)
    with pytest.raises(PathIsAbsoluteError):
        np_.normalize(text, check=False)


@pytest.mark.parametrize("text", ["1:a", "é:a", "ab:c", "a/C:"])
def test_colon_without_drive_letter_is_a_character_error(np_, text):
    with pytest.raises(InvalidCharacterError):
        np_.normalize(text)


@pytest.mark.parametrize("ch", list("<>:\"|?*'`$") + [chr(c) for c in range(0x20)])
def test_forbidden_characters(np_, ch):
    text = f"ok/a{ch}b/c"
    with pytest.raises(InvalidCharacterError) as info:
        np_.normalize(text)
    msg = str(info.value)
    assert repr(f"a{ch}b") in msg and repr(text) in msg
    # check=False skips name checks but still folds.
    assert np_.normalize(f"x/../a{ch}b//c", check=False) == f"a{ch}b/c"


@pytest.mark.parametrize("part", ["a.", "a ", "...", ".. ", ". ", "a.b.", "x  ", "é."])
def test_trailing_space_or_dot(np_, part):
    text = f"d/{part}/e"
    with pytest.raises(InvalidFormatError) as info:
        np_.normalize(text)
    assert repr(part) in str(info.value) and repr(text) in str(info.value)


RESERVED = ["CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10)),
            "COM\u00b9", "COM\u00b2", "COM\u00b3", "LPT\u00b9", "LPT\u00b2", "LPT\u00b3"]


@pytest.mark.parametrize("stem", RESERVED)
@pytest.mark.parametrize("variant", [str.upper, str.lower, str.title])
def test_reserved_stems(np_, stem, variant):
    for name in (variant(stem), variant(stem) + ".txt", variant(stem) + ".tar.gz"):
        with pytest.raises(InvalidFormatError) as info:
            np_.normalize(f"src/{name}")
        assert repr(name) in str(info.value)


def test_reserved_checks_ascii_case_only(np_):
    # U+0131 (dotless i) and U+017F (long s) upper-case to ASCII letters; not reserved.
    assert np_.normalize("ſon") == "ſon"  # not CON/SON either way
    assert np_.normalize("con\u0131") == "con\u0131"
    assert np_.normalize("COM0") == "COM0"


def test_every_part_met_is_checked_even_if_folded_away(np_):
    with pytest.raises(InvalidFormatError):
        np_.normalize("con/../a")
    with pytest.raises(InvalidCharacterError):
        np_.normalize("a|b/..")
    assert np_.normalize("con/../a", check=False) == "a"


def test_first_invalid_part_in_text_order_wins(np_):
    with pytest.raises(InvalidFormatError):
        np_.normalize("a./b|c")
    with pytest.raises(InvalidCharacterError):
        np_.normalize("b|c/a.")


def test_errors_are_path_and_value_errors(np_):
    for text, cls in [("", EmptyPathError), ("/x", PathIsAbsoluteError), ("a?", InvalidCharacterError),
                      ("nul", InvalidFormatError)]:
        with pytest.raises(cls) as info:
            np_.normalize(text)
        assert isinstance(info.value, PathError) and isinstance(info.value, ValueError)


def test_long_paths(np_):
    # More parts than any fixed scratch buffer the compiled kernel keeps on its stack.
    parts = [f"d{i}" for i in range(500)]
    text = "./" + "\\".join(parts) + "/../x"
    assert np_.normalize(text) == "/".join(parts[:-1] + ["x"])
    assert np_.normalize("/".join([".."] * 300)) == "/".join([".."] * 300)
    assert np_.normalize("é/" * 200 + "..") == "/".join(["é"] * 199)
    assert np_.normalize("日\\" * 500 + "..") == "/".join(["日"] * 499)
    assert np_.normalize("😀//" * 500 + "./x") == "/".join(["😀"] * 500 + ["x"])
    with pytest.raises(InvalidCharacterError) as info:
        np_.normalize("日/" * 500 + "a|b")
    assert "'a|b'" in str(info.value)


def test_normalize_many(np_):
    texts = ["a//b", ".", "x\\y", "a/../.."]
    assert np_.normalize_many(texts) == [np_.normalize(t) for t in texts]
    assert np_.normalize_many(iter(texts)) == ["a/b", ".", "x/y", ".."]
    assert np_.normalize_many([]) == []
    with pytest.raises(InvalidFormatError):
        np_.normalize_many(["a", "b.", "c"])


@pytest.mark.parametrize(
    "from_, to, expected",
    [
        (".", "a", "a"),
        ("a", ".", ".."),
        (".", ".", "."),
        ("a", "a", "."),
        ("a", "a/b/c", "b/c"),
        ("a/b", "a/c", "../c"),
        ("a/b", "c/d", "../../c/d"),
        ("a", "../b", "../../b"),
        ("..", "../a", "a"),
        ("..", "../../a", "../a"),
        (".", "..", ".."),
        ("..", "..", "."),
        ("a/b/c", "a", "../.."),
        ("..foo", "..foo/x", "x"),
        ("..foo", ".", ".."),
        ("a\\b", "a/./c", "../c"),
    ],
)
def test_relative(np_, from_, to, expected):
    assert np_.relative(from_, to) == expected


@pytest.mark.parametrize("from_, to", [("../a", "b"), ("..", "a"), ("..", "."), ("../..", ".."), ("a/../..", "x")])
def test_relative_inexpressible(np_, from_, to):
    assert np_.relative(from_, to) is None


def test_relative_matches_relpath_below_the_start(np_):
    pairs = [("a/b", "a/b/c"), ("x", "y/z"), ("a/b/c", "a/d"), (".", "q/r")]
    for f, t in pairs:
        assert np_.relative(f, t) == posixpath.relpath(t, f)


def test_relative_validates(np_):
    with pytest.raises(PathIsAbsoluteError):
        np_.relative("/a", "b")
    with pytest.raises(InvalidFormatError):
        np_.relative("a", "con")


@pytest.mark.parametrize(
    "path, dir_, expected",
    [
        ("a", "a", True),
        ("a/b", "a", True),
        ("a/b/c", "a/b", True),
        ("a", ".", True),
        (".", ".", True),
        ("ab", "a", False),
        ("a", "a/b", False),
        ("..", ".", False),
        ("../a", ".", False),
        ("..foo", ".", True),
        ("..foo", "..", False),
        ("..foo/x", "..foo", True),
        ("../a", "..", True),
        ("..", "..", True),
        ("../..", "..", False),
        ("a", "..", False),
        ("x/./y\\z", "x//y", True),
    ],
)
def test_is_in_dir(np_, path, dir_, expected):
    assert np_.is_in_dir(path, dir_) is expected


def test_is_in_dir_validates(np_):
    with pytest.raises(EmptyPathError):
        np_.is_in_dir("", "a")
    with pytest.raises(PathIsAbsoluteError):
        np_.is_in_dir("a", "C:\\")
