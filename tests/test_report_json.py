"""``write_json`` writes exactly ``json.dumps(doc, indent=2,
ensure_ascii=False)`` plus a newline, streaming packages one at a time."""

from __future__ import annotations

import io
import json

import pytest
from hypothesis import given, settings, strategies as st

from zako.devtools import gentree
from zako.global_state import GlobalState
from zako.project import report
from zako.project.report import write_json

_key = st.one_of(st.text(max_size=4), st.integers(), st.floats(), st.booleans(), st.none())
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=6),
    lambda children: st.lists(children, max_size=4) | st.tuples(children, children)
    | st.dictionaries(_key, children, max_size=4) | st.lists(st.text(max_size=3), max_size=4),
    max_leaves=25,
)


@settings(max_examples=500, deadline=None)
@given(_json, st.integers(min_value=1, max_value=5))
def test_value_text_equals_dumps(value, batch):
    buf = io.StringIO()
    out = report._Pieces(buf, batch)
    report._write_value(value, 1, out)
    out.flush()
    assert buf.getvalue() == json.dumps(value, indent=2, ensure_ascii=False)


@pytest.mark.parametrize("value, message", [
    ({"a": {1, 2}}, "Object of type set is not JSON serializable"),
    ({(1,): 1}, "keys must be str, int, float, bool or None, not tuple"),
])
def test_refusals_are_dumps_refusals(value, message):
    with pytest.raises(TypeError, match=message):
        json.dumps(value, indent=2, ensure_ascii=False)
    with pytest.raises(TypeError, match=message):
        report._write_value(value, 1, report._Pieces(io.StringIO(), 10))


def _normalized(text):
    doc = json.loads(text)
    doc["stats"]["peak_rss_bytes"] = 0
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


@pytest.mark.parametrize("keep_going_error", [False, True])
def test_load_document_equals_dumps(tmp_path, keep_going_error):
    root = tmp_path / "tree"
    gentree.generate(str(root), 12, libraries=2)
    if keep_going_error:
        (root / "broken").mkdir()
        (root / "broken" / "BUILD.ts").write_text('import { target } from "zako:build";\ntarget({ name: "x", deps: ["nope"] });\n')
    with GlobalState(cache_dir=tmp_path / "cache", jobs=1) as s:
        result = s.load(str(root), keep_going=True)
        assert bool(result.problems) == keep_going_error
        for batch in (1, 7, 4096):
            buf = io.StringIO()
            write_json(result, s.interner, buf, batch=batch)
            text = buf.getvalue()
            doc = result.to_json(s.interner)
            assert text.endswith("}\n") and json.loads(text)["stats"]["peak_rss_bytes"] >= doc["stats"]["peak_rss_bytes"]
            assert _normalized(text) == _normalized(json.dumps(doc, indent=2, ensure_ascii=False))
            # byte for byte, not only as parsed: the peak is the one figure allowed to move
            doc["stats"]["peak_rss_bytes"] = json.loads(text)["stats"]["peak_rss_bytes"]
            assert text == json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def test_empty_result_document():
    from zako.project.model import LoadResult

    result = LoadResult("/r", {}, [], [], {})
    buf = io.StringIO()
    write_json(result, None, buf)
    assert buf.getvalue() == json.dumps(result.to_json(None), indent=2, ensure_ascii=False) + "\n"
