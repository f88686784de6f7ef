"""Labels: //pkg:name, //:name, //pkg shorthand, :name relative; every refusal."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from zako.project.labels import Label, LabelError, check_target_name


@pytest.mark.parametrize(
    "text, package, expected",
    [
        ("//a/b:c", None, ("a/b", "c")),
        ("//:root", None, (".", "root")),
        ("//a/b", None, ("a/b", "b")),
        (":lib", "x/y", ("x/y", "lib")),
        (":lib", ".", (".", "lib")),
        ("//libs/core:core-v1.2+x_y", "other", ("libs/core", "core-v1.2+x_y")),
    ],
)
def test_parse(text, package, expected):
    label = Label.parse(text, package)
    assert (label.package, label.name) == expected


@pytest.mark.parametrize(
    "label, text",
    [(Label("a/b", "c"), "//a/b:c"), (Label(".", "r"), "//:r")],
)
def test_str(label, text):
    assert str(label) == text
    assert Label.parse(text) == label


@pytest.mark.parametrize(
    "text, package, fragment",
    [
        ("lib", "a", "invalid label 'lib'"),
        (":lib", None, "needs a current package"),
        ("//", None, "root package needs a name"),
        ("//a:b:c", None, "more than one ':'"),
        ("//a/../b:c", None, "invalid package"),
        ("//a//b:c", None, "invalid package"),
        ("//./a:c", None, "invalid package"),
        ("//a/:c", None, "invalid package"),
        ("//a:", None, "invalid target name ''"),
        ("//a:b c", None, "invalid target name 'b c'"),
        (":..", "a", "invalid target name '..'"),
        ("//a*b:c", None, "invalid package"),
        (42, None, "must be a string"),
    ],
)
def test_refusals_name_the_text(text, package, fragment):
    with pytest.raises(LabelError) as info:
        Label.parse(text, package)
    assert fragment in str(info.value)
    assert isinstance(info.value, ValueError)


def test_check_target_name():
    assert check_target_name("ok-1.2_x+y") == "ok-1.2_x+y"
    with pytest.raises(LabelError, match="'a/b'.*in BUILD.ts"):
        check_target_name("a/b", where="BUILD.ts")
    with pytest.raises(LabelError):
        check_target_name(None)


_part = st.from_regex(r"[a-z0-9_][a-z0-9_\-]{0,6}", fullmatch=True)
_name = st.from_regex(r"[A-Za-z0-9_+\-][A-Za-z0-9_.+\-]{0,8}", fullmatch=True)


@given(st.lists(_part, max_size=4), _name)
def test_round_trip(parts, name):
    package = "/".join(parts) or "."
    label = Label(package, name)
    assert Label.parse(str(label)) == label
    assert Label.parse(":" + name, package) == label
