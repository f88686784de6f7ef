"""``canonical_json`` (one shared encoder) gives exactly ``json.dumps`` with
the canonical options: cache keys and interned attribute texts depend on it."""

from __future__ import annotations

import json

from hypothesis import given, settings, strategies as st

from zako.project.model import canonical_json

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(_json)
def test_same_text_as_dumps(value):
    assert canonical_json(value) == json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def test_non_json_values_use_str():
    assert canonical_json({"b": {1}, "a": b"x"}) == '{"a":"b\'x\'","b":"{1}"}'
