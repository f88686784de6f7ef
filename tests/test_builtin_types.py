"""The builtins' ``.d.ts`` files against a real TypeScript compiler: Debian's
``tsc`` must accept the example monorepo and the original-shaped fixtures
(``tsc --noEmit``) and must reject a misuse (so the declarations are really
in force, not ``any``). No tsc: skipped, except under ``CI=true``."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
INDEX = REPO / "zako" / "v8" / "builtins" / "index.d.ts"
SOURCES = [REPO / "examples" / "monorepo", REPO / "tests" / "fixtures" / "original_log_version",
           REPO / "tests" / "fixtures" / "original_new_project"]


@pytest.fixture(scope="module")
def tsc():
    exe = shutil.which("tsc")
    if exe is None:
        if os.environ.get("CI") == "true":
            pytest.fail("tsc is not installed (CI installs Debian's node-typescript)")
        pytest.skip("tsc is not installed (apt-get install node-typescript)")
    out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=60).stdout
    major, minor = (int(x) for x in re.search(r"(\d+)\.(\d+)", out).groups())
    return exe, (major, minor)


def shimmed_copy(src: Path, dst: Path, version: tuple[int, int]) -> None:
    """``src`` copied to ``dst`` with the two spellings TypeScript learned
    after 4.8 written the older way: import attributes (``with``, 5.3) as
    import assertions, and ``.ts`` import paths (5.0) as ``.js`` (which tsc
    resolves to the ``.ts`` file, as zako's loader does). Types are untouched."""
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("node_modules"))
    for path in dst.rglob("*.ts"):
        text = path.read_text()
        if version < (5, 3):
            text = text.replace('with { type: "json" }', 'assert { type: "json" }')
        if version < (5, 0):
            text = re.sub(r'(from\s+"\.{1,2}/[^"]*)\.ts"', r'\1.js"', text)
        path.write_text(text)


def check(tsc, root: Path) -> subprocess.CompletedProcess:
    exe, _ = tsc
    config = {
        "compilerOptions": {
            "strict": True, "noEmit": True, "target": "ES2022", "module": "ESNext", "moduleResolution": "node",
            "lib": ["ES2022"], "types": [], "resolveJsonModule": True, "allowSyntheticDefaultImports": True,
            "allowJs": True, "checkJs": False,
        },
        "include": ["**/*.ts", str(INDEX)],
    }
    (root / "tsconfig.json").write_text(json.dumps(config))
    return subprocess.run([exe, "-p", str(root)], capture_output=True, text=True, timeout=300, cwd=root)


def test_examples_and_fixtures_type_check(tsc, tmp_path):
    for src in SOURCES:
        shimmed_copy(src, tmp_path / src.name, tsc[1])
    proc = check(tsc, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert len(list(tmp_path.rglob("*.ts"))) > 25  # the monorepo's and both fixtures' scripts were in scope


MISUSES = [
    ('import { newProject } from "zako:package";\nnewProject({ version: 1 });\n', 2, "TS2322"),
    ('import { project } from "zako:package";\nproject().addBuild("x");\n', 2, "TS2339"),
    ('import { requireZakoVersion } from "zako:core";\nrequireZakoVersion(3);\n', 2, "TS2345"),
    ('import { name } from "zako:context";\nconst n: "nope" = name;\n', 2, "TS2322"),
    ('import { console } from "zako:console";\nconsole.table([]);\n', 2, "TS2339"),
    ('import { version } from "zako:core";\nconst v: string = version;\n', 2, "TS2322"),
    ('import { nothing } from "zako:project";\nnothing;\n', 1, "TS2614"),
]


def test_misuse_is_a_type_error(tsc, tmp_path):
    # One compiler run for every case (tsc's start-up is most of its time);
    # each case in its own module, so each must produce its own error.
    for i, (source, _, _) in enumerate(MISUSES):
        (tmp_path / f"case{i}.ts").write_text(source)
    proc = check(tsc, tmp_path)
    assert proc.returncode != 0
    errors = sorted(re.findall(r"^case(\d+)\.ts\((\d+),\d+\): error (TS\d+): ", proc.stdout, re.MULTILINE))
    assert errors == sorted((str(i), str(line), code) for i, (_, line, code) in enumerate(MISUSES)), proc.stdout
