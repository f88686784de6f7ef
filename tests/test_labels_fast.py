"""The memoized label paths of a load give exactly what ``Label`` gives,
refusals included (same exception type and message)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from zako.project.labels import Label, LabelError, label_text, target_label_text

_part = st.sampled_from(["a", "b", "lib", "x.y", "", ".", "..", "a b", "a:", "a*", "C:", "é", "a.", "-x"])
_text = st.one_of(
    st.builds(lambda parts, name: "//" + "/".join(parts) + (":" + name if name is not None else ""),
              st.lists(_part, max_size=3), st.one_of(st.none(), _part)),
    st.builds(lambda name: ":" + name, _part),
    _part,
    st.text(max_size=12),
    st.sampled_from([None, 3, ["//a:b"]]),
)
_package = st.one_of(st.sampled_from([".", "", "a", "a/b", "a//b", "../a", "a/.", "x y", "p:q"]), st.text(max_size=6))


def _outcome(fn, *args):
    try:
        return "ok", fn(*args)
    except LabelError as e:
        return "error", str(e)


@settings(max_examples=800, deadline=None)
@given(_text, _package)
def test_label_text_is_label_parse(text, package):
    assert _outcome(label_text, text, package) == _outcome(lambda t, p: str(Label.parse(t, p)), text, package)
    # twice: the second answer may come from the memo
    assert _outcome(label_text, text, package) == _outcome(lambda t, p: str(Label.parse(t, p)), text, package)


@settings(max_examples=500, deadline=None)
@given(_package, st.one_of(_part, st.text(max_size=8), st.sampled_from([None, 1, ""])))
def test_target_label_text_is_label(package, name):
    for _ in range(2):
        assert _outcome(target_label_text, package, name) == _outcome(lambda p, n: str(Label(p, n)), package, name)


@pytest.mark.parametrize("text, package, expected", [
    ("//a/b", "x", "//a/b:b"), (":y", ".", "//:y"), (":y", "", "//:y"), (":y", "a/b", "//a/b:y"), ("//:r", "q", "//:r"),
])
def test_examples(text, package, expected):
    assert label_text(text, package) == expected
