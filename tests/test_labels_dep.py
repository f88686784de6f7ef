"""``@dep//pkg:name`` labels: a target of a declared dependency."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zako.project.labels import Label, LabelError, check_label_syntax, label_text, split_repo

repos = st.from_regex(r"[A-Za-z_\-][A-Za-z0-9_\-]{0,8}", fullmatch=True)
parts = st.from_regex(r"[a-z0-9_]{1,6}", fullmatch=True)
packages = st.lists(parts, min_size=0, max_size=3).map(lambda p: "/".join(p) or ".")
names = st.from_regex(r"[A-Za-z0-9_+\-]{1,8}", fullmatch=True)


@settings(max_examples=60, deadline=None)
@given(repos, packages, names)
def test_round_trip(repo, package, name):
    label = Label(package, name, repo)
    text = str(label)
    assert text.startswith(f"@{repo}//")
    assert Label.parse(text) == label
    assert label_text(text, "elsewhere") == text  # a dependency's label is absolute wherever it is written
    assert split_repo(text) == (repo, str(Label(package, name)))


def test_forms():
    assert str(Label.parse("@lib//a/b:c")) == "@lib//a/b:c"
    assert Label.parse("@lib//a/b") == Label("a/b", "b", "lib")
    assert Label.parse("@lib//:x") == Label(".", "x", "lib")
    assert Label.parse("@é-x//:y").repo == "é-x"
    assert Label.parse("//a:b").repo == "" and Label.parse("//a:b") != Label.parse("@r//a:b")
    assert check_label_syntax("@r//a:b") == "@r//a:b"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("@//a:b", "invalid dependency name '' in label '@//a:b'"),
        ("@1x//a:b", "invalid dependency name '1x'"),
        ("@a.b//a:b", "invalid dependency name 'a.b'"),
        ("@lib", "invalid label '@lib': write '@dep//pkg/path:name'"),
        ("@lib:x", "invalid label '@lib:x'"),
        ("@lib//../a:b", "invalid package '../a'"),
        ("@lib//a:b:c", "more than one ':'"),
        ("@lib//:", "invalid target name ''"),
    ],
)
def test_refusals(text, message):
    with pytest.raises(LabelError, match=None) as info:
        Label.parse(text)
    assert message in str(info.value)


def test_config_label_needs_a_full_label():
    with pytest.raises(LabelError, match="relative label ':x' needs a current package"):
        check_label_syntax(":x")
