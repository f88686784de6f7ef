"""Corrupt local cache entries are dropped and recomputed -- and ``zako load -v``
says so once per load, with the count."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from zako.devtools import gentree


def zako_load(tree: str, cache_dir: str, *extra: str) -> tuple[int, dict, str]:
    proc = subprocess.run([sys.executable, "-m", "zako", "load", tree, "--json", "--cache-dir", cache_dir, *extra],
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    return proc.returncode, json.loads(proc.stdout), proc.stderr


def files_under(path: str) -> list[str]:
    return sorted(os.path.join(d, n) for d, _, names in os.walk(path) for n in names)


def test_corrupt_local_entries_are_counted_once_per_load(tmp_path, monkeypatch):
    # Damaged result blobs are read only when results are not inline in
    # their graph entries (tests/test_cache_inline.py covers that path).
    monkeypatch.setenv("ZAKO_CACHE_INLINE_MAX", "0")
    tree = str(tmp_path / "tree")
    gentree.generate(tree, 4, libraries=2)
    cache = str(tmp_path / "cache")
    code, first, err = zako_load(tree, cache)
    assert code == 0, err

    def damage_blobs(n: int) -> None:
        for path in files_under(os.path.join(cache, "cas"))[:n]:  # flip one byte: same size, other content
            data = bytearray(open(path, "rb").read())
            data[len(data) // 2] ^= 0x01
            open(path, "wb").write(bytes(data))

    def repair_lines(err: str) -> list[str]:
        return [line for line in err.splitlines() if "repaired" in line]

    damage_blobs(2)
    code, quiet, err = zako_load(tree, cache)
    assert code == 0 and quiet["packages"] == first["packages"], err
    assert quiet["stats"]["evaluated"] == 2
    assert repair_lines(err) == []  # INFO: only with -v

    damage_blobs(2)
    code, loud, err = zako_load(tree, cache, "-v")
    assert code == 0 and loud["packages"] == first["packages"], err
    assert repair_lines(err) == ["INFO zako.cache: repaired 2 corrupt local cache entries (2 blobs): "
                                 "each was dropped and treated as a miss"], err

    open(files_under(os.path.join(cache, "ac"))[0], "wb").close()  # a zeroed entry
    code, loud, err = zako_load(tree, cache, "-v")
    assert code == 0 and loud["packages"] == first["packages"] and loud["stats"]["evaluated"] == 1, err
    assert repair_lines(err) == ["INFO zako.cache: repaired 1 corrupt local cache entry (1 action-cache entry): "
                                 "each was dropped and treated as a miss"], err

    code, again, err = zako_load(tree, cache, "-v")
    assert code == 0 and again["stats"]["evaluated"] == 0
    assert repair_lines(err) == []
