"""``zako load --trace FILE``: a Chrome trace-event / Perfetto JSON of the load.

The file must be valid trace-event JSON whose slices nest per track, with
one track per V8 worker holding a slice per evaluation, slices for cache
lookups, glob expansion and packages, resource-pool waits as async pairs,
and counters for workers, queued jobs and RSS. ``validate_events`` is the
nesting checker; its own tests show it rejects what it must.
"""

from __future__ import annotations

import collections
import json
from pathlib import Path

import pytest

from nginx_server import nginx_server  # noqa: F401  (pytest fixture)
from zako import trace
from zako.cli import main
from zako.global_state import GlobalState

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = str(REPO / "examples" / "monorepo")


def load_trace(tmp_path, *extra, name="t.json", cache="cache"):
    out = tmp_path / name
    code = main(["load", EXAMPLE, "--cache-dir", str(tmp_path / cache), "--trace", str(out), "-q", *extra])
    assert code == 0
    doc = json.loads(out.read_text())
    assert set(doc) >= {"traceEvents", "displayTimeUnit"}
    return doc["traceEvents"]


def thread_names(events):
    return {e["tid"]: e["args"]["name"] for e in events if e["ph"] == "M" and e["name"] == "thread_name"}


def test_cold_load_trace_is_valid_and_has_every_kind_of_event(tmp_path):
    events = load_trace(tmp_path, "--jobs", "2")
    assert trace.validate_events(events) == []
    names = thread_names(events)
    evals = [e for e in events if e["ph"] == "X" and e["cat"] == "eval"]
    # 24 build files and the package script, each evaluated once on a V8 worker's track
    scripts = [e["args"]["script"] for e in evals]
    assert len(scripts) == 25 == len(set(scripts)) and {"zako.ts", "BUILD.ts"} <= set(scripts)
    for e in evals:
        assert names[e["tid"]].startswith("zako-worker-zako-v8"), names[e["tid"]]
        assert e["args"]["cache"] == "miss"
        assert isinstance(e["args"]["heap_after_bytes"], int) and e["args"]["heap_after_bytes"] > 0
        assert e["args"]["package"] == (e["args"]["script"].rpartition("/")[0] or ".")
        assert e["name"] == "eval " + e["args"]["script"]
    packages = [e for e in events if e["ph"] == "X" and e["cat"] == "package"]
    assert len(packages) == 24 and {e["args"]["cache"] for e in packages} == {"miss"}
    lookups = [e for e in events if e["ph"] == "X" and e["cat"] == "cache" and e["name"] == "cache lookup"]
    assert len(lookups) == 25 and not any(e["args"]["hit"] for e in lookups)
    assert any(e["ph"] == "X" and e["cat"] == "glob" for e in events)
    # one resource-pool wait per V8 job, each begun and ended under one id
    waits = collections.Counter((e["ph"], e["id"]) for e in events if e.get("cat") == "resource")
    begun = {i for ph, i in waits if ph == "b"}
    assert len(begun) == 25 and begun == {i for ph, i in waits if ph == "e"}
    counters = {e["name"]: e["args"] for e in events if e["ph"] == "C"}
    assert set(counters) >= {"workers", "jobs", "memory"}
    assert counters["memory"]["rss_bytes"] > 0 and "live" in counters["workers"] and "queued" in counters["jobs"]
    # the glob spans sit inside their package's slice on the loader's track
    loader = {e["tid"] for e in packages}
    assert {e["tid"] for e in events if e.get("cat") == "glob"} <= loader


def test_warm_load_trace_shows_hits_and_no_evaluation(tmp_path):
    load_trace(tmp_path, name="cold.json")
    events = load_trace(tmp_path, name="warm.json")
    assert trace.validate_events(events) == []
    assert not [e for e in events if e.get("cat") == "eval"]
    packages = [e for e in events if e["ph"] == "X" and e["cat"] == "package"]
    assert len(packages) == 24 and {e["args"]["cache"] for e in packages} == {"hit"}
    # A hit is one slice: its lookup's time and its glob expansions are its
    # args. Only the package script's lookup, which no package slice
    # reports, stays a slice of its own.
    lookups = [e for e in events if e.get("name") == "cache lookup"]
    assert [(e["args"]["script"], e["args"]["hit"]) for e in lookups] == [("zako.ts", True)]
    assert not [e for e in events if e.get("cat") == "glob"]
    assert all(e["args"]["lookup_us"] >= 0 for e in packages)
    assert sum(e["args"].get("globs", 0) for e in packages) > 0


def test_no_cache_evaluations_say_the_cache_is_off(tmp_path):
    events = load_trace(tmp_path, "--no-cache")
    evals = [e for e in events if e.get("cat") == "eval"]
    assert len(evals) == 25 and {e["args"]["cache"] for e in evals} == {"off"}
    assert trace.current().enabled is False


def test_recorder_is_off_outside_a_recording_and_one_at_a_time(tmp_path):
    assert trace.current() is trace.current() and trace.current().enabled is False
    assert trace.span("x", "y").__enter__() is None  # the shared no-op span
    with trace.recording(tmp_path / "a.json") as rec:
        assert trace.current() is rec
        with pytest.raises(RuntimeError, match="already being recorded"):
            with trace.recording(tmp_path / "b.json"):
                pass
        with trace.span("outer", "test"):
            with trace.span("inner", "test", {"k": 1}):
                pass
    assert trace.current().enabled is False
    events = json.loads((tmp_path / "a.json").read_text())["traceEvents"]
    xs = {e["name"]: e for e in events if e["ph"] == "X"}
    assert xs["inner"]["args"] == {"k": 1}
    assert xs["outer"]["ts"] <= xs["inner"]["ts"]
    assert xs["inner"]["ts"] + xs["inner"]["dur"] <= xs["outer"]["ts"] + xs["outer"]["dur"]
    assert not (tmp_path / "b.json").exists()


def test_a_trace_is_written_when_the_load_fails(tmp_path):
    root = tmp_path / "proj"
    root.mkdir()
    (root / "zako.json").write_text('{"group": "g", "artifact": "a", "version": "1.0.0"}')
    (root / "BUILD.js").write_text('throw new Error("boom");\n')
    out = tmp_path / "t.json"
    code = main(["load", str(root), "--cache-dir", str(tmp_path / "c"), "--trace", str(out), "-q"])
    assert code == 1
    events = json.loads(out.read_text())["traceEvents"]
    assert trace.validate_events(events) == []
    assert [e["args"]["script"] for e in events if e.get("cat") == "eval"] == ["BUILD.js"]


def test_trace_into_a_missing_directory_is_a_usage_error(tmp_path, capsys):
    code = main(["load", EXAMPLE, "--cache-dir", str(tmp_path / "c"), "--trace", str(tmp_path / "no" / "t.json")])
    assert code == 2
    assert "--trace" in capsys.readouterr().err


def test_library_loads_can_be_traced_too(tmp_path):
    with GlobalState(cache_dir=tmp_path / "c", jobs=1) as state:
        with trace.recording(tmp_path / "t.json", pools={"v8": state.v8_pool.stats}):
            result = state.load(EXAMPLE)
    assert result.ok
    events = json.loads((tmp_path / "t.json").read_text())["traceEvents"]
    assert trace.validate_events(events) == []
    assert len([e for e in events if e.get("cat") == "eval"]) == 25


def test_remote_requests_are_slices_of_the_thread_that_made_them(tmp_path, nginx_server):  # noqa: F811
    import uuid

    from zako.devtools import gentree

    tree = tmp_path / "tree"
    gentree.generate(str(tree), 6, libraries=2)
    url = f"{nginx_server.url}/{uuid.uuid4().hex}"
    out = tmp_path / "t.json"
    assert main(["load", str(tree), "--cache-dir", str(tmp_path / "c1"), "--remote-cache", url, "-q"]) == 0
    # A second machine: empty local cache, every result from the remote.
    assert main(["load", str(tree), "--cache-dir", str(tmp_path / "c2"), "--remote-cache", url, "-q",
                 "--trace", str(out)]) == 0
    events = json.loads(out.read_text())["traceEvents"]
    assert trace.validate_events(events) == []
    remote = [e for e in events if e.get("cat") == "remote"]
    assert remote and all(e["ph"] == "X" and e["name"].split()[0] in ("GET", "HEAD", "PUT") for e in remote)
    assert any(e["name"] == "GET action-cache read" for e in remote)
    assert all(e["args"]["path"].startswith(("/ac/", "/cas/")) for e in remote)
    assert not [e for e in events if e.get("cat") == "eval"]  # all hits


# --- the checker itself ------------------------------------------------------


def ev(name, ts, dur, tid=1, ph="X"):
    return {"name": name, "ph": ph, "ts": ts, "dur": dur, "pid": 1, "tid": tid}


def test_validate_accepts_nested_and_sibling_slices():
    assert trace.validate_events([ev("a", 0, 10), ev("b", 1, 3), ev("c", 4, 6), ev("d", 10, 5)]) == []
    # the same interval twice nests (zero-length and equal spans are legal)
    assert trace.validate_events([ev("a", 0, 10), ev("b", 0, 10), ev("z", 3, 0)]) == []


def test_validate_rejects_overlap_on_one_track_only():
    problems = trace.validate_events([ev("a", 0, 10), ev("b", 5, 10)])
    assert len(problems) == 1 and "'b'" in problems[0] and "'a'" in problems[0]
    assert trace.validate_events([ev("a", 0, 10, tid=1), ev("b", 5, 10, tid=2)]) == []


def test_validate_checks_begin_end_pairs_and_fields():
    be = [{"name": "a", "ph": "B", "ts": 0, "pid": 1, "tid": 1}, {"name": "b", "ph": "B", "ts": 1, "pid": 1, "tid": 1},
          {"name": "b", "ph": "E", "ts": 2, "pid": 1, "tid": 1}, {"name": "a", "ph": "E", "ts": 3, "pid": 1, "tid": 1}]
    assert trace.validate_events(be) == []
    assert trace.validate_events(be[:3]) == ["track (1, 1): B 'a' never ended"]
    assert trace.validate_events([{"name": "a", "ph": "E", "ts": 0, "pid": 1, "tid": 1}]) != []
    assert trace.validate_events([{"name": "a", "ph": "Q", "ts": 0, "pid": 1, "tid": 1}]) != []
    assert trace.validate_events([ev("a", -1, 1)]) != []
    assert trace.validate_events([{"name": "w", "ph": "b", "ts": 0, "pid": 1, "tid": 1}]) != []
