"""``--isolation=realm`` (the default) and ``--isolation=isolate`` give the
same ``zako load --json`` graph: on the bundled example and on a generated
tree, compared byte for byte once the run's own measurements (``stats``:
wall time, RSS, heap) are set aside."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from zako.cli import main

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "monorepo"


def load_json(capsys, root: Path, isolation: str, jobs: int) -> str:
    code = main(["load", str(root), "--json", "--no-cache", "--isolation", isolation, "--jobs", str(jobs)])
    out, err = capsys.readouterr()
    assert code == 0, err
    doc = json.loads(out)
    doc.pop("stats")
    return json.dumps(doc, indent=2, sort_keys=True)


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("gen") / "tree"
    subprocess.run([sys.executable, "-m", "zako.devtools.gentree", "--packages", "150", str(out)],
                   check=True, capture_output=True, timeout=120)
    return out


@pytest.mark.parametrize("tree", ["example", "generated"])
def test_realm_and_isolate_give_identical_graphs(capsys, tree, generated):
    root = EXAMPLE if tree == "example" else generated
    realm = load_json(capsys, root, "realm", jobs=2)
    isolate = load_json(capsys, root, "isolate", jobs=2)
    assert realm == isolate
    assert json.loads(realm)["packages"]  # a graph, not two empty answers
    # The worker count changes which realm serves which script; never the answer.
    assert load_json(capsys, root, "realm", jobs=1) == realm
