"""Fast paths of a warm load give what the general code gives."""

from __future__ import annotations

from hypothesis import given, settings, strategies as st

from zako.project import load as load_mod

_loc = st.text(alphabet="ab/.:() \t\n1234567890\u0663", max_size=14)


@settings(max_examples=500, deadline=None)
@given(_loc)
def test_parse_location_fast_path_agrees_with_the_frame_regex(location):
    m = load_mod._FRAME.search(location)
    expected = (m.group(1), int(m.group(2))) if m else (None, None)
    assert load_mod._parse_location(location) == expected


def test_parse_location_examples():
    assert load_mod._parse_location("pkgs/a/BUILD.ts:12") == ("pkgs/a/BUILD.ts", 12)
    assert load_mod._parse_location("at x (pkgs/a/BUILD.ts:3:7)") == ("pkgs/a/BUILD.ts", 3)
    assert load_mod._parse_location(None) == (None, None)
