"""``zako load --stats-json FILE``: the summary's figures as JSON for dashboards.

The document must carry the figures the text summary prints (same values),
follow the schema documented in ``docs/cli.md`` (every key documented, no
undocumented key), and be written only where asked.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from zako.cli import main
from zako.project.report import STATS_SCHEMA

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = str(REPO / "examples" / "monorepo")


def load(capsys, tmp_path, *extra, name="stats.json"):
    out = tmp_path / name
    code = main(["load", EXAMPLE, "--cache-dir", str(tmp_path / "cache"), "--stats-json", str(out), *extra])
    text, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out.read_text()), text


def summary_fields(text):
    return dict(line.strip().split(None, 1) for line in text.splitlines()[1:] if "  " in line.strip())


def flat_keys(doc, prefix=""):
    for key, value in doc.items():
        if isinstance(value, dict):
            yield from flat_keys(value, f"{prefix}{key}.")
        else:
            yield prefix + key


def test_cold_then_warm_figures_match_the_summary(capsys, tmp_path):
    doc, text = load(capsys, tmp_path, name="cold.json")
    fields = summary_fields(text)
    assert doc["schema"] == STATS_SCHEMA == "zako.load.stats/1"
    assert doc["project"] == {"group": "com.example.shop", "artifact": "shop", "version": "2.3.0"}
    assert doc["ok"] is True and doc["errors"] == 0
    assert str(doc["packages"]) == fields["packages"] == "24"
    assert str(doc["targets"]) == fields["targets"]
    assert str(doc["source_files"]) == fields["source"].split()[-1]
    assert (doc["cache"]["hits"], doc["cache"]["scripts"], doc["cache"]["evaluated"]) == (0, 25, 25)
    assert f"{doc['cache']['hits']}/{doc['cache']['scripts']} scripts ({doc['cache']['evaluated']} evaluated)" in text
    assert f"{doc['time']['wall_s']:.2f} s" in text
    assert f"{doc['interner']['strings']} strings" in text
    assert doc["v8"]["peak_heap_bytes"] > 0 and doc["v8"]["heap_limit_bytes"] >= doc["v8"]["peak_heap_bytes"]
    assert doc["memory"]["peak_rss_bytes"] >= doc["memory"]["rss_bytes"] > 0
    assert doc["time"]["process_cpu_s"] > 0
    assert doc["cache"]["remote"] is None

    warm, text = load(capsys, tmp_path, name="warm.json")
    assert (warm["cache"]["hits"], warm["cache"]["evaluated"]) == (25, 0)
    assert warm["v8"]["peak_heap_bytes"] is None  # nothing evaluated: no figure, not 0
    assert "25/25 scripts (0 evaluated)" in text


def test_stats_json_works_with_json_and_quiet(capsys, tmp_path):
    doc, out = load(capsys, tmp_path, "--json")
    graph = json.loads(out)
    assert graph["stats"]["packages"] == doc["packages"] and graph["stats"]["targets"] == doc["targets"]
    quiet, out = load(capsys, tmp_path, "--quiet", name="quiet.json")
    assert out == "" and quiet["packages"] == 24


def test_every_key_is_documented_in_docs_cli(capsys, tmp_path):
    doc, _ = load(capsys, tmp_path)
    text = (REPO / "docs" / "cli.md").read_text()
    section = text[text.index("zako.load.stats/1"):]
    documented = set(re.findall(r"^\| `([a-z_.0-9]+)` \|", section, flags=re.M))
    assert documented == set(flat_keys(doc))


def test_missing_directory_is_a_usage_error_and_nothing_is_written(capsys, tmp_path):
    code = main(["load", EXAMPLE, "--cache-dir", str(tmp_path / "c"), "--stats-json", str(tmp_path / "no" / "s.json")])
    assert code == 2
    assert "--stats-json" in capsys.readouterr().err
    assert not (tmp_path / "no").exists()


def test_a_load_with_errors_under_keep_going_still_writes_its_figures(capsys, tmp_path):
    root = tmp_path / "proj"
    (root / "bad").mkdir(parents=True)
    (root / "zako.json").write_text('{"group": "g", "artifact": "a", "version": "1.0.0"}')
    (root / "BUILD.js").write_text('import { target } from "zako:build";\ntarget({ name: "ok", kind: "k" });\n')
    (root / "bad" / "BUILD.js").write_text('throw new Error("boom");\n')
    out = tmp_path / "s.json"
    code = main(["load", str(root), "-k", "--cache-dir", str(tmp_path / "c"), "--stats-json", str(out)])
    capsys.readouterr()
    assert code == 1
    doc = json.loads(out.read_text())
    assert doc["ok"] is False and doc["errors"] == 1 and doc["packages"] == 1
