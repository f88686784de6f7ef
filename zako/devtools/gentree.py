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

``generate_bazel`` (CLI ``--bazel DIR``) writes the same tree as a Bazel
workspace, so the two tools can be timed on equal work: one ``BUILD`` per
package with the same targets, globs and deps, and the libraries as ``.bzl``
files that each ``BUILD`` ``load()``s the way its ``BUILD.ts`` imports the
TypeScript library. The target kinds are Starlark rules named like zako's
kinds (``ts_library``, ``js_test``...), so ``bazel query //... --output
label_kind`` and ``zako load --json`` describe the same graph.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys

__all__ = [
    "generate",
    "generate_bazel",
    "package_path",
    "library_file",
    "bazel_library_file",
    "packages_importing",
    "main",
]

FILES_PER_PACKAGE = 3
GROUP_SIZE = 50


def package_path(i: int) -> str:
    """Root-relative path of package ``i``."""
    return f"pkgs/g{i // GROUP_SIZE:03d}/p{i:05d}"


def library_file(k: int) -> str:
    """Root-relative path of library ``k`` (even: TypeScript, odd: JavaScript)."""
    return f"build_defs/lib{k:02d}.{'ts' if k % 2 == 0 else 'js'}"


def bazel_library_file(k: int) -> str:
    """Root-relative path of the Starlark twin of library ``k``."""
    return f"build_defs/lib{k:02d}.bzl"


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


def _plan(packages: int, seed: int):
    """``(i, ext, deps)`` per package, deps as full labels of earlier packages.

    Both writers draw from this one generator so a zako tree and a Bazel
    workspace made with the same arguments have the same graph."""
    rng = random.Random(seed)
    for i in range(packages):
        deps = []
        if i > 0:
            for j in sorted({rng.randrange(i) for _ in range(min(i, 3))}):
                deps.append(f"//{package_path(j)}:lib")
        yield i, ("ts" if i % 2 == 0 else "js"), deps


def _write_sources(pdir: str, i: int, ext: str) -> int:
    for f in range(FILES_PER_PACKAGE):
        _write(os.path.join(pdir, "src", f"m{f}.{ext}"), f"export const m{f} = {i * 10 + f};\n")
    _write(os.path.join(pdir, "src", f"m0.test.{ext}"), f"import {{ m0 }} from './m0';\nif (m0 !== {i * 10}) throw new Error();\n")
    return FILES_PER_PACKAGE + 1


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
    for i, ext, deps in _plan(packages, seed):
        rel = package_path(i)
        pdir = os.path.join(out, *rel.split("/"))
        lib_rel = os.path.relpath(os.path.join(out, library_file(i % libraries)), pdir).replace(os.sep, "/")
        build = _BUILD.format(lib=lib_rel, ext=ext, deps=", ".join(f'"{d}"' for d in deps))
        _write(os.path.join(pdir, f"BUILD.{ext}"), build)
        files += 1 + _write_sources(pdir, i, ext)
    return {"packages": packages, "libraries": libraries, "files": files}


# --- the Bazel twin ----------------------------------------------------------------

_BZL_TOOLCHAIN = """\
# Mirrors toolchain.json: a BUILD file cannot read JSON while loading, so the
# values are a Starlark constant.
TOOLCHAIN = {{"target": "es2022", "seed": {seed}}}
"""

_BZL_COMMON = """\
# Defaults every generated package shares (twin of common.ts).
load(":toolchain.bzl", "TOOLCHAIN")

defaults = struct(strict = True, target = TOOLCHAIN["target"])

def with_defaults(spec, attrs):
    # Same merge order as common.ts: the spec's own attrs, then the library's,
    # then the toolchain target. Bazel rules take attributes flat, so the
    # merged attrs become keyword arguments instead of a nested dict.
    merged = dict(spec.pop("attrs", {}))
    merged.update(attrs)
    merged["target"] = defaults.target
    spec.update(merged)
    return spec
"""

# Rule classes named after zako's target kinds, so `--output label_kind`
# reads like zako's JSON. Their implementations only matter for `bazel
# build`; a query never runs them.
_BZL_RULES = """\
# One rule class per target kind of the zako tree.

def _library_impl(ctx):
    transitive = [dep[DefaultInfo].files for dep in ctx.attr.deps]
    return [DefaultInfo(files = depset(ctx.files.srcs, transitive = transitive))]

def _test_impl(ctx):
    script = ctx.actions.declare_file(ctx.label.name + ".sh")
    ctx.actions.write(script, "#!/bin/sh\\nexit 0\\n", is_executable = True)
    return [DefaultInfo(executable = script, runfiles = ctx.runfiles(files = ctx.files.srcs))]

_LIBRARY_ATTRS = {
    "srcs": attr.label_list(allow_files = True),
    "deps": attr.label_list(),
    "strict": attr.bool(),
    "target": attr.string(),
    "variant": attr.int(),
}

# Tests take `timeout` from Bazel's own test attribute.
_TEST_ATTRS = {
    "srcs": attr.label_list(allow_files = True),
    "deps": attr.label_list(),
    "target": attr.string(),
    "variant": attr.int(),
}

ts_library = rule(implementation = _library_impl, attrs = _LIBRARY_ATTRS)
js_library = rule(implementation = _library_impl, attrs = _LIBRARY_ATTRS)
ts_test = rule(implementation = _test_impl, attrs = _TEST_ATTRS, test = True)
js_test = rule(implementation = _test_impl, attrs = _TEST_ATTRS, test = True)
"""

_BZL_LIB = """\
# Shared build definitions, variant {k} (twin of {source}).
load(":common.bzl", "defaults", "with_defaults")
load(":rules.bzl", "{lang}_library", "{lang}_test")

VARIANT = {k}

def library(name, srcs, deps = []):
    {lang}_library(**with_defaults(
        {{"name": name, "srcs": srcs, "deps": deps}},
        {{"variant": VARIANT, "strict": defaults.strict}},
    ))

def test(name, srcs, deps):
    {lang}_test(**with_defaults(
        {{"name": name, "srcs": srcs, "deps": deps}},
        {{"variant": VARIANT, "timeout": "short"}},
    ))
"""

_BAZEL_BUILD = """\
load("//{lib_pkg}:{lib_name}", "library", "test")

# zako has no visibility: every target may depend on every other.
package(default_visibility = ["//visibility:public"])

library(
    name = "lib",
    srcs = glob(["src/**/*.{ext}"], exclude = ["src/**/*.test.{ext}"]),
    deps = [{deps}],
)

test(
    name = "test",
    srcs = glob(["src/**/*.test.{ext}"]),
    deps = [":lib"],
)
"""


def generate_bazel(out: str, packages: int, *, libraries: int = 8, seed: int = 0, sources: bool = True) -> dict:
    """Write the Bazel twin of ``generate(out, packages, libraries=..., seed=...)``.

    Same packages (``package_path``), the same two targets each with the same
    kinds, globs, deps and attributes; library ``k`` becomes
    ``bazel_library_file(k)``. With ``sources=False`` the source files are
    not written: use it when ``out`` is the zako tree itself (a ``BUILD``
    file beside each ``BUILD.ts`` is ignored by zako, and Bazel ignores the
    ``BUILD.ts``). Returns a summary dict (packages, libraries, files).
    Raises ``ValueError`` for bad sizes and ``FileExistsError`` if ``out``
    already holds a ``WORKSPACE``.
    """
    if packages < 1 or libraries < 1:
        raise ValueError(f"need packages >= 1 and libraries >= 1, got {packages}, {libraries}")
    if os.path.exists(os.path.join(out, "WORKSPACE")):
        raise FileExistsError(f"{out!r} already holds a WORKSPACE: generate into an empty directory")
    _write(
        os.path.join(out, "WORKSPACE"),
        f'# Bazel twin of the zako tree "tree-{packages}" (seed {seed}).\nworkspace(name = "com_example_synthetic")\n',
    )
    _write(os.path.join(out, "build_defs", "BUILD"), "# Holds the .bzl twins of the build definitions; no targets.\n")
    _write(os.path.join(out, "build_defs", "toolchain.bzl"), _BZL_TOOLCHAIN.format(seed=seed))
    _write(os.path.join(out, "build_defs", "common.bzl"), _BZL_COMMON)
    _write(os.path.join(out, "build_defs", "rules.bzl"), _BZL_RULES)
    files = 5
    for k in range(libraries):
        lang = "ts" if k % 2 == 0 else "js"
        source = library_file(k).rsplit("/", 1)[1]
        _write(os.path.join(out, bazel_library_file(k)), _BZL_LIB.format(k=k, lang=lang, source=source))
        files += 1
    for i, ext, deps in _plan(packages, seed):
        pdir = os.path.join(out, *package_path(i).split("/"))
        lib_pkg, lib_name = bazel_library_file(i % libraries).rsplit("/", 1)
        build = _BAZEL_BUILD.format(
            lib_pkg=lib_pkg, lib_name=lib_name, ext=ext, deps=", ".join(f'"{d}"' for d in deps)
        )
        _write(os.path.join(pdir, "BUILD"), build)
        files += 1
        if sources:
            files += _write_sources(pdir, i, ext)
    return {"packages": packages, "libraries": libraries, "files": files}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m zako.devtools.gentree",
        description="Generate a synthetic zako project tree for tests and benchmarks.",
    )
    parser.add_argument("--packages", type=int, required=True, help="number of packages (>= 1)")
    parser.add_argument("--libraries", type=int, default=8, help="shared libraries under build_defs/ (default 8)")
    parser.add_argument("--seed", type=int, default=0, help="random seed for the dependency graph (default 0)")
    parser.add_argument(
        "--bazel",
        metavar="DIR",
        help="also write the equivalent Bazel workspace to DIR (may be OUT itself: then the sources are shared)",
    )
    parser.add_argument("out", help="output directory (created; must not hold a zako.toml)")
    args = parser.parse_args(argv)
    shared = args.bazel is not None and os.path.realpath(args.bazel) == os.path.realpath(args.out)
    try:
        # Check the Bazel side first so a refusal there leaves nothing half written.
        if args.bazel is not None and os.path.exists(os.path.join(args.bazel, "WORKSPACE")):
            raise FileExistsError(f"{args.bazel!r} already holds a WORKSPACE: generate into an empty directory")
        summary = generate(args.out, args.packages, libraries=args.libraries, seed=args.seed)
        if args.bazel is not None:
            bazel = generate_bazel(
                args.bazel, args.packages, libraries=args.libraries, seed=args.seed, sources=not shared
            )
    except (ValueError, FileExistsError) as e:
        print(f"gentree: {e}", file=sys.stderr)
        return 2
    print(f"wrote {summary['packages']} packages, {summary['libraries']} libraries, {summary['files']} files to {args.out}")
    if args.bazel is not None:
        print(f"wrote the Bazel workspace, {bazel['files']} files, to {args.bazel}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
