"""Generate a synthetic zako project: ``python -m zako.devtools.gentree --packages N OUT``.

The tree looks like a real monorepo scaled up: a ``zako.toml`` manifest, a
package script ``zako.ts`` reading ``zako:project``, a handful of shared
libraries under ``build_defs/`` (TypeScript and JavaScript, one importing a
JSON file), and ``N`` packages spread over nested groups. Packages
alternate ``BUILD.ts`` and ``BUILD.js``, use ``glob`` with excludes over
real source files, and depend on earlier packages (so every dep resolves)
and on their own targets with ``:name``.

Package ``i`` imports library ``i % libraries`` (plus the shared
``common.ts``), so a test can edit one library and know exactly which
packages must be evaluated again: ``packages_importing(n, k, libraries)``.
Everything is derived from ``seed``; the same arguments give the same tree.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys

__all__ = ["generate", "package_path", "library_file", "packages_importing", "main"]

FILES_PER_PACKAGE = 3
GROUP_SIZE = 50


def package_path(i: int) -> str:
    """Root-relative path of package ``i``."""
    return f"pkgs/g{i // GROUP_SIZE:03d}/p{i:05d}"


def library_file(k: int) -> str:
    """Root-relative path of library ``k`` (even: TypeScript, odd: JavaScript)."""
    return f"build_defs/lib{k:02d}.{'ts' if k % 2 == 0 else 'js'}"


def packages_importing(n: int, k: int, libraries: int) -> list[str]:
    """Paths of the generated packages that import library ``k``."""
    return [package_path(i) for i in range(n) if i % libraries == k]


def _write(path: str, text: str) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)


_LIB_TS = """\
// Shared build definitions, variant {k}.
import {{ defaults, withDefaults }} from "./common.ts";

export const VARIANT: number = {k};

export interface LibrarySpec {{
  name: string;
  srcs: unknown;
  deps?: string[];
}}

export function library(spec: LibrarySpec) {{
  return withDefaults({{ kind: "ts_library", ...spec }}, {{ variant: VARIANT, strict: defaults.strict }});
}}

export function test(name: string, srcs: unknown, deps: string[]) {{
  return withDefaults({{ name, kind: "ts_test", srcs, deps }}, {{ variant: VARIANT, timeout: "short" }});
}}
"""

_LIB_JS = """\
// Shared build definitions, variant {k} (plain JavaScript).
import {{ defaults, withDefaults }} from "./common.ts";

export const VARIANT = {k};

export function library(spec) {{
  return withDefaults({{ kind: "js_library", ...spec }}, {{ variant: VARIANT, strict: defaults.strict }});
}}

export function test(name, srcs, deps) {{
  return withDefaults({{ name, kind: "js_test", srcs, deps }}, {{ variant: VARIANT, timeout: "short" }});
}}
"""

_COMMON_TS = """\
// Defaults every generated package shares.
import toolchain from "./toolchain.json" with { type: "json" };

export const defaults = { strict: true, target: toolchain.target as string };

export function withDefaults(spec: Record<string, unknown>, attrs: Record<string, unknown>) {
  const merged = { ...(spec.attrs as Record<string, unknown> | undefined), ...attrs, target: defaults.target };
  return { ...spec, attrs: merged };
}
"""

_BUILD = """\
import {{ target, glob }} from "zako:build";
import {{ library, test }} from "{lib}";

target(library({{
  name: "lib",
  srcs: glob(["src/**/*.{ext}"], {{ exclude: ["src/**/*.test.{ext}"] }}),
  deps: [{deps}],
}}));

target(test("test", glob(["src/**/*.test.{ext}"]), [":lib"]));
"""


def generate(out: str, packages: int, *, libraries: int = 8, seed: int = 0) -> dict:
    """Write a project with ``packages`` packages under ``out`` (created).

    Returns a summary dict (packages, libraries, files). Raises
    ``ValueError`` for ``packages < 1`` or ``libraries < 1``, and
    ``FileExistsError`` if ``out`` already holds a manifest.
    """
    if packages < 1 or libraries < 1:
        raise ValueError(f"need packages >= 1 and libraries >= 1, got {packages}, {libraries}")
    if os.path.exists(os.path.join(out, "zako.toml")):
        raise FileExistsError(f"{out!r} already holds a zako.toml: generate into an empty directory")
    rng = random.Random(seed)
    files = 0
    _write(
        os.path.join(out, "zako.toml"),
        f'group = "com.example.synthetic"\nartifact = "tree-{packages}"\nversion = "1.0.0"\n'
        f'description = "synthetic tree, {packages} packages"\n\n[options]\nseed = {seed}\n',
    )
    _write(
        os.path.join(out, "zako.ts"),
        'import { project } from "zako:project";\n\n'
        "// The package script may refine what the manifest says.\n"
        "project({ description: `${project.artifact} (${project.version}), generated` });\n",
    )
    _write(os.path.join(out, "build_defs", "toolchain.json"), json.dumps({"target": "es2022", "seed": seed}) + "\n")
    _write(os.path.join(out, "build_defs", "common.ts"), _COMMON_TS)
    files += 4
    for k in range(libraries):
        template = _LIB_TS if k % 2 == 0 else _LIB_JS
        _write(os.path.join(out, library_file(k)), template.format(k=k))
        files += 1
    for i in range(packages):
        rel = package_path(i)
        pdir = os.path.join(out, *rel.split("/"))
        ext = "ts" if i % 2 == 0 else "js"
        lib_rel = os.path.relpath(os.path.join(out, library_file(i % libraries)), pdir).replace(os.sep, "/")
        deps = []
        if i > 0:
            for j in sorted({rng.randrange(i) for _ in range(min(i, 3))}):
                deps.append(f'"//{package_path(j)}:lib"')
        build = _BUILD.format(lib=lib_rel, ext=ext, deps=", ".join(deps))
        _write(os.path.join(pdir, f"BUILD.{ext}"), build)
        for f in range(FILES_PER_PACKAGE):
            _write(os.path.join(pdir, "src", f"m{f}.{ext}"), f"export const m{f} = {i * 10 + f};\n")
        _write(os.path.join(pdir, "src", f"m0.test.{ext}"), f"import {{ m0 }} from './m0';\nif (m0 !== {i * 10}) throw new Error();\n")
        files += FILES_PER_PACKAGE + 2
    return {"packages": packages, "libraries": libraries, "files": files}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m zako.devtools.gentree",
        description="Generate a synthetic zako project tree for tests and benchmarks.",
    )
    parser.add_argument("--packages", type=int, required=True, help="number of packages (>= 1)")
    parser.add_argument("--libraries", type=int, default=8, help="shared libraries under build_defs/ (default 8)")
    parser.add_argument("--seed", type=int, default=0, help="random seed for the dependency graph (default 0)")
    parser.add_argument("out", help="output directory (created; must not hold a zako.toml)")
    args = parser.parse_args(argv)
    try:
        summary = generate(args.out, args.packages, libraries=args.libraries, seed=args.seed)
    except (ValueError, FileExistsError) as e:
        print(f"gentree: {e}", file=sys.stderr)
        return 2
    print(f"wrote {summary['packages']} packages, {summary['libraries']} libraries, {summary['files']} files to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
