"""Module benchmarks.

- ``Transform``: one 200-line TypeScript module (interfaces, generics,
  classes, enums, annotations) through ``cached_transform``: ``cold`` (a
  fresh cache, so a parse and a walk) and ``cache_hit`` (one blake3 pass).
  Baseline in the same class: ``parse_only``, the bare tree-sitter parse of
  the same text, so the ratio shows what the walk and edits add.
- ``EvaluateBuild``: a BUILD.ts importing three libraries (plus zako:build
  and zako:core), evaluated through ``Engine.execute_module`` with a warm
  transform cache. Baseline: ``Engine.evaluate`` of one plain script doing
  the same work without modules, so the ratio is the cost of the module
  system (graph load, link, registry).
"""

from __future__ import annotations

import os
import shutil
import tempfile

import tree_sitter
import tree_sitter_typescript

from zako.v8 import ContextType, Engine, ModuleLoader
from zako.v8.transpile import MemoryTransformCache, cached_transform


def ts_module(lines: int = 200) -> str:
    """A deterministic TypeScript module of exactly ``lines`` lines."""
    block = [
        "export interface Item{i} {{",
        "  id: number;",
        "  tags?: string[];",
        "}}",
        "export enum Kind{i} {{ A, B = {i}, C }}",
        "export class Box{i}<T extends Item{i}> {{",
        "  private items: T[] = [];",
        "  constructor(public readonly label: string) {{}}",
        "  add(item: T): this {{",
        "    this.items.push(item as T);",
        "    return this;",
        "  }}",
        "  ids(): number[] {{",
        "    return this.items.map((x: T) => x.id)!;",
        "  }}",
        "}}",
        "export function make{i}(n: number): Box<Item{i}> {{",
        "  const b = new Box{i}<Item{i}>(`box{i}`);",
        "  for (let k = 0; k < n; k++) b.add({{ id: k, tags: [] }} satisfies Item{i});",
        "  return b;",
        "}}",
        "type Alias{i} = Record<string, Kind{i}>;",
        "export const table{i}: Alias{i} = {{ a: Kind{i}.A, b: Kind{i}.B }};",
        "",
    ]
    out: list[str] = ['import { info } from "zako:core";']
    i = 0
    while len(out) + len(block) <= lines - 1:
        out.extend(line.format(i=i) for line in block)
        i += 1
    while len(out) < lines - 1:
        out.append("// padding")
    out.append('info("loaded");')
    return "\n".join(out) + "\n"


class Transform:
    params = ["cold", "cache_hit", "parse_only"]
    param_names = ["mode"]

    def setup(self, mode):
        self.source = ts_module(200)
        assert self.source.count("\n") == 200
        self.cache = MemoryTransformCache()
        cached_transform(self.source, filename="m.ts", cache=self.cache)
        self.parser = tree_sitter.Parser(tree_sitter.Language(tree_sitter_typescript.language_typescript()))
        self.encoded = self.source.encode()

    def time_transform(self, mode):
        if mode == "cold":
            cached_transform(self.source, filename="m.ts", cache=MemoryTransformCache())
        elif mode == "cache_hit":
            cached_transform(self.source, filename="m.ts", cache=self.cache)
        else:
            self.parser.parse(self.encoded)


_LIBS = {
    "lib/names.ts": (
        "export const prefix: string = 'app';\n"
        "export function targetName(i: number): string { return `${prefix}_${i}`; }\n"
    ),
    "lib/layout.ts": (
        "export interface Layout { dir: string }\n"
        'export const layouts: Layout[] = [{ dir: "src" }, { dir: "gen" }];\n'
    ),
    "lib/attrs.js": "export const attrs = (i) => ({ opt: i % 2 === 0, copts: ['-O2', `-DN=${i}`] });\n",
}
_BUILD = """\
import { target } from "zako:build";
import { info } from "zako:core";
import { targetName } from "./lib/names";
import { attrs } from "./lib/attrs.js";
import * as names from "./lib/names.ts";
import { layouts } from "./lib/layout";

for (let i = 0; i < 8; i++) {
  target({ name: targetName(i), kind: "ts_library", srcs: [`${layouts[i % 2].dir}/x${i}.ts`],
           deps: i ? [":" + targetName(i - 1)] : [], attrs: attrs(i) });
}
info("declared", names.prefix);
export default { count: 8 };
"""
# The same work as one plain script (the baseline).
_PLAIN = """\
const prefix = 'app';
const targetName = (i) => `${prefix}_${i}`;
const attrs = (i) => ({ opt: i % 2 === 0, copts: ['-O2', `-DN=${i}`] });
const layouts = [{ dir: "src" }, { dir: "gen" }];
const targets = [];
for (let i = 0; i < 8; i++) {
  targets.push({ name: targetName(i), kind: "ts_library", srcs: [`${layouts[i % 2].dir}/x${i}.ts`],
                 deps: i ? [":" + targetName(i - 1)] : [], attrs: attrs(i) });
}
console.info("declared", prefix);
return { value: { default: { count: 8 } }, targets };
"""


class EvaluateBuild:
    params = ["module", "baseline"]
    param_names = ["mode"]

    def setup(self, mode):
        self.dir = tempfile.mkdtemp(prefix="zako-bench-modules-")
        for rel, text in _LIBS.items():
            path = os.path.join(self.dir, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                f.write(text)
        with open(os.path.join(self.dir, "BUILD.ts"), "w") as f:
            f.write(_BUILD)
        self.engine = Engine()
        self.loader = ModuleLoader(self.dir, transform_cache=MemoryTransformCache())
        result = self.engine.execute_module("BUILD.ts", context_type=ContextType.BUILD, loader=self.loader)
        assert result.exception is None and len(result.declarations["targets"]) == 8, result

    def teardown(self, mode):
        shutil.rmtree(self.dir, ignore_errors=True)

    def time_evaluate(self, mode):
        if mode == "module":
            self.engine.execute_module("BUILD.ts", context_type=ContextType.BUILD, loader=self.loader)
        else:
            self.engine.evaluate(_PLAIN, specifier="BUILD.ts")
