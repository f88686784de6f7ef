"""``--remote-cache`` against a real nginx (Bazel HTTP cache protocol):
results stored by one machine are hits on another with an empty local
cache; a tampered or unreachable remote never breaks a load."""

from __future__ import annotations

import json
import os
import socket
import uuid

import pytest

from nginx_server import nginx_server  # noqa: F401  (pytest fixture)
from zako.cli import main
from zako.devtools import gentree

N = 10


@pytest.fixture
def tree(tmp_path):
    root = tmp_path / "tree"
    gentree.generate(str(root), N, libraries=3)
    return str(root)


@pytest.fixture
def remote(nginx_server):  # noqa: F811
    # A fresh prefix per test: the session's server is shared with other tests.
    prefix = uuid.uuid4().hex
    return f"{nginx_server.url}/{prefix}", nginx_server.data_dir / prefix


def load_json(capsys, *argv):
    code = main(["load", *argv, "--json"])
    out, err = capsys.readouterr()
    return code, json.loads(out), err


def test_second_machine_gets_hits_from_the_remote(tmp_path, capsys, tree, remote):
    url, data_dir = remote
    code, first, err = load_json(capsys, tree, "--cache-dir", str(tmp_path / "machine-a"), "--remote-cache", url)
    assert code == 0, err
    assert first["stats"]["evaluated"] == N + 1 and first["stats"]["cache_hits"] == 0
    # the Bazel layout on the server: /ac/<hex> entries and /cas/<hex> blobs
    # one graph entry per script (a result inline in it keeps its own entry
    # local), and the pointer to the pack of them all
    assert len(os.listdir(data_dir / "ac")) == N + 2
    assert len(os.listdir(data_dir / "cas")) >= 1

    code, second, err = load_json(capsys, tree, "--cache-dir", str(tmp_path / "machine-b"), "--remote-cache", url)
    assert code == 0, err
    assert second["stats"]["evaluated"] == 0
    assert second["stats"]["cache_hits"] == N + 1
    assert second["stats"]["remote_hits"] == N + 1  # one graph entry per script, its result inline
    assert second["packages"] == first["packages"] and second["project"] == first["project"]

    # machine B now holds everything locally: a third run needs no remote
    code, third, _ = load_json(capsys, tree, "--cache-dir", str(tmp_path / "machine-b"))
    assert third["stats"]["cache_hits"] == N + 1
    # and a machine without the remote starts from nothing
    code, cold, _ = load_json(capsys, tree, "--cache-dir", str(tmp_path / "machine-c"))
    assert cold["stats"]["evaluated"] == N + 1


def test_tampered_remote_blobs_are_misses_not_wrong_results(tmp_path, capsys, tree, remote, monkeypatch):
    # Result blobs are read only when results are not inline (test_cache_inline.py: tampered inline results).
    monkeypatch.setenv("ZAKO_CACHE_INLINE_MAX", "0")
    url, data_dir = remote
    code, first, _ = load_json(capsys, tree, "--cache-dir", str(tmp_path / "a"), "--remote-cache", url)
    assert code == 0
    for name in os.listdir(data_dir / "cas"):
        (data_dir / "cas" / name).write_bytes(b'{"targets": [], "project": []}')
    code, second, err = load_json(capsys, tree, "--cache-dir", str(tmp_path / "b"), "--remote-cache", url)
    assert code == 0, err
    assert second["stats"]["evaluated"] == N + 1  # every blob failed verification
    assert second["packages"] == first["packages"]


def test_unreachable_remote_does_not_fail_the_load(tmp_path, capsys, tree):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again when the block ends: nothing listens
    code, doc, err = load_json(capsys, tree, "--cache-dir", str(tmp_path / "a"), "--remote-cache", f"http://127.0.0.1:{port}")
    assert code == 0
    assert doc["stats"]["evaluated"] == N + 1
    assert "Connection refused" in doc["stats"]["remote_cache"], doc["stats"]["remote_cache"]


def test_bad_remote_url_is_a_usage_error(tmp_path, capsys, tree):
    assert main(["load", tree, "--cache-dir", str(tmp_path / "a"), "--remote-cache", "ftp://x"]) == 2
    assert "http" in capsys.readouterr().err
