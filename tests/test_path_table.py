"""PathTable: paths as (parent id, segment key) pairs over an interner."""

from __future__ import annotations

import random

import numpy as np
import pytest

from zako.exceptions import InvalidFormatError, PathIsAbsoluteError
from zako.intern import Interner
from zako.path import NeutralPath
from zako.path_table import PathTable


def generated_tree(files: int, seed: int) -> list[str]:
    """Seeded monorepo-like file paths: recurring names in nested packages, unique names, Unicode, ``..``."""
    rng = random.Random(seed)
    names = ["BUILD.ts", "index.ts", "main.c", "util.h", "README.md", ".gitignore", "..foo", "データ.json"]
    out = []
    for i in range(files):
        depth = rng.randint(0, 5)
        dirs = [f"d{rng.randint(0, 6)}" for _ in range(depth)]
        if rng.random() < 0.05:
            dirs = [".."] * rng.randint(1, 2) + dirs
        name = rng.choice(names) if rng.random() < 0.5 else f"file_{i}.ts"
        out.append("/".join(dirs + [name]))
    return out


@pytest.mark.parametrize("order", ["tree", "shuffled"])
def test_round_trips_every_path_of_a_generated_tree(order):
    paths = generated_tree(5000, seed=7)
    if order == "tree":
        paths.sort()
    interner = Interner()
    table = PathTable(interner, capacity_hint=16)  # small: growth and rehash are exercised
    ids = [table.add(NeutralPath(p)) for p in paths]
    for node, text in zip(ids, paths):
        assert str(table.resolve(node)) == text
        assert table.get(NeutralPath(text)) == node
    # Adding again hands out the same ids and stores nothing new.
    size = len(table)
    assert [table.add(p) for p in paths] == ids
    assert len(table) == size
    # Every directory prefix is stored once: the table holds exactly the distinct prefixes.
    prefixes = {"."}
    for p in paths:
        parts = p.split("/")
        prefixes.update("/".join(parts[:k]) for k in range(1, len(parts) + 1))
    assert size == len(prefixes)
    assert {str(table.resolve(i)) for i in range(size)} == prefixes


def test_parent_and_children_walk_the_tree():
    paths = generated_tree(2000, seed=11)
    table = PathTable(Interner())
    for p in paths:
        table.add(p)
    assert table.parent(0) is None
    seen = 0
    stack = [0]
    while stack:
        node = stack.pop()
        seen += 1
        kids = table.children(node)
        assert kids == sorted(kids)
        for kid in kids:
            assert table.parent(kid) == node
            assert table.resolve(kid).parent() == table.resolve(node) or str(table.resolve(kid)).endswith("..")
        stack.extend(kids)
    assert seen == len(table)  # every path is reachable from the root exactly once


def test_small_table_by_hand():
    interner = Interner()
    table = PathTable(interner)
    assert len(table) == 1 and table.resolve(0) is NeutralPath.dot()
    c = table.add("a/b/c.txt")
    assert len(table) == 4
    b = table.parent(c)
    a = table.parent(b)
    assert str(table.resolve(b)) == "a/b" and str(table.resolve(a)) == "a" and table.parent(a) == 0
    assert table.children(0) == [a] and table.children(a) == [b] and table.children(b) == [c]
    assert table.children(c) == []
    d = table.add(NeutralPath("a/d"))
    assert table.children(a) == [b, d]
    assert table.add(".") == 0 and table.get(".") == 0
    up = table.add("../x")
    assert str(table.resolve(up)) == "../x" and str(table.resolve(table.parent(up))) == ".."
    assert table.get("a/zzz") is None and table.get("q") is None
    assert "a/b" in table and NeutralPath("a") in table and "nope" not in table and 3 not in table
    # Part strings are interned once each, not per path.
    assert interner.get("a") is not None and interner.get("a/b") is None


def test_invalid_input_and_ids():
    table = PathTable(Interner())
    table.add("a")
    with pytest.raises(PathIsAbsoluteError):
        table.add("/a")
    with pytest.raises(InvalidFormatError):
        table.add("a/con")
    assert len(table) == 2  # nothing added by a failed call
    for bad in (-1, 2, 10**12):
        with pytest.raises(IndexError) as info:
            table.resolve(bad)
        assert repr(bad) in str(info.value)
    with pytest.raises(TypeError):
        table.parent("0")
    with pytest.raises(TypeError):
        table.children(True)
    assert str(table.resolve(np.uint32(1))) == "a"


def test_memory_usage_counts_arrays():
    table = PathTable(Interner(), capacity_hint=16)
    for p in generated_tree(3000, seed=3):
        table.add(p)
    usage = table.memory_usage()
    assert usage["paths"] == len(table)
    assert usage["total_bytes"] == usage["pair_bytes"] + usage["index_bytes"]
    # 8 bytes of pairs per path at least; the table's slack at most doubles each array.
    assert 8 * len(table) <= usage["pair_bytes"] <= 16 * len(table)
    assert 8 * len(table) <= usage["index_bytes"] <= 32 * len(table)
    assert usage["bytes_per_path"] == usage["total_bytes"] / len(table)
