"""``zako load --remote-cache grpc://...`` against a real buildgrid: two
machines share results, and a remote that is dead or hostile never changes
a load's result, costs it a bounded time, and is reported by exactly one
warning -- the gRPC twin of ``test_remote_faults.py``.

Faults buildgrid will not produce on demand come from
``buildgrid_server.ReapiProxy`` (forwarding to the real buildgrid) or
``BlackHole``; a refused connection is a port nothing listens on. Time
bounds are generous correctness bounds (local time + 10 s); speed is
measured in ``asv_benchmarks/bench_remote_grpc.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from buildgrid_server import INSTANCE, BlackHole, ReapiProxy, buildgrid, free_port  # noqa: F401
from zako.devtools import gentree

pytest.importorskip("grpc", reason="the zako[grpc] extra is not installed")

N = 8
TIMEOUT = 1.0  # --remote-timeout of every faulty run


def zako_load(tree: str, cache_dir: str, *extra: str) -> tuple[int, dict | None, str, float]:
    """``zako load --json`` in a subprocess: (exit code, JSON, stderr, seconds)."""
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "zako", "load", tree, "--json", "--cache-dir", cache_dir, *extra],
                          capture_output=True, text=True, timeout=180,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    elapsed = time.monotonic() - t0
    try:
        doc = json.loads(proc.stdout)
    except ValueError:
        doc = None
    return proc.returncode, doc, proc.stderr, elapsed


def warnings_in(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("WARNING")]


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("reapi") / "tree"
    # A seed of its own: no other test module fills buildgrid with these keys.
    gentree.generate(str(root), N, libraries=2, seed=1717)
    return str(root)


@pytest.fixture(scope="module")
def local(tree, tmp_path_factory):
    """The right answer and the time a cold local-only load takes."""
    code, doc, err, elapsed = zako_load(tree, str(tmp_path_factory.mktemp("local")))
    assert code == 0 and doc is not None, err
    assert doc["stats"]["evaluated"] == N + 1
    return {"packages": doc["packages"], "project": doc["project"], "seconds": elapsed}


@pytest.fixture(scope="module")
def filled(buildgrid, tree, local, tmp_path_factory):  # noqa: F811
    """Machine 1: a cold load that fills buildgrid with every entry of the tree."""
    code, doc, err, _ = zako_load(tree, str(tmp_path_factory.mktemp("machine1")), "--remote-cache", buildgrid.url)
    assert code == 0 and warnings_in(err) == [], err
    assert doc["packages"] == local["packages"]
    # One entry per script: a result that rides inline keeps its own entry local.
    assert doc["stats"]["remote_cache"] == f"0 hits, {N + 1} uploads"
    return buildgrid


@pytest.fixture(scope="module")
def blob_tree(tmp_path_factory):
    """Another tree (own keys on the shared server) whose results are kept
    out of line (``ZAKO_CACHE_INLINE_MAX=0``): result entries and blobs on
    buildgrid, for faults in blobs. Returns (tree, local answer)."""
    root = tmp_path_factory.mktemp("reapi-blobs") / "tree"
    gentree.generate(str(root), N, libraries=2, seed=1718)
    code, doc, err, elapsed = zako_load(str(root), str(tmp_path_factory.mktemp("local-blobs")))
    assert code == 0 and doc is not None, err
    return str(root), {"packages": doc["packages"], "project": doc["project"], "seconds": elapsed}


@pytest.fixture(scope="module")
def filled_blobs(buildgrid, blob_tree, tmp_path_factory):  # noqa: F811
    tree, local = blob_tree
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ZAKO_CACHE_INLINE_MAX", "0")
        code, doc, err, _ = zako_load(tree, str(tmp_path_factory.mktemp("machine1-blobs")),
                                      "--remote-cache", buildgrid.url)
    # Scripts both trees share may already be there: hits, then, through result entries and blobs.
    assert code == 0 and warnings_in(err) == [] and "uploads" in doc["stats"]["remote_cache"], err
    return buildgrid


def test_second_machine_evaluates_nothing(filled, tree, local, tmp_path):
    code, doc, err, _ = zako_load(tree, str(tmp_path / "machine2"), "--remote-cache", filled.url)
    assert code == 0 and warnings_in(err) == [], err
    assert doc["packages"] == local["packages"] and doc["project"] == local["project"]
    assert doc["stats"]["evaluated"] == 0 and doc["stats"]["cache_hits"] == N + 1
    # Its own second load is all local: the entries, blobs and SHA-256 map were kept.
    code, doc, err, _ = zako_load(tree, str(tmp_path / "machine2"), "--remote-cache", filled.url)
    assert code == 0 and warnings_in(err) == [], err
    assert doc["stats"]["evaluated"] == 0 and doc["stats"]["remote_hits"] == 0


def test_second_machine_repairs_a_lost_local_blob_from_the_remote(filled_blobs, blob_tree, tmp_path, monkeypatch):
    monkeypatch.setenv("ZAKO_CACHE_INLINE_MAX", "0")  # results inline in graph entries need no blob
    filled, (tree, local) = filled_blobs, blob_tree
    cache = tmp_path / "machine2"
    code, doc, err, _ = zako_load(tree, str(cache), "--remote-cache", filled.url)
    assert code == 0 and doc["stats"]["evaluated"] == 0, err
    for blob in (cache / "cas").rglob("*"):
        if blob.is_file():
            blob.unlink()  # only the persisted SHA-256 map can name them to the server now
    code, doc, err, _ = zako_load(tree, str(cache), "--remote-cache", filled.url)
    assert code == 0 and warnings_in(err) == [], err
    assert doc["packages"] == local["packages"] and doc["stats"]["evaluated"] == 0


def check_one_warning(local, tree, cache_dir, url, expect):
    code, doc, err, elapsed = zako_load(tree, cache_dir, "--remote-cache", url,
                                        "--remote-timeout", str(TIMEOUT), "--remote-flush-timeout", "3")
    assert code == 0, err
    assert doc["packages"] == local["packages"] and doc["project"] == local["project"]
    assert elapsed < local["seconds"] + 10, (elapsed, err)
    warnings = warnings_in(err)
    assert len(warnings) == 1, err
    assert f"remote cache {url}" in warnings[0] and expect in warnings[0], warnings[0]
    return doc, warnings[0]


def test_refused(local, tree, tmp_path):
    url = f"grpc://127.0.0.1:{free_port()}/{INSTANCE}"
    doc, warning = check_one_warning(local, tree, str(tmp_path / "c"), url, "UNAVAILABLE")
    assert doc["stats"]["evaluated"] == N + 1 and "switched off" in warning


def test_black_hole(local, tree, tmp_path):
    with BlackHole() as hole:
        doc, warning = check_one_warning(local, tree, str(tmp_path / "c"), hole.url,
                                         f"no complete answer within {TIMEOUT:.1f} s")
    assert doc["stats"]["evaluated"] == N + 1


@pytest.mark.parametrize("fault, expect", [("unavailable", "UNAVAILABLE (proxy: server restarting)"),
                                           ("exhausted", "RESOURCE_EXHAUSTED (proxy: quota exceeded)")])
def test_status_codes(fault, expect, buildgrid, local, tree, tmp_path):  # noqa: F811
    with ReapiProxy(buildgrid.target, fault) as proxy:
        doc, warning = check_one_warning(local, tree, str(tmp_path / "c"), proxy.url, expect)
        calls = proxy.calls
    assert doc["stats"]["evaluated"] == N + 1 and "switched off" in warning
    assert calls <= 6, calls  # the breaker stopped sending after a few


def test_server_killed_mid_cold_load(buildgrid, local, tree, tmp_path):  # noqa: F811
    # The first failure is a call cut in flight (CANCELLED) or refused (UNAVAILABLE), by timing.
    # Two calls pass (capabilities, the pack's pointer): what follows is cut,
    # whether it is the pack (the server may hold this tree from other tests)
    # or the lookups one by one.
    with ReapiProxy(buildgrid.target, "kill_after", kill_after=2) as proxy:
        check_one_warning(local, tree, str(tmp_path / "c"), proxy.url, "switched off for the rest of this load")


def test_server_killed_mid_warm_load(filled, local, tree, tmp_path):
    # Two calls pass (capabilities, the pack's pointer); the pack's own read
    # is cut, and every lookup after it finds the remote switched off.
    with ReapiProxy(filled.target, "kill_after", kill_after=2) as proxy:
        check_one_warning(local, tree, str(tmp_path / "c"), proxy.url, "switched off for the rest of this load")


def test_tampered_blobs_are_misses_with_one_warning(filled_blobs, blob_tree, tmp_path, monkeypatch):
    # Result blobs are read only when results are not inline (test_cache_inline.py: tampered inline results).
    monkeypatch.setenv("ZAKO_CACHE_INLINE_MAX", "0")
    filled, (tree, local) = filled_blobs, blob_tree
    with ReapiProxy(filled.target, "tamper") as proxy:
        doc, warning = check_one_warning(local, tree, str(tmp_path / "c"), proxy.url, "tampered")
    # Every result blob came back damaged (or was not asked for once the
    # breaker opened): each script was evaluated here instead.
    assert doc["stats"]["evaluated"] == N + 1


def test_header_values_never_appear_in_what_a_failing_load_prints(local, tree, tmp_path):
    canary = "canary-s3cr3t-7f3a"
    url = f"grpc://127.0.0.1:{free_port()}/{INSTANCE}"
    code, doc, err, _ = zako_load(tree, str(tmp_path / "c"), "--remote-cache", url, "--remote-timeout", "1",
                                  "--remote-header", f"Authorization=Bearer {canary}", "-v")
    assert code == 0 and len(warnings_in(err)) == 1, err
    assert canary not in err and canary not in json.dumps(doc)
